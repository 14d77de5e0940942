"""``make chain``: a local node that stays up, for ``make deploy``, ``marginlab replay --rpc-url`` and cast.

    python -m marginlab.node [--chain ganache|anvil] [--port 8545]

The node runs in the foreground with its own output (accounts, requests) until Ctrl-C; its state is lost when it
stops. It runs the settings the simulator needs from a node it connects to: the local dev chain id, a zero base
fee (gas-price-0 transactions), a 30M block gas limit, Ganache on a hardfork without a base fee (berlin, below).

Its clock stands still, as on the nodes a replay starts for itself: it starts at the time the node started and
moves only when someone moves it (``cast rpc evm_increaseTime SECONDS`` then ``cast rpc evm_mine``, or a replay's
``advance:`` steps). So interest accrues and feeds go stale only when time is moved on purpose, a gas estimate
stays right when its transaction is mined (a ticking clock can make the first accrual of a later block write
storage the estimate never touched, and the transaction run out of gas), and the same calls give the same state.
"""
from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from types import FrameType
from typing import Sequence

from marginlab.errors import ChainError, one_line

# The same as marginlab.chain.backends' (imported lazily there: this module is imported by the CLI at start).
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8545
DEFAULT_RPC_URL = f"http://{LOOPBACK}:{DEFAULT_PORT}"
BLOCK_GAS_LIMIT = 30_000_000
# Berlin, not the istanbul the simulator's own Ganache nodes run: the last hardfork without a base fee (the
# simulator sends gas-price-0 transactions), and the first whose receipts say their transaction type, without which
# cast cannot read a receipt. The contracts are compiled for istanbul and run unchanged on it.
GANACHE_HARDFORK = "berlin"
PROBE_TIMEOUT_S = 2.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
#: How to start a node, for messages that find none.
START_HINT = "start one with `make chain` (Ganache; `make chain CHAIN=anvil` for Anvil) in another terminal"


def command(backend: str, port: int, start_time: int) -> list[str]:
    """The command line of a node that stays up on ``port`` (loopback only), its clock at ``start_time``."""
    from marginlab.chain.backends import DEV_CHAIN_IDS, find_binary

    if backend == "ganache":
        return [find_binary("ganache"), "--chain.hardfork", GANACHE_HARDFORK, "--wallet.deterministic",
                "--miner.blockGasLimit", str(BLOCK_GAS_LIMIT), "--miner.defaultGasPrice", "0",
                "--chain.chainId", str(DEV_CHAIN_IDS["ganache"]), "--server.host", LOOPBACK,
                "--server.port", str(port), "--miner.timestampIncrement", "0",
                "--chain.time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_time))]
    if backend == "anvil":
        return [find_binary("anvil"), "--host", LOOPBACK, "--port", str(port),
                "--chain-id", str(DEV_CHAIN_IDS["anvil"]), "--block-base-fee-per-gas", "0",
                "--gas-limit", str(BLOCK_GAS_LIMIT), "--order", "fifo", "--timestamp", str(start_time)]
    raise ChainError(f"unknown chain {backend!r}: use ganache or anvil")


def rpc(url: str, method: str, params: list[object], timeout: float = PROBE_TIMEOUT_S) -> object:
    """One JSON-RPC request's result; None when nothing (or an error) answers."""
    import requests

    try:
        r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=timeout)
        return r.json().get("result") if r.ok else None
    except (requests.RequestException, ValueError, AttributeError):
        return None


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> int | None:
    """The chain id of the node answering JSON-RPC at ``url``, or None when nothing answers."""
    answer = rpc(url, "eth_chainId", [], timeout)
    try:
        return int(str(answer), 16) if answer is not None else None
    except ValueError:
        return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def launch(backend: str, port: int) -> subprocess.Popen[bytes]:
    """Start the node with this process's output (see :func:`ready`)."""
    url = f"http://{LOOPBACK}:{port}"
    if port_in_use(port):
        running = probe(url)
        what = f"a node (chain id {running}) already answers there" if running is not None else \
            "something else listens there"
        raise ChainError(f"port {port} is in use: {what}; use it (`make deploy RPC_URL={url}`) or start another "
                         f"with `make chain PORT={port + 1}`")
    cmd = command(backend, port, int(time.time()))
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise ChainError(f"cannot start {backend} ({cmd[0]}): {exc.strerror or exc}") from None


def ready(proc: subprocess.Popen[bytes], backend: str, port: int) -> None:
    """Wait until the node answers, then stop its clock."""
    url = f"http://{LOOPBACK}:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while probe(url) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise ChainError(f"{backend} did not answer on {url} within {START_TIMEOUT_S:.0f} s (its output is above)")
        time.sleep(0.1)
    if backend == "anvil":  # Ganache's clock is stopped by --miner.timestampIncrement 0
        rpc(url, "anvil_setBlockTimestampInterval", [0])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m marginlab.node", description="A local node that stays up.")
    p.add_argument("--chain", choices=("ganache", "anvil"), default="ganache")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = p.parse_args(argv)
    url = f"http://{LOOPBACK}:{args.port}"
    node: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        # Pass it on to the node (while it starts, too), and wait for it in the main thread: waiting here would wait
        # on the wait the main thread is in (Popen's lock).
        if node and node[0].returncode is None:
            node[0].send_signal(signum)
        elif not node:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, forward)
    try:
        node.append(launch(args.chain, args.port))
        ready(node[0], args.chain, args.port)
        print(f"chain: {args.chain} on {url} (chain id {probe(url)}; its clock moves only when told: cast rpc "
              f"evm_increaseTime SECONDS). In another terminal: `make deploy` (RPC_URL={url}), then "
              f"docs/cast-and-web3.md. Ctrl-C stops it; its state is lost.", file=sys.stderr, flush=True)
        code = node[0].wait()
    except ChainError as exc:
        print(one_line(f"error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C (it reached the node too: same process group), or SIGTERM while starting
        if node:
            stop(node[0])
        return 130
    return 128 - code if code < 0 else code  # stopped by a signal: 128 + its number, as a shell says


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
