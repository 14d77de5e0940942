"""Liquidation with a fee-on-transfer debt token (1 %): the liquidator is paid for what arrived, and the collateral
the fee did not pay for stays with the owner -- unless the quote took the whole deposit and the owner is left owing
with nothing else to seize, where it goes to reserves so that the bad debt settles in the same call.

Issue 15: with a capped quote an owner who stays solvent lost ~1 % of the seized collateral to reserves beyond the
bonus. Amounts are the model's (pm.quote_liquidation, pm.received_adjustment)."""
import brownie
import pytest

import chainkit
from marginlab.model import vault as pm
from unitkit import MAX, err, market_books, model_liquidation, model_pair, model_params, open_position

FEE_BPS = 100


@pytest.fixture
def fee(proto, gov, alice, lp, liquidator):
    """A 1 % fee-on-transfer market FEE (18 decimals, $1), lent by lp."""
    token = chainkit.build().FeeOnTransferToken.deploy("Fee", "FEE", 18, FEE_BPS, {"from": gov})
    proto.add_market("FEE", token, 1, feed_decimals=8)
    for who in (alice, lp, liquidator):
        proto.fund("FEE", who, 10**9 * 10**18)
    proto.vault.deposit(lp, 0, token, 10**6 * 10**18, {"from": lp})
    yield token
    del proto.markets["FEE"]  # the chain forgets FEE after the test (fn_isolation); the module's protocol must too


def liquidate_fee_debt(proto, fee, liquidator, owner, coll):
    v = proto.vault
    c = proto[coll].token
    q = model_liquidation(proto, owner, 0, "FEE", coll, MAX)
    held = int(v.balanceOf(owner, 0, c))
    reserves = market_books(proto, coll)["reserves"]
    tx = v.liquidate(owner, 0, fee, c, MAX, 0, {"from": liquidator})
    return tx, q, held, reserves


def test_fee_on_transfer_debt_leaves_the_unpaid_collateral_with_a_solvent_owner(proto, vault, fee, alice, liquidator):
    # 1 WETH + 20,000 USDC against 19,000 FEE; FEE rises to $1.10 (HF 0.990). The half of the debt would take more
    # than the 1 WETH, so the quote takes all of it; 1 % of the repay does not arrive, so the liquidator is paid for
    # 99 % of it and the other ~0.01 WETH stays with alice, who still has 20,000 USDC against her debt.
    open_position(proto, alice, 0, {"WETH": 1, "USDC": 20_000}, {"FEE": 19_000})
    proto.set_price("FEE", "1.10")
    weth = proto["WETH"].token
    tx, q, held, reserves = liquidate_fee_debt(proto, fee, liquidator, alice, "WETH")
    assert q.seized == held  # the capped quote
    pair = model_pair(proto, "FEE", "WETH")
    adjusted = pm.received_adjustment(q, fee.received(q.repaid), held, pair, model_params(proto, "WETH").protocol_share,
                                      left_owing_with_nothing_else=False)
    ev = tx.events["Liquidated"]
    assert (ev["repaid"], ev["seizedTotal"], ev["toLiquidator"], ev["protocolCut"]) == (
        adjusted.repaid, adjusted.seized, adjusted.to_liquidator, adjusted.protocol_cut)
    assert adjusted.seized < held
    assert market_books(proto, "WETH")["reserves"] == reserves + adjusted.protocol_cut  # the bonus share, no more
    kept = vault.balanceOf(alice, 0, weth)
    # the rest is hers: the debit's scale rounds up by at most a unit (by none on Ganache, by one on Anvil)
    assert 0 <= held - adjusted.seized - kept <= 1
    assert "BadDebtSettled" not in tx.events


def test_fee_on_transfer_debt_of_an_owner_left_with_nothing_else_settles_as_bad_debt(proto, vault, fee, alice, liquidator):
    # 1 WETH against 1,500 FEE at WETH $1,000: insolvent. The quote takes the whole deposit; the part the fee did
    # not pay for goes to reserves, and the remaining debt is settled in the same call.
    open_position(proto, alice, 0, {"WETH": 1}, {"FEE": 1_500})
    proto.set_price("WETH", 1000)
    tx, q, held, reserves = liquidate_fee_debt(proto, fee, liquidator, alice, "WETH")
    pair = model_pair(proto, "FEE", "WETH")
    adjusted = pm.received_adjustment(q, fee.received(q.repaid), held, pair, model_params(proto, "WETH").protocol_share,
                                      left_owing_with_nothing_else=True)
    ev = tx.events["Liquidated"]
    assert (ev["repaid"], ev["seizedTotal"], ev["toLiquidator"], ev["protocolCut"]) == (
        adjusted.repaid, held, adjusted.to_liquidator, adjusted.protocol_cut)
    assert market_books(proto, "WETH")["reserves"] == reserves + adjusted.protocol_cut
    assert "BadDebtSettled" in tx.events and vault.accountState(alice, 0)["tokens"] == []


def test_liquidate_reverts_when_the_repay_would_burn_no_debt_scale(proto, vault, alice, liquidator):
    # One unit of USDC is less than one unit of debt scale: it would buy collateral and repay nothing.
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)
    usdc, weth = proto["USDC"].token, proto["WETH"].token
    assert pm.to_scale_down(1, market_books(proto, "USDC")["borrowIndex"]) == 0
    assert model_liquidation(proto, alice, 0, "USDC", "WETH", 1).seized > 0
    with brownie.reverts(revert_pattern=err("NothingToLiquidate")):
        vault.liquidate(alice, 0, usdc, weth, 1, 0, {"from": liquidator})
