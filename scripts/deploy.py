"""Deploy the protocol on the chain brownie is connected to and write its address book to
deployments/<network>.json.

    brownie run scripts/deploy.py --network NAME                      # deployments/markets.yaml
    brownie run scripts/deploy.py main path/to/markets.yaml --network NAME

A thin entry point: the work is `marginlab deploy --rpc-url URL` (marginlab/deploy.py), pointed at brownie's web3
endpoint. On a network brownie starts itself (development, anvil) the node, and everything deployed on it, is
gone when the script ends; for a node that stays up use `make chain` and `make deploy`. Exit codes as for the
marginlab command.
"""
from __future__ import annotations

from brownie import network, web3

from marginlab.cli import main as marginlab_main


def main(markets_file: str = "deployments/markets.yaml") -> None:
    url = web3.provider.endpoint_uri
    code = marginlab_main(["deploy", "--rpc-url", url, "--markets", markets_file,
                           "--out", f"deployments/{network.show_active()}.json"])
    if code != 0:
        raise SystemExit(code)
