"""The Absorb policy (Compound-III-like): `absorb` takes over an unhealthy sub-account whole -- every deposit moves
to the protocol's sub-account (vault, 0), every debt is written off (that market's reserves first, then
socialised) -- and `buyCollateral` sells the absorbed collateral at a store-front discount. Amounts are the
model's (marginlab/model/vault.py: MarketBooks.move_deposit / write_off, quote_buy_collateral)."""
import brownie
import pytest

import chainkit
from marginlab.model import vault as pm
from unitkit import MAX, WAD, err, market_books, model_health, model_pair, model_params, open_position

ABSORB = int(pm.Policy.ABSORB)
PROTOCOL_SUB = 0


@pytest.fixture
def absorbing(vault, gov):
    vault.setLiquidationPolicy(ABSORB, {"from": gov})
    return vault


@pytest.fixture
def cross_account(proto, alice):
    """10 WETH + 5,000 USDC against 0.3 WBTC, WETH then at $1,500: unhealthy (HF 0.93) but solvent ($20,000 of
    collateral against $18,000 of debt)."""
    open_position(proto, alice, 0, {"WETH": 10, "USDC": 5_000}, {"WBTC": "0.3"})
    proto.set_price("WETH", 1_500)
    h = model_health(proto, alice)
    assert h.health_maint < 0 < h.collateral_value - h.debt_value  # unhealthy but solvent
    return alice


def books_of(proto, symbol, owners):
    """The model's books of one market, from the chain: indexes, totals, reserves and the given balances."""
    b = market_books(proto, symbol)
    mb = pm.MarketBooks(proto[symbol].decimals, model_params(proto, symbol), pm.RateModel(0, 0, 0, WAD))
    mb.deposit_index, mb.borrow_index = b["depositIndex"], b["borrowIndex"]
    mb.total_deposit_scale, mb.total_borrow_scale, mb.reserves = b["totalDepositScale"], b["totalBorrowScale"], b["reserves"]
    for who, sub in owners:
        mb.balances[(str(who), sub)] = int(proto.vault.scaledBalanceOf(who, sub, proto[symbol].token))
    return mb


def test_absorb_moves_every_deposit_to_the_protocol_and_writes_off_every_debt(proto, absorbing, cross_account, rando):
    v = absorbing
    who = (str(cross_account), 0)
    me = (str(v.address), PROTOCOL_SUB)
    model = {s: books_of(proto, s, [(cross_account, 0), (v.address, PROTOCOL_SUB)]) for s in proto.markets}
    h = model_health(proto, cross_account)
    tx = v.absorb(cross_account, 0, {"from": rando})

    assert tx.return_value == (h.collateral_value, h.debt_value)
    ev = tx.events["Absorbed"]
    assert dict(ev) == {"absorber": rando, "owner": cross_account, "subId": 0, "collateralValue": h.collateral_value,
                        "debtValue": h.debt_value, "healthFactorBefore": h.health_factor}
    absorbed = {str(e["token"]): e["amount"] for e in tx.events["CollateralAbsorbed"]}
    for sym in ("WETH", "USDC"):
        assert absorbed[str(proto[sym].token)] == model[sym].move_deposit(who, me)
        assert v.scaledBalanceOf(v.address, PROTOCOL_SUB, proto[sym].token) == model[sym].balances[me]
        assert market_books(proto, sym)["totalDepositScale"] == model[sym].total_deposit_scale  # unchanged
    written = model["WBTC"].write_off(who)
    bad = tx.events["BadDebtSettled"]
    assert (bad["token"], bad["debt"], bad["coveredByReserves"], bad["socialised"], bad["newDepositIndex"]) == (
        proto["WBTC"].token, written.debt, written.covered, written.socialised, written.new_deposit_index)
    assert market_books(proto, "WBTC")["reserves"] == model["WBTC"].reserves
    assert v.accountState(cross_account, 0)["tokens"] == []  # the account is empty: health only rose (I9)
    assert v.accountState(v.address, PROTOCOL_SUB)["debtValue"] == 0


