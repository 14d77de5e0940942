"""One class per kind of chain (:class:`Ganache`, :class:`Anvil`, :class:`Revm`): everything in which the chains
differ, and starting and stopping a node as a subprocess on a free loopback port (revm runs in this process).

The rest of the chain package speaks standard Ethereum JSON-RPC through web3 and asks its :class:`Backend` for
the rest: the command line and chain id, switching automine off, setting the next block's time, keeping a
block's sending order, reading a mined transaction's revert reason, recognising an unknown opcode. A node's
quirk lives in its class and nowhere else.

Block timestamps are pinned (Ganache: ``--miner.timestampIncrement 0``; Anvil: a 0 s block interval) and the
chain starts at a fixed date, so interest depends only on the scenario's ``advance`` steps and a replay is
reproducible to the byte.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import requests

from marginlab.chain.reverts import trace_final_revert, trace_return_value
from marginlab.chain.rpc import Transport
from marginlab.errors import ChainError

LOOPBACK = "127.0.0.1"
GENESIS_TIME = 1_704_067_200  # 2024-01-01T00:00:00Z
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
PORT_ATTEMPTS = 3
BLOCK_GAS_LIMIT = 30_000_000
# The checkout this package sits in (marginlab/chain/backends.py → three levels up): the last place looked for
# node_modules/.bin, so that `marginlab` run from another directory still finds the nodes `make setup` installed.
REPO_ROOT = Path(__file__).resolve().parents[2]


class Backend(ABC):
    """What the chain facade needs from one kind of chain beyond standard JSON-RPC (calls, estimates, raw
    transactions, receipts, blocks), which it sends through web3 itself.

    One instance per opened chain: it may keep state about that chain (Ganache remembers whom it gave ether).
    Every operation gets the chain's :class:`~marginlab.chain.rpc.Transport`. A node implements them with its
    own JSON-RPC extensions (:class:`NodeBackend`); an in-process EVM (pyrevm) would act on its EVM directly and
    give the transport an in-process provider for the standard calls, and needs no command line or process.
    """

    #: The name users give it (``--chain``, ``ChainOptions.backend``) and messages show.
    name: ClassVar[str]
    #: The chain id it runs with; :data:`LOCAL_CHAIN_IDS` are the ids the simulator sends to without asking.
    chain_id: ClassVar[int]

    @abstractmethod
    def stop_automine(self, rpc: Transport) -> None:
        """From now on transactions wait in the pool until :meth:`mine`, in the order they were sent."""

    @abstractmethod
    def mine(self, rpc: Transport) -> None:
        """Mine one block now with whatever is pending (at the time :meth:`set_next_block_time` set, if any)."""

    @abstractmethod
    def set_next_block_time(self, rpc: Transport, seconds: int, target: int) -> None:
        """The next block is mined ``seconds`` after the latest, at timestamp ``target``, and no later one before."""

    def open_sender(self, rpc: Transport, address: str) -> int:
        """A new sender's nonce, after whatever the chain needs before this sender can keep its place in a block."""
        return int(rpc.call(lambda: rpc.w3.eth.get_transaction_count(address)))  # type: ignore[arg-type]

    def order_price(self, rpc: Transport, address: str, position: int, *, last: bool) -> int:
        """The gas price a transaction sent with automine off bids so that the block keeps the sending order:
        ``position`` among the transactions waiting for the next block; ``last``: nothing is sent after it before
        that block is mined. 0 where the chain keeps the sending order by itself."""
        return 0

    @abstractmethod
    def revert_data(self, rpc: Transport, tx_hash: str) -> bytes | None:
        """The revert data of a mined transaction, as it ran at its own position in its block (``None`` when it
        cannot be read: the transaction did not end in a revert)."""

    @abstractmethod
    def is_invalid_opcode(self, error: str) -> bool:
        """Whether an estimate's error text says the chain's EVM does not know an opcode the code uses."""


