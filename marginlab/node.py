"""``make chain``: a local node that stays up, for ``make deploy``, ``marginlab replay --rpc-url`` and cast.

    python -m marginlab.node [--chain ganache|anvil] [--port 8545]

The node runs in the foreground with its own output (accounts, requests) until Ctrl-C; its state is lost when it
stops. It runs the settings the simulator needs from a node it connects to — the local dev chain id, a zero base
fee (gas-price-0 transactions), a 30M block gas limit, Ganache on the istanbul hardfork the contracts are
compiled for — but, unlike the nodes a replay starts for itself, its clock follows the wall clock: a node that
stays up for hours behaves like a chain, and price feeds go stale when nobody writes them.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Sequence

from marginlab.errors import ChainError, one_line

# The same as marginlab.chain.backends' (imported lazily there: this module is imported by the CLI at start).
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8545
DEFAULT_RPC_URL = f"http://{LOOPBACK}:{DEFAULT_PORT}"
BLOCK_GAS_LIMIT = 30_000_000
PROBE_TIMEOUT_S = 2.0
#: How to start a node, for messages that find none.
START_HINT = "start one with `make chain` (Ganache; `make chain CHAIN=anvil` for Anvil) in another terminal"


def command(backend: str, port: int) -> list[str]:
    """The command line of a node that stays up on ``port`` (loopback only)."""
    from marginlab.chain.backends import DEV_CHAIN_IDS, find_binary

    if backend == "ganache":
        return [find_binary("ganache"), "--chain.hardfork", "istanbul", "--wallet.deterministic",
                "--miner.blockGasLimit", str(BLOCK_GAS_LIMIT), "--miner.defaultGasPrice", "0",
                "--chain.chainId", str(DEV_CHAIN_IDS["ganache"]), "--server.host", LOOPBACK,
                "--server.port", str(port)]
    if backend == "anvil":
        return [find_binary("anvil"), "--host", LOOPBACK, "--port", str(port),
                "--chain-id", str(DEV_CHAIN_IDS["anvil"]), "--block-base-fee-per-gas", "0",
                "--gas-limit", str(BLOCK_GAS_LIMIT), "--order", "fifo"]
    raise ChainError(f"unknown chain {backend!r}: use ganache or anvil")


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> int | None:
    """The chain id of the node answering JSON-RPC at ``url``, or None when nothing answers."""
    import requests

    try:
        r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                          timeout=timeout)
        return int(r.json()["result"], 16) if r.ok else None
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m marginlab.node", description="A local node that stays up.")
    p.add_argument("--chain", choices=("ganache", "anvil"), default="ganache")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = p.parse_args(argv)
    url = f"http://{LOOPBACK}:{args.port}"
    try:
        if port_in_use(args.port):
            running = probe(url)
            what = f"a node (chain id {running}) already answers there" if running is not None else \
                "something else listens there"
            raise ChainError(f"port {args.port} is in use: {what}; use it (`make deploy RPC_URL={url}`) or "
                             f"start another with `make chain PORT={args.port + 1}`")
        cmd = command(args.chain, args.port)
    except ChainError as exc:
        print(one_line(f"error: {exc}"), file=sys.stderr)
        return exc.exit_code
    from marginlab.chain.backends import DEV_CHAIN_IDS

    print(f"chain: {args.chain} on {url} (chain id {DEV_CHAIN_IDS[args.chain]}); in another terminal: "
          f"`make deploy` (RPC_URL={url}), then docs/cast-and-web3.md. Ctrl-C stops it; its state is lost.",
          file=sys.stderr, flush=True)
    os.execv(cmd[0], cmd)  # the node takes over this process: Ctrl-C and `kill` reach it directly


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
