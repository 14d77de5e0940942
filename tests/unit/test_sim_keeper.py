"""SimKeeper (the simulator's keeper contract): one round of liquidations, absorptions and settlements in one
transaction, each refusal reported as a `Failed` event; and the purchase of absorbed collateral."""
import pytest

import chainkit
from marginlab.model import vault as pm
from unitkit import open_position

ZERO = "0x" + "00" * 20


@pytest.fixture
def bot(proto, gov):
    keeper = chainkit.build().SimKeeper.deploy(proto.vault, {"from": gov})
    for symbol in proto.markets:
        proto[symbol].token.mint(keeper, proto[symbol].unit(1_000_000), {"from": gov})
    keeper.approveAll([proto[s].token for s in proto.markets], {"from": gov})
    return keeper


@pytest.fixture
def underwater(proto, alice):
    open_position(proto, alice, 0, {"WETH": 10, "USDC": 5_000}, {"WBTC": "0.3"})
    proto.set_price("WETH", 1_500)
    return alice


def test_a_round_absorbs_an_op_that_names_no_tokens_and_reports_a_refusal(proto, vault, bot, gov, underwater, bob):
    vault.setLiquidationPolicy(int(pm.Policy.ABSORB), {"from": gov})
    ops = [(False, underwater, 0, ZERO, ZERO), (False, bob, 0, ZERO, ZERO)]
    tx = bot.run(ops, 0, {"from": gov})
    assert tx.events["Absorbed"]["owner"] == underwater and tx.events["Absorbed"]["absorber"] == bot
    assert [e["index"] for e in tx.events["Failed"]] == [1]  # bob is healthy: AccountHealthy, reported
    assert vault.accountState(underwater, 0)["tokens"] == []


def test_a_round_still_liquidates_by_pair_under_the_other_policies(proto, vault, bot, gov, underwater):
    tx = bot.run([(False, underwater, 0, proto["WBTC"].token, proto["WETH"].token)], 0, {"from": gov})
    assert "Liquidated" in tx.events and "Failed" not in tx.events


def test_the_keeper_buys_absorbed_collateral_into_its_sub_account(proto, vault, bot, gov, underwater):
    vault.setLiquidationPolicy(int(pm.Policy.ABSORB), {"from": gov})
    bot.run([(False, underwater, 0, ZERO, ZERO)], 0, {"from": gov})
    weth, usdc = proto["WETH"].token, proto["USDC"].token
    tx = bot.buyCollateral(weth, usdc, 1_000 * 10**6, 0, 3, {"from": gov})
    paid, bought = tx.return_value
    assert paid == 1_000 * 10**6 and bought > 0
    assert vault.balanceOf(bot, 3, weth) > 0