@dataclass
class NodeProcess:
    backend: str
    port: int
    process: subprocess.Popen[bytes]
    command: list[str] = field(default_factory=list)
    stderr_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stderr_tail(self, limit: int = 600) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")[-limit:].strip()

    def stop(self) -> None:
        """Terminate, then kill if it does not exit in time; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        if self.stderr_path is not None:
            try:
                self.stderr_path.unlink()
            except OSError:
                pass


class NodeBackend(Backend):
    """A dev node reached over JSON-RPC and started from ``node_modules/.bin``: what Ganache and Anvil share."""

    #: Options of ``debug_traceTransaction`` that keep what :meth:`read_trace` needs and skip the rest.
    trace_options: ClassVar[dict[str, bool]]

    @abstractmethod
    def command(self, port: int) -> list[str]:
        """The command line that starts the node on ``port``."""

    def after_start(self, url: str) -> None:
        """Settings the command line cannot make, sent once the node answers (before anyone else talks to it)."""

    @staticmethod
    def matches(client_version: str) -> bool:
        """Whether ``web3_clientVersion`` (lower case) names this node: how a node given by URL is recognised
        (:func:`detect_backend`; Ganache is what is left)."""
        return False

    def mine(self, rpc: Transport) -> None:
        rpc.raw("evm_mine", [])

    def revert_data(self, rpc: Transport, tx_hash: str) -> bytes | None:
        return self.read_trace(rpc.raw("debug_traceTransaction", [tx_hash, self.trace_options]) or {})

    @abstractmethod
    def read_trace(self, trace: dict[str, Any]) -> bytes | None:
        """The revert data in this node's ``debug_traceTransaction`` answer."""


class Ganache(NodeBackend):
    """Ganache 7 (``ganache`` from npm), run with the istanbul hardfork: the EVM brownie pins for it, and the one
    the contracts are compiled for."""

    name = "ganache"
    chain_id = 1337
    # --mining per-step: Ganache's miner orders pending transactions by gas price alone, ties in no set order, so
    # each submitted transaction bids one wei less than the one before it, starting here. A block holds at most
    # ~1,400 transactions (30M gas / 21k), far fewer than this, so every bid stays positive.
    ORDER_PRICE_TOP = 10**6
    # Ether given to a sender before its first bid: 30M gas x 1e6 wei = 3e13 wei at most per transaction (ether
    # appears nowhere in a timeline).
    ORDER_FUNDS = 10**24
    # Ganache leaves returnValue empty: the revert data is read from the memory of the final REVERT.
    trace_options = {"disableStorage": True}

    def __init__(self) -> None:
        self._bidding = False  # automine off: transactions bid descending gas prices to keep their order
        self._funded: set[str] = set()  # senders given ether for their bids

    def command(self, port: int) -> list[str]:
        return [find_binary("ganache"), "--chain.hardfork", "istanbul", "--wallet.deterministic",
                "--miner.blockGasLimit", str(BLOCK_GAS_LIMIT), "--logging.quiet", "--server.host", LOOPBACK,
                "--server.port", str(port), "--chain.chainId", str(self.chain_id),
                "--miner.timestampIncrement", "0", "--chain.time",
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(GENESIS_TIME)), "--miner.defaultGasPrice", "0"]

    def stop_automine(self, rpc: Transport) -> None:
        rpc.raw("miner_stop", [])
        self._bidding = True

    def set_next_block_time(self, rpc: Transport, seconds: int, target: int) -> None:
        rpc.raw("evm_increaseTime", [seconds])

    def open_sender(self, rpc: Transport, address: str) -> int:
        if not self._bidding:
            return super().open_sender(rpc, address)
        # Ether for its ordering bids now, with the nonce read: Ganache mines an (empty) block to set a balance,
        # which here is set-up time, not in the middle of a step.
        nonce_hex, _ = rpc.batch([("eth_getTransactionCount", [address, "latest"]),
                                  ("evm_setAccountBalance", [address, hex(self.ORDER_FUNDS)])])
        self._funded.add(address)
        return int(nonce_hex, 16)

    def order_price(self, rpc: Transport, address: str, position: int, *, last: bool) -> int:
        # A send that waits for its receipt triggers the block itself, so it is mined last and may bid 0.
        if not self._bidding or last:
            return 0
        if address not in self._funded:
            rpc.raw("evm_setAccountBalance", [address, hex(self.ORDER_FUNDS)])
            self._funded.add(address)
        return self.ORDER_PRICE_TOP - position

    def read_trace(self, trace: dict[str, Any]) -> bytes | None:
        value = trace_return_value(trace)
        return value if value is not None else trace_final_revert(trace)

    def is_invalid_opcode(self, error: str) -> bool:
        # "VM Exception while processing transaction: invalid opcode"
        return "invalid opcode" in error.lower()


