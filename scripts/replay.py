"""Replay a scenario on the chain brownie is connected to.

    brownie run scripts/replay.py main scenarios/hedged-book.yaml
    brownie run scripts/replay.py main scenarios/hedged-book.yaml out/hedged-book compare

A thin entry point: the work is marginlab's replay engine (the same as `marginlab replay FILE --rpc-url URL`),
pointed at brownie's web3 endpoint. A fresh protocol is deployed on that chain; brownie's own deployments are
left alone. Exit codes as for the marginlab command.
"""
from __future__ import annotations

from brownie import web3

from marginlab.cli import main as marginlab_main


def main(file: str, out: str | None = None, compare: str = "false") -> None:
    url = web3.provider.endpoint_uri
    args = ["replay", file, "--rpc-url", url]
    if out:
        args += ["--out", out]
    if compare.lower() in ("1", "true", "yes", "compare"):
        args.append("--compare")
    code = marginlab_main(args)
    if code != 0:
        raise SystemExit(code)