def test_absorb_socialises_what_the_reserves_cannot_cover(proto, absorbing, cross_account, rando, gov):
    wbtc = proto["WBTC"].token
    v = absorbing
    reserves = market_books(proto, "WBTC")["reserves"]
    v.withdrawReserves(wbtc, reserves // 2, gov, {"from": gov})
    model = books_of(proto, "WBTC", [(cross_account, 0)])
    tx = v.absorb(cross_account, 0, {"from": rando})
    written = model.write_off((str(cross_account), 0))
    assert written.socialised > 0 and written.covered == reserves - reserves // 2
    assert tx.events["BadDebtSettled"]["socialised"] == written.socialised
    assert market_books(proto, "WBTC")["depositIndex"] == written.new_deposit_index


def test_absorb_reverts_for_a_healthy_account(proto, absorbing, alice, rando):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    with brownie.reverts(revert_pattern=err("AccountHealthy")):
        absorbing.absorb(alice, 0, {"from": rando})
    with brownie.reverts(revert_pattern=err("AccountHealthy")):
        absorbing.absorb(absorbing.address, PROTOCOL_SUB, {"from": rando})  # the protocol never owes


def test_absorb_reverts_while_liquidations_are_paused(absorbing, cross_account, guardian, rando):
    absorbing.setPaused(False, False, True, {"from": guardian})
    with brownie.reverts(revert_pattern=err("LiquidationPaused")):
        absorbing.absorb(cross_account, 0, {"from": rando})


def test_the_owner_may_absorb_its_own_account_and_gains_nothing(proto, absorbing, cross_account):
    before = {s: proto[s].token.balanceOf(cross_account) for s in proto.markets}
    absorbing.absorb(cross_account, 0, {"from": cross_account})
    assert {s: proto[s].token.balanceOf(cross_account) for s in proto.markets} == before


# ------------------------------------------------------------------ buyCollateral
@pytest.fixture
def absorbed(proto, absorbing, cross_account, rando):
    absorbing.absorb(cross_account, 0, {"from": rando})
    return absorbing


def quote_buy(proto, coll, pay, amount):
    v = proto.vault
    held = int(v.balanceOf(v.address, PROTOCOL_SUB, proto[coll].token))
    incentive = pm.store_front_incentive_down(pm.LiquidationParams.from_chain(v.liquidationParams()).store_front_factor,
                                              model_params(proto, coll).liquidation_bonus)
    return pm.quote_buy_collateral(amount, held, model_pair(proto, pay, coll, incentive)), incentive, held


def test_buy_collateral_sells_absorbed_collateral_at_the_store_front_discount(proto, absorbed, liquidator):
    v, weth, usdc = absorbed, proto["WETH"].token, proto["USDC"].token
    q, incentive, held = quote_buy(proto, "WETH", "USDC", 2_000 * 10**6)
    assert incentive == 25 * WAD // 1000  # half of WETH's 5 % bonus
    paid_before = usdc.balanceOf(liquidator)
    reserves = market_books(proto, "USDC")["reserves"]
    books = books_of(proto, "WETH", [(v.address, PROTOCOL_SUB), (liquidator, 2)])
    tx = v.buyCollateral(weth, usdc, 2_000 * 10**6, q.bought, 2, {"from": liquidator})
    assert tx.return_value == (q.paid, q.bought) and q.paid == 2_000 * 10**6 and 0 < q.bought < held
    assert dict(tx.events["CollateralBought"]) == {"buyer": liquidator, "buyerSubId": 2, "collToken": weth,
                                                   "payToken": usdc, "paid": q.paid, "bought": q.bought,
                                                   "incentive": incentive}
    assert usdc.balanceOf(liquidator) == paid_before - q.paid
    assert market_books(proto, "USDC")["reserves"] == reserves + q.paid
    books.debit((str(v.address), PROTOCOL_SUB), q.bought)
    books.credit((str(liquidator), 2), q.bought)
    assert v.scaledBalanceOf(v.address, PROTOCOL_SUB, weth) == books.balances[(str(v.address), PROTOCOL_SUB)]
    assert v.scaledBalanceOf(liquidator, 2, weth) == books.balances[(str(liquidator), 2)]


def test_buy_collateral_pays_only_for_what_is_left(proto, absorbed, liquidator):
    v, weth, wbtc = absorbed, proto["WETH"].token, proto["WBTC"].token
    q, _, held = quote_buy(proto, "WETH", "WBTC", 10**8)  # 1 WBTC buys far more than 10 WETH
    tx = v.buyCollateral(weth, wbtc, 10**8, 0, 0, {"from": liquidator})
    assert tx.return_value == (q.paid, q.bought) and q.bought == held and q.paid < 10**8
    assert v.balanceOf(v.address, PROTOCOL_SUB, weth) == 0
    with brownie.reverts(revert_pattern=err("NoCollateral")):
        v.buyCollateral(weth, wbtc, 10**8, 0, 0, {"from": liquidator})


def test_buy_collateral_works_under_any_policy(proto, absorbed, liquidator, gov):
    absorbed.setLiquidationPolicy(int(pm.Policy.CLOSE_FACTOR), {"from": gov})
    absorbed.buyCollateral(proto["USDC"].token, proto["WETH"].token, 10**17, 0, 0, {"from": liquidator})


def test_buy_collateral_reverts_on_its_own_checks(proto, absorbed, liquidator, guardian):
    v, weth, usdc, wbtc = absorbed, proto["WETH"].token, proto["USDC"].token, proto["WBTC"].token
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        v.buyCollateral(weth, usdc, 0, 0, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("PayTokenIsCollateral")):
        v.buyCollateral(weth, weth, 10**18, 0, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("NoCollateral")):
        v.buyCollateral(wbtc, usdc, 10**6, 0, 0, {"from": liquidator})  # WBTC was owed, not held
    with brownie.reverts(revert_pattern=err("NothingToLiquidate")):
        v.buyCollateral(usdc, weth, 1, 0, 0, {"from": liquidator})  # 1 wei of WETH buys no USDC unit
    q, _, _ = quote_buy(proto, "WETH", "USDC", 2_000 * 10**6)
    with brownie.reverts(revert_pattern=err("BoughtBelowMinimum")):
        v.buyCollateral(weth, usdc, 2_000 * 10**6, q.bought + 1, 0, {"from": liquidator})
    v.setPaused(False, False, True, {"from": guardian})
    with brownie.reverts(revert_pattern=err("LiquidationPaused")):
        v.buyCollateral(weth, usdc, 2_000 * 10**6, 0, 0, {"from": liquidator})


def test_buy_collateral_reverts_for_an_unlisted_token(gov, absorbed, proto, liquidator):
    stray = chainkit.sim_token(gov, "X", 18)
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        absorbed.buyCollateral(proto["WETH"].token, stray, 10**18, 0, 0, {"from": liquidator})