class Anvil(NodeBackend):
    """Anvil 1.x (``@foundry-rs/anvil-linux-amd64`` from npm), with a zero base fee so gas-price-0 transactions
    are accepted."""

    name = "anvil"
    chain_id = 31337
    # returnValue holds the revert data; without opcode steps the trace is small.
    trace_options = {"disableStorage": True, "disableStack": True, "disableMemory": True}

    def command(self, port: int) -> list[str]:
        # --order fifo: with automine off (--mining per-step) a block holds the step's transactions in the order
        # they were sent, so no bids are needed.
        return [find_binary("anvil"), "--block-base-fee-per-gas", "0", "--host", LOOPBACK, "--port", str(port),
                "--chain-id", str(self.chain_id), "--timestamp", str(GENESIS_TIME),
                "--gas-limit", str(BLOCK_GAS_LIMIT), "--order", "fifo", "--silent"]

    def after_start(self, url: str) -> None:
        requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_setBlockTimestampInterval",
                                 "params": [0]}, timeout=5)

    @staticmethod
    def matches(client_version: str) -> bool:
        return "anvil" in client_version

    def stop_automine(self, rpc: Transport) -> None:
        rpc.raw("evm_setAutomine", [False])

    def set_next_block_time(self, rpc: Transport, seconds: int, target: int) -> None:
        rpc.raw("evm_setNextBlockTimestamp", [target])

    def read_trace(self, trace: dict[str, Any]) -> bytes | None:
        return trace_return_value(trace)

    def is_invalid_opcode(self, error: str) -> bool:
        # "NotActivated" (an opcode of a later hardfork) or "OpcodeNotFound"
        lowered = error.lower()
        return "notactivated" in lowered or "opcodenotfound" in lowered


class Revm(Backend):
    """An EVM in this process (pyrevm, :mod:`marginlab.chain.revm`): no node, no HTTP. Its provider answers the
    JSON-RPC methods the simulator sends as Anvil answers them (chain id 31337, pinned clock, FIFO pool), so the
    operations below are Anvil's."""

    name = "revm"
    chain_id = 31337

    def provider(self) -> Any:
        """A fresh in-process chain, at genesis, behind a web3 provider."""
        from marginlab.chain.revm import RevmChain
        from marginlab.chain.revm_rpc import RevmProvider

        return RevmProvider(RevmChain(GENESIS_TIME, self.chain_id, BLOCK_GAS_LIMIT))

    def stop_automine(self, rpc: Transport) -> None:
        rpc.raw("evm_setAutomine", [False])

    def mine(self, rpc: Transport) -> None:
        rpc.raw("evm_mine", [])

    def set_next_block_time(self, rpc: Transport, seconds: int, target: int) -> None:
        rpc.raw("evm_setNextBlockTimestamp", [target])

    def revert_data(self, rpc: Transport, tx_hash: str) -> bytes | None:
        return trace_return_value(rpc.raw("debug_traceTransaction", [tx_hash, {}]) or {})

    def is_invalid_opcode(self, error: str) -> bool:
        lowered = error.lower()
        return "notactivated" in lowered or "opcodenotfound" in lowered


