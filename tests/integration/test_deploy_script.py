"""scripts/deploy.py's logic: deploy from a markets file, then re-use what is already on the chain."""
from pathlib import Path

import pytest
from brownie import project, web3

from marginlab.brownie.deploy import deploy, load_markets
from marginlab.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_lists_every_market_of_the_file_with_its_risk_parameters(gov):
    markets = load_markets(ROOT / "deployments" / "markets.yaml")
    p = project.get_loaded_projects()[0]
    d, log = deploy(p, web3, gov, markets, "development", None)
    vault = p.Vault.at(d.vault)
    assert [a.lower() for a in vault.markets()] == [d.tokens[m.symbol].lower() for m in markets]
    weth = vault.marketParams(d.tokens["WETH"])
    assert weth["assetWeightInit"] == 8 * 10**17 and weth["liquidationBonus"] == 5 * 10**16
    assert p.OracleRouter.at(d.router).price(d.tokens["WBTC"]) == 60000 * 10**18
    assert log[0].startswith("deployed")


def test_second_deploy_on_the_same_chain_reuses_vault_router_and_markets(gov):
    markets = load_markets(ROOT / "deployments" / "markets.yaml")
    p = project.get_loaded_projects()[0]
    first, _ = deploy(p, web3, gov, markets, "development", None)
    second, log = deploy(p, web3, gov, markets, "development", first)
    assert second.vault == first.vault and second.tokens == first.tokens
    assert all(line.startswith("re-using") for line in log)


def test_markets_file_with_a_bad_weight_is_refused_with_file_field_and_reason(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("markets:\n  - {symbol: X, decimals: 18, price: 1, asset_weight: {init: 0.9, maint: 1.2},\n"
                   "     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}\n")
    with pytest.raises(ScenarioError) as err:
        load_markets(bad)
    assert str(err.value).startswith(f"{bad}:2: markets[0].asset_weight")


def test_a_market_with_a_token_kind_is_deployed_as_that_hostile_token(gov, tmp_path):
    """A markets file means what a scenario means: `token: {kind: ...}` must never become a plain SimToken."""
    path = tmp_path / "m.yaml"
    path.write_text("markets:\n  - {symbol: FEE, decimals: 18, price: 1, asset_weight: {init: 0.8, maint: 0.85},\n"
                    "     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05,\n"
                    "     token: {kind: fee-on-transfer, fee_bps: 25}}\n")
    p = project.get_loaded_projects()[0]
    d, _ = deploy(p, web3, gov, load_markets(path), "development", None)
    token = p.FeeOnTransferToken.at(d.tokens["FEE"])
    assert token.feeBps() == 25 and token.deployer() == gov
    assert [a.lower() for a in p.Vault.at(d.vault).markets()] == [d.tokens["FEE"].lower()]
