"""Deploy the protocol with the markets of a file and write the addresses to deployments/<network>.json.

    brownie run scripts/deploy.py --network development                       # deployments/markets.yaml
    brownie run scripts/deploy.py main path/to/markets.yaml --network anvil

Re-running on a live chain re-uses the vault, router and markets whose code is still there.
"""
from pathlib import Path

from brownie import accounts, network, project, web3

from marginlab.brownie.deploy import deploy, load_markets, read_deployment
from marginlab.errors import ScenarioError


def main(markets_file: str = "deployments/markets.yaml") -> None:
    try:
        markets = load_markets(Path(markets_file))
    except ScenarioError as exc:
        raise SystemExit(str(exc)) from None
    name = network.show_active()
    out = Path("deployments") / f"{name}.json"
    deployed, log = deploy(project.get_loaded_projects()[0], web3, accounts[0], markets, name, read_deployment(out))
    out.write_text(deployed.to_json())
    for line in log:
        print(line)
    print(f"addresses written to {out}")