NODE_BACKENDS: dict[str, type[NodeBackend]] = {"ganache": Ganache, "anvil": Anvil}
#: Every ``--chain``: the nodes, and revm in process.
BACKENDS: dict[str, type[Backend]] = {**NODE_BACKENDS, "revm": Revm}
CHAIN_NAMES = tuple(BACKENDS)
DEV_CHAIN_IDS = {name: cls.chain_id for name, cls in BACKENDS.items()}
LOCAL_CHAIN_IDS = frozenset(DEV_CHAIN_IDS.values())


def backend_named(name: str) -> Backend:
    """A fresh backend for ``--chain NAME``."""
    if name not in BACKENDS:
        raise ChainError(f"unknown chain backend {name!r}: use {', '.join(CHAIN_NAMES)}")
    return BACKENDS[name]()


def node_backend_named(name: str) -> NodeBackend:
    """A fresh backend for a node process (``revm`` has none)."""
    if name not in NODE_BACKENDS:
        raise ChainError(f"{name!r} is not a node that can be started: use {', '.join(NODE_BACKENDS)}")
    return NODE_BACKENDS[name]()


def detect_backend(client_version: str) -> NodeBackend:
    """The backend of a node given by URL, from its ``web3_clientVersion``; anything not recognised is taken
    for Ganache."""
    lowered = client_version.lower()
    return next((cls() for cls in NODE_BACKENDS.values() if cls.matches(lowered)), Ganache())


def node_command(backend: str, port: int) -> list[str]:
    return node_backend_named(backend).command(port)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def find_binary(name: str) -> str:
    """``$MARGINLAB_NODE_BIN/<name>``, else ``node_modules/.bin/<name>`` here or above, else ``$PATH``."""
    env = os.environ.get("MARGINLAB_NODE_BIN")
    if env:  # an explicit choice is the only place looked at
        path = Path(env) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise ChainError(f"{name} not found in MARGINLAB_NODE_BIN={env}: install it there or unset the variable "
                         f"to use node_modules/.bin (`make setup`)")
    candidates: list[Path] = []
    for base in [Path.cwd(), *Path.cwd().parents, REPO_ROOT]:
        candidates.append(base / "node_modules" / ".bin" / name)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which(name)
    if found:
        return found
    raise ChainError(f"{name} not found (looked in node_modules/.bin and $PATH): run `make setup` "
                     f"(npm ci) in the repository, or set MARGINLAB_NODE_BIN")


def _answers(url: str) -> bool:
    try:
        r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=2)
        return r.ok and "result" in r.json()
    except (requests.RequestException, ValueError):
        return False


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def start_node(backend: str | NodeBackend, port: int | None = None, workdir: Path | None = None) -> NodeProcess:
    """Start a node and wait until it answers JSON-RPC; retries on another port if the port was taken."""
    node_backend = node_backend_named(backend) if isinstance(backend, str) else backend
    name = node_backend.name
    last_error = ""
    for _ in range(PORT_ATTEMPTS if port is None else 1):
        chosen = port if port is not None else free_port()
        if _port_taken(chosen):
            last_error = f"port {chosen} is already in use"
            continue
        cmd = node_backend.command(chosen)
        stderr_path = Path(workdir or Path(os.environ.get("TMPDIR", "/tmp"))) / f".marginlab-{name}-{chosen}.log"
        stderr_file = open(stderr_path, "wb")
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr_file,
                                    start_new_session=True)
        except OSError as exc:
            stderr_file.close()
            raise ChainError(f"cannot start {name} ({cmd[0]}): {exc.strerror or exc}") from None
        stderr_file.close()
        node = NodeProcess(name, chosen, proc, cmd, stderr_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not node.alive():
                break
            if _answers(node.url):
                node_backend.after_start(node.url)
                return node
            time.sleep(0.1)
        tail = node.stderr_tail()
        node.stop()
        if "EADDRINUSE" in tail or "Address already in use" in tail or "address in use" in tail.lower():
            last_error = f"port {chosen} is already in use"
            if port is not None:
                break
            continue
        raise ChainError(f"{name} did not start on {LOOPBACK}:{chosen} within {STARTUP_TIMEOUT_S:.0f} s"
                         + (f": {tail}" if tail else ""))
    raise ChainError(f"could not start {name}: {last_error}")
