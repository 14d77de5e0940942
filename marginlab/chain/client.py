"""The chain facade: a local dev chain seen through web3.py — start or connect, sign and send transactions, read
contracts, move time — made of the parts in this package.

Transactions are signed locally with a deterministic key per actor (:mod:`~marginlab.chain.signers`); gas is
estimated and padded, and learnt per function (:mod:`~marginlab.chain.gas`); the gas price is 0, so actors need
no ether. How transactions are mined depends on the mining mode (:mod:`~marginlab.chain.mining`,
:mod:`~marginlab.chain.automine`); what differs between Ganache and Anvil is in
:mod:`~marginlab.chain.backends`; every request goes through :mod:`~marginlab.chain.rpc`, which turns failures
into :class:`~marginlab.errors.ChainError` or :class:`~marginlab.errors.ChainDied`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, TypeVar

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from marginlab.chain.artifacts import Artifacts, evm_mismatch_message
from marginlab.chain.automine import AutoMining
from marginlab.chain.backends import (
    LOCAL_CHAIN_IDS,
    Backend,
    NodeBackend,
    NodeProcess,
    Revm,
    backend_named,
    detect_backend,
    start_node,
)
from marginlab.chain.calls import Calls
from marginlab.chain.gas import GAS_CAP, GAS_PRICE, GasKey, GasLimits
from marginlab.chain.mining import MINING_MODES, Mining, MiningMode, PendingTx, PerStepMining
from marginlab.chain.reverts import InvalidOpcode, RevertDecoder, TxReverted
from marginlab.chain.rpc import REQUEST_TIMEOUT_S, Progress, Transport, connect, in_process
from marginlab.chain.signers import Signer, Signers
from marginlab.errors import ChainDied, ChainError

# How the engine values sub-accounts: "chain" = the vault's batch view every keeper round (the node executes the
# valuation); "mirror" = the vault's formulas in Python on balances, indexes and prices read in one call, checked
# against the batch view every few steps and at the end (marginlab/protocols/marginlab/mirror.py).
ReadMode = Literal["chain", "mirror"]
T = TypeVar("T")


@dataclass(frozen=True)
class ChainOptions:
    backend: str = "ganache"
    rpc_url: str | None = None
    allow_remote: bool = False
    request_timeout: float = REQUEST_TIMEOUT_S
    port: int | None = None
    mining: MiningMode = "auto"
    reads: ReadMode = "chain"


class Chain:
    """One open chain: the only object the engine, the runner, the benchmark and the tests hold. It composes the
    parts (transport, backend, signers, gas limits, mining mode, reads) and keeps the methods and attributes
    callers had when all of it was this one class."""

    def __init__(self, transport: Transport, driver: Backend, decoder: RevertDecoder, *, node: NodeProcess | None,
                 chain_id: int, block_gas_limit: int, remote: bool, mining: MiningMode = "auto",
                 reads: ReadMode = "chain", request_timeout: float = REQUEST_TIMEOUT_S) -> None:
        self.transport = transport
        self.driver = driver  # the node's quirks
        self.decoder = decoder
        self.w3: Web3 = transport.w3
        self.url = transport.url
        self.node = node  # None: connected by URL
        self.remote = remote  # connected by URL: another process may also be using this chain
        self.mining = mining
        self.reads = reads
        self.request_timeout = request_timeout
        self.block_gas_limit = block_gas_limit
        self._chain_id = chain_id
        gas = GasLimits(transport, driver, decoder)
        self._miner: Mining = (
            PerStepMining(transport, driver, decoder, gas, chain_id=chain_id, remote=remote,
                          block_gas_limit=block_gas_limit) if mining == "per-step"
            else AutoMining(transport, driver, decoder, gas, chain_id=chain_id, remote=remote,
                            request_timeout=request_timeout))
        self._calls = Calls(transport, decoder, self._miner.flush)
        self._signers = Signers(lambda address: driver.open_sender(transport, address))

    # ---- lifecycle
    @classmethod
    def open(cls, options: ChainOptions, decoder: RevertDecoder) -> Chain:
        """Start a node (or connect to ``options.rpc_url``), check it is a local dev chain the simulator may send
        gas-price-0 transactions to, and set its mining mode."""
        node: NodeProcess | None = None
        driver: Backend
        local: Web3 | None = None  # an in-process chain's client
        if options.rpc_url:  # recognised below, once it answers
            url = options.rpc_url
        else:
            driver = backend_named(options.backend)
            if isinstance(driver, Revm):  # in process: a provider, no node and no URL
                url = "revm (in process)"
                local = in_process(driver.provider())
            else:
                assert isinstance(driver, NodeBackend)
                node = start_node(driver, options.port)
                url = node.url
        transport = Transport(local or connect(url, options.request_timeout), url, node, Progress())
        w3 = transport.w3

        def refused(message: str) -> ChainError:
            if node is not None:
                node.stop()
            return ChainError(message)

        try:
            chain_id = transport.call(lambda: w3.eth.chain_id)
        except ChainDied as exc:
            how = "start one with `make chain` or drop --rpc-url to let marginlab start its own" if options.rpc_url \
                else "the node exited right after starting"
            raise refused(f"no node answers at {url}: {how} ({exc})") from None
        if chain_id not in LOCAL_CHAIN_IDS and not options.allow_remote:
            raise refused(f"chain id {chain_id} at {url} is not a local dev chain (1337, 31337); refusing to "
                          f"send transactions. Pass --allow-remote-chain if this really is a throwaway chain")
        latest = transport.call(lambda: w3.eth.get_block("latest"))
        base_fee = latest.get("baseFeePerGas", 0) or 0
        if base_fee:
            raise refused(f"the chain at {url} has a base fee of {base_fee} wei; the simulator sends "
                          f"gas-price-0 transactions: start the node with a zero base fee "
                          f"(anvil --block-base-fee-per-gas 0, ganache --miner.defaultGasPrice 0 "
                          f"--chain.hardfork istanbul)")
        transport.progress.last_block = transport.call(lambda: w3.eth.block_number)
        if options.rpc_url:
            driver = detect_backend(str(transport.call(lambda: w3.client_version)))
        if options.mining not in MINING_MODES:
            raise refused(f"unknown mining mode {options.mining!r}: use one of {', '.join(MINING_MODES)}")
        chain = cls(transport, driver, decoder, node=node, chain_id=int(chain_id),
                    block_gas_limit=int(latest["gasLimit"]), remote=bool(options.rpc_url), mining=options.mining,
                    reads=options.reads, request_timeout=options.request_timeout)
        if options.mining == "per-step":
            driver.stop_automine(transport)
        return chain

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()

    def rpc(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a request through :attr:`w3`) with failures classified: :class:`ChainDied` if the node is
        gone, :class:`ChainError` if it timed out."""
        return self.transport.call(fn)

    # ---- where the chain stands
    @property
    def backend(self) -> str:
        """``ganache``, ``anvil`` or ``revm`` (a node given by URL is recognised by its client version)."""
        return self.driver.name

    @property
    def chain_id(self) -> int:
        """The node's chain id (read once, when the chain is opened)."""
        return self._chain_id

    @property
    def gas_price(self) -> int:
        return GAS_PRICE

    @property
    def step(self) -> int | None:
        """The scenario step being replayed (the engine sets it), named in failure messages."""
        return self.transport.progress.step

    @step.setter
    def step(self, value: int | None) -> None:
        self.transport.progress.step = value

    @property
    def last_block(self) -> int:
        return self.transport.progress.last_block

    @last_block.setter
    def last_block(self, value: int) -> None:
        self.transport.progress.last_block = value

    @property
    def tx_count(self) -> int:
        """Transactions mined by this chain object."""
        return self.transport.progress.tx_count

    @tx_count.setter
    def tx_count(self, value: int) -> None:
        self.transport.progress.tx_count = value

    # ---- signers and contracts
    def signer(self, role: str, name: str) -> Signer:
        return self._signers.get(role, name)

    def contract(self, address: str, abi: list[dict[str, Any]]) -> Contract:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=abi)

    def deploy(self, signer: Signer, artifacts: Artifacts, name: str, *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=artifacts.abi(name), bytecode=artifacts.bytecode(name))
        data = factory.constructor(*args).data_in_transaction
        try:
            receipt = self.send(signer, None, data, label=f"deploy {name}")
        except InvalidOpcode:
            raise ChainError(evm_mismatch_message(artifacts, name, self.backend, self.url)) from None
        except TxReverted as exc:
            raise ChainError(f"deploy {name}: the constructor reverted: {exc.reason}") from None
        address = receipt["contractAddress"]
        if not address:
            raise ChainError(f"deploying {name} produced no contract address")
        code = self.rpc(lambda: self.w3.eth.get_code(address))
        if len(code) == 0:
            raise ChainError(f"deploying {name} left no code at {address}: the node's EVM may not support the "
                             f"compiled opcodes; compile for istanbul (brownie-config.yaml evm_version) or start "
                             f"Ganache with --chain.hardfork istanbul")
        return self.contract(address, artifacts.abi(name))

    # ---- reads
    def call(self, contract: Contract, fn: str, *args: Any) -> Any:
        """``contract.fn(*args)`` through web3 (after mining whatever is pending); a revert is :class:`TxReverted`."""
        return self._calls.call(contract, fn, *args)

    def call_fast(self, contract: Contract, fn: str, *args: Any) -> Any:
        """:meth:`call` with a plain ``eth_call`` and ``eth_abi`` decoding: web3's result normalisers took 0.65 s
        to decode 500 sub-account states that the node returned in 14 ms."""
        return self._calls.call_fast(contract, fn, *args)

    def call_many(self, contract: Contract, fn: str, args_list: list[tuple[Any, ...]]) -> list[Any]:
        """:meth:`call_fast` for several argument tuples in one JSON-RPC batch (one HTTP round trip, all at the
        same block): for reads too big for one ``eth_call``, which a node caps at its block gas limit."""
        return self._calls.call_many(contract, fn, args_list)

    # ---- transactions
    def transact(self, signer: Signer, contract: Contract, fn: str, *args: Any, gas: int | None = None,
                 learn_gas: bool = True) -> dict[str, Any]:
        """Send ``contract.fn(*args)`` with gas learnt per function (see :meth:`send`); ``gas``: this limit,
        no estimate; ``learn_gas=False``: estimate every time (batches whose gas depends on their length)."""
        data = self._calls.encode(contract, fn, args)
        if gas is not None:
            return self._miner.send_fixed(signer, contract.address, data, min(gas, GAS_CAP), fn)
        return self.send(signer, contract.address, data, label=fn,
                         gas_key=(contract.address, fn) if learn_gas else None)

    def submit(self, signer: Signer, contract: Contract, fn: str, *args: Any,
               on_done: Callable[[PendingTx], None] | None = None) -> PendingTx:
        """Send ``contract.fn(*args)`` (gas learnt per function) without waiting where the mining mode allows.

        ``on_done(pending)`` runs once the outcome is known — at once in ``auto`` mining, at the next
        :meth:`flush` in ``per-step`` — with ``pending.receipt`` or ``pending.error`` (a :class:`TxReverted`,
        decoded as :meth:`transact` would) set. Without ``on_done`` a revert raises :class:`TxReverted` from
        wherever the outcome becomes known (this call, or the read or flush that mines it)."""
        data = self._calls.encode(contract, fn, args)
        return self.submit_data(signer, contract.address, data, fn, (contract.address, fn), on_done)

    def submit_data(self, signer: Signer, to: str, data: str, label: str, gas_key: GasKey | None = None,
                    on_done: Callable[[PendingTx], None] | None = None) -> PendingTx:
        """:meth:`submit` for encoded calldata."""
        return self._miner.submit(signer, to, data, label, gas_key, on_done)

    def send(self, signer: Signer, to: str | None, data: str, label: str,
             gas_key: GasKey | None = None) -> dict[str, Any]:
        """Sign, send and wait; raise :class:`TxReverted` with the decoded reason on a revert.

        Gas is the node's estimate + 20 % (at least +80k). With a ``gas_key`` the largest estimate seen for that
        contract function is reused instead of estimating again: Ganache runs a liquidation ~10 times to
        estimate it (0.4 s each, measured), which dominated replay time. A reused limit that turns out too low
        (out of gas) is dropped and the transaction re-estimated and sent again, so a learnt limit can cost a
        retry but never a wrong result.

        In per-step mining the transaction is mined at once, in one block after whatever was submitted before it.
        """
        return self._miner.send(signer, to, data, label, gas_key)

    def flush(self) -> None:
        """Per-step mining: mine everything sent since the last flush (and a pending time change) into one block,
        check it, and resolve every transaction in sending order (``on_done``; the first revert nobody handles
        is raised). No-op in auto mining or with nothing pending."""
        self._miner.flush()

    # ---- time
    def latest_timestamp(self) -> int:
        self.flush()
        return int(self.rpc(lambda: self.w3.eth.get_block("latest"))["timestamp"])

    def advance(self, seconds: int) -> None:
        """Move chain time forward by exactly ``seconds`` and mine a block at the new time (per-step mining: the
        step's next block carries it)."""
        if seconds <= 0:
            return
        target = self.latest_timestamp() + seconds
        self.driver.set_next_block_time(self.transport, seconds, target)
        self._miner.time_set(target, seconds)
