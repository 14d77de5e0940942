"""Vault.liquidate: close factor, dust, cap by collateral, bonus split, bad debt in the same call, reverts.

Amounts are asserted to the wei against marginlab/model/vault.py (see `liquidate_as_model_says`).
"""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import (
    MAX,
    revert_args,
    WAD,
    err,
    liquidate_as_model_says,
    market_books,
    model_health,
    open_position,
    set_params,
)


@pytest.fixture
def mildly_unhealthy(proto, alice):
    """10 WETH against 15000 USDC, WETH at $1700: healthFactor ≈ 0.963, between 0.95 and 1."""
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)
    h = model_health(proto, alice)
    assert h.health_maint < 0 and pm.FULL_CLOSE_HEALTH_FACTOR <= h.health_factor < WAD
    return alice


def test_liquidate_repays_at_most_half_the_debt_while_health_factor_is_above_095(proto, vault, usdc, mildly_unhealthy, liquidator):
    debt = -vault.balanceOf(mildly_unhealthy, 0, usdc)
    tx, q = liquidate_as_model_says(proto, liquidator, mildly_unhealthy, 0, "USDC", "WETH", MAX)
    assert q.repaid == debt // 2
    assert tx.events["Liquidated"]["healthFactorAfter"] > tx.events["Liquidated"]["healthFactorBefore"]  # I9


def test_liquidate_takes_the_requested_amount_when_it_is_below_the_close_factor(proto, mildly_unhealthy, liquidator):
    _, q = liquidate_as_model_says(proto, liquidator, mildly_unhealthy, 0, "USDC", "WETH", 1_000 * 10**6)
    assert q.repaid == 1_000 * 10**6


def test_liquidate_seizes_repaid_value_plus_bonus_and_splits_the_bonus(proto, vault, weth, mildly_unhealthy, liquidator):
    tx, q = liquidate_as_model_says(proto, liquidator, mildly_unhealthy, 0, "USDC", "WETH", 7_000 * 10**6)
    # 7000 $ × 1.05 / 1700 $ per WETH, rounded down; the protocol takes 10 % of the 5 % bonus part.
    assert q.seized == 7_000 * 10**18 * 105 // 100 // 1700
    bonus_part = q.seized - q.seized * 100 // 105
    assert q.protocol_cut == -(-bonus_part * 10 // 100)
    assert q.to_liquidator + q.protocol_cut == q.seized
    # I10: seized value ≤ repaid value × (1 + bonus)
    assert q.seized * 1700 <= 7_000 * 10**12 * 105 // 100 * 10**6


def test_liquidate_credits_the_liquidator_a_deposit_and_sends_no_collateral_out(proto, vault, weth, mildly_unhealthy, liquidator):
    before = weth.balanceOf(vault)
    _, q = liquidate_as_model_says(proto, liquidator, mildly_unhealthy, 0, "USDC", "WETH", MAX, liq_sub=3)
    assert weth.balanceOf(vault) == before
    assert 0 < q.to_liquidator - vault.balanceOf(liquidator, 3, weth) <= 1  # the credit's scale rounds down


def test_liquidate_changes_no_third_party(proto, vault, mildly_unhealthy, liquidator, lp, carol):
    others = [(lp, 0), (carol, 8), (carol, 9)]
    before = [vault.accountState(o, s) for o, s in others]
    liquidate_as_model_says(proto, liquidator, mildly_unhealthy, 0, "USDC", "WETH", MAX)
    assert [vault.accountState(o, s) for o, s in others] == before


def test_liquidate_repays_the_whole_debt_when_health_factor_is_below_095(proto, vault, usdc, alice, liquidator):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1600)
    assert model_health(proto, alice).health_factor < pm.FULL_CLOSE_HEALTH_FACTOR
    debt = -vault.balanceOf(alice, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, alice, 0, "USDC", "WETH", MAX)
    assert q.repaid == debt
    assert vault.scaledBalanceOf(alice, 0, usdc) == 0
    assert vault.accountState(alice, 0)["healthFactor"] == MAX


def test_liquidate_caps_the_seizure_at_the_deposit_and_shrinks_the_repay_rounded_up(proto, vault, usdc, weth, alice, liquidator):
    # Three assets, three decimals: 2 WETH + 0.2 WBTC against 11000 USDC; WBTC falls to $45000.
    open_position(proto, alice, 0, {"WETH": 2, "WBTC": "0.2"}, {"USDC": 11_000})
    proto.set_price("WBTC", 45_000)
    held = vault.balanceOf(alice, 0, weth)
    _, q = liquidate_as_model_says(proto, liquidator, alice, 0, "USDC", "WETH", MAX)
    assert q.seized == held
    assert q.repaid < -vault.balanceOf(alice, 0, usdc) + q.repaid  # debt is left
    assert q.repaid == pm.repay_for_seize_up(held, pm.Pair(10**18, 6, 2000 * 10**18, 18, 5 * 10**16))
    assert q.incentive == 5 * 10**16  # CloseFactor pays the collateral's own bonus
    assert vault.scaledBalanceOf(alice, 0, weth) == 0


def test_liquidate_with_a_volatile_collateral_uses_its_own_bonus_and_share(proto, vault, alice, liquidator):
    open_position(proto, alice, 0, {"WETH": 2, "WBTC": "0.2"}, {"USDC": 11_000})
    proto.set_price("WBTC", 45_000)
    _, q = liquidate_as_model_says(proto, liquidator, alice, 0, "USDC", "WBTC", MAX)
    assert q.seized > 0 and q.protocol_cut > 0


def test_liquidate_against_a_volatile_debt_values_it_at_its_own_price(proto, vault, alice, liquidator):
    open_position(proto, alice, 0, {"USDC": 75_000}, {"WBTC": 1})
    proto.set_price("WBTC", 70_000)
    assert model_health(proto, alice).health_maint < 0
    liquidate_as_model_says(proto, liquidator, alice, 0, "WBTC", "USDC", MAX)


@pytest.fixture
def small_debt(proto, vault, usdc, alice):
    """$1.5 of USDC debt against 0.001 WETH at $1,700 (HF 0.963): half would leave $0.75, below the $1 minimum."""
    vault.deposit(alice, 0, proto["WETH"].token, 10**15, {"from": alice})
    vault.borrow(0, usdc, 1_500_000, alice, {"from": alice})
    proto.set_price("WETH", 1700)
    assert pm.FULL_CLOSE_HEALTH_FACTOR <= model_health(proto, alice).health_factor < WAD
    return alice


def test_liquidate_never_pulls_more_than_the_amount_named_and_refuses_to_leave_debt_dust(
        proto, vault, usdc, weth, small_debt, liquidator):
    # Today's vault raised 600,000 to the whole 1,500,000 here. The named amount is an upper bound: the repay
    # would leave $0.90 of debt, under the $1 minimum, and closing the debt needs more than was named.
    paid = usdc.balanceOf(liquidator)
    name, (debt_left, _, min_debt, min_coll) = revert_args(
        lambda: vault.liquidate(small_debt, 0, usdc, weth, 600_000, 0, {"from": liquidator}))
    assert name == "LeavesDust"
    assert debt_left == pm.value_up(-vault.balanceOf(small_debt, 0, usdc) - 600_000, WAD, 6) < min_debt == WAD
    assert min_coll == WAD
    assert usdc.balanceOf(liquidator) == paid


def test_liquidate_may_leave_exactly_the_minimum(proto, vault, usdc, small_debt, liquidator):
    debt = -vault.balanceOf(small_debt, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, small_debt, 0, "USDC", "WETH", debt - 1_000_000)
    assert q.repaid == debt - 1_000_000
    assert 0 <= -vault.balanceOf(small_debt, 0, usdc) - 1_000_000 <= 1  # the repay's burned scale rounds down


def test_liquidate_with_max_closes_a_debt_that_the_close_factor_would_leave_as_dust(proto, vault, usdc, small_debt, liquidator):
    debt = -vault.balanceOf(small_debt, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, small_debt, 0, "USDC", "WETH", MAX)
    assert q.repaid == debt  # beyond the 50 % close factor: I11's dust exception, within the amount named


def test_liquidate_with_a_named_amount_that_covers_the_debt_closes_it(proto, vault, usdc, small_debt, liquidator):
    debt = -vault.balanceOf(small_debt, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, small_debt, 0, "USDC", "WETH", debt)
    assert q.repaid == debt


def test_liquidate_closes_a_debt_worth_at_most_the_minimum_in_full(proto, vault, usdc, alice, liquidator):
    vault.deposit(alice, 0, proto["WETH"].token, 10**15, {"from": alice})
    vault.borrow(0, usdc, 900_000, alice, {"from": alice})
    proto.set_price("WETH", 1030)
    assert model_health(proto, alice).health_factor >= pm.FULL_CLOSE_HEALTH_FACTOR
    debt = -vault.balanceOf(alice, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, alice, 0, "USDC", "WETH", MAX)
    assert q.repaid == debt


@pytest.fixture
def slim_collateral(proto, alice):
    """20,000 USDC + 1 WETH against 0.28 WBTC; WBTC at $71,000 (HF 0.992): WETH is the collateral to seize."""
    open_position(proto, alice, 0, {"USDC": 20_000, "WETH": 1}, {"WBTC": "0.28"})
    proto.set_price("WBTC", 71_000)
    assert pm.FULL_CLOSE_HEALTH_FACTOR <= model_health(proto, alice).health_factor < WAD
    return alice


def test_liquidate_refuses_to_leave_collateral_dust_within_the_amount_named(proto, vault, wbtc, weth, slim_collateral, liquidator):
    # 2,681,600 sat ($1,903.94) buys 0.99957 WETH x 1.05: $0.87 of WETH would be left, under the $1 minimum.
    with brownie.reverts(revert_pattern=err("LeavesDust")):
        vault.liquidate(slim_collateral, 0, wbtc, weth, 2_681_600, 0, {"from": liquidator})


def test_liquidate_takes_the_whole_collateral_when_the_amount_named_allows_it(proto, vault, wbtc, weth, slim_collateral, liquidator):
    held = vault.balanceOf(slim_collateral, 0, weth)
    _, q = liquidate_as_model_says(proto, liquidator, slim_collateral, 0, "WBTC", "WETH", 2_700_000)
    assert q.seized == held and q.repaid < 2_700_000
    assert vault.balanceOf(slim_collateral, 0, weth) == 0


def test_liquidate_follows_changed_dust_minimums(proto, vault, usdc, weth, alice, liquidator, gov):
    # 1 WETH at $1,700 against 1,500 USDC (HF 0.963): half leaves $750, under a $1,000 minimum.
    open_position(proto, alice, 0, {"WETH": 1}, {"USDC": 1_500})
    proto.set_price("WETH", 1700)
    tx = vault.setDustMinimums(1_000 * WAD, 10 * WAD, {"from": gov})
    assert dict(tx.events["DustMinimumsSet"]) == {"minDebtLeftValue": 1_000 * WAD, "minCollateralLeftValue": 10 * WAD}
    assert (vault.minDebtLeftValue(), vault.minCollateralLeftValue()) == (1_000 * WAD, 10 * WAD)
    with brownie.reverts(revert_pattern=err("LeavesDust")):
        vault.liquidate(alice, 0, usdc, weth, 700 * 10**6, 0, {"from": liquidator})
    debt = -vault.balanceOf(alice, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, alice, 0, "USDC", "WETH", MAX)
    assert q.repaid == debt


def test_liquidate_settles_the_remaining_debt_as_bad_debt_when_no_collateral_is_left(proto, vault, usdc, alice, liquidator):
    open_position(proto, alice, 0, {"WETH": 1}, {"USDC": 1_500})
    proto.set_price("WETH", 1000)
    books = market_books(proto, "USDC")
    tx, q = liquidate_as_model_says(proto, liquidator, alice, 0, "USDC", "WETH", MAX)
    remaining = pm.debt_amount_up(
        -pm.credit(-pm.to_scale_up(1_500 * 10**6, books["borrowIndex"]), q.repaid, books["depositIndex"], books["borrowIndex"]).scaled,
        books["borrowIndex"],
    )
    ev = tx.events["BadDebtSettled"]
    covered = min(remaining, books["reserves"])
    assert (ev["owner"], ev["token"], ev["debt"], ev["coveredByReserves"]) == (alice, usdc, remaining, covered)
    assert ev["socialised"] == remaining - covered > 0
    assert ev["newDepositIndex"] == pm.socialise(books["depositIndex"], books["totalDepositScale"], remaining - covered)
    assert vault.accountState(alice, 0)["tokens"] == []  # I13: no orphan debt
    assert tx.events["Liquidated"]["healthFactorAfter"] == MAX


def test_liquidate_by_the_same_owner_from_another_sub_account_is_allowed(proto, vault, weth, mildly_unhealthy):
    liquidate_as_model_says(proto, mildly_unhealthy, mildly_unhealthy, 0, "USDC", "WETH", MAX, liq_sub=1)
    assert vault.balanceOf(mildly_unhealthy, 1, weth) > 0


def test_liquidate_reverts_into_the_liquidated_sub_account_itself(vault, usdc, weth, mildly_unhealthy):
    with brownie.reverts(revert_pattern=err("SelfLiquidation")):
        vault.liquidate(mildly_unhealthy, 0, usdc, weth, MAX, 0, {"from": mildly_unhealthy})


def test_liquidate_reverts_when_the_account_is_healthy(proto, vault, usdc, weth, alice, liquidator):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    with brownie.reverts(revert_pattern=err("AccountHealthy")):
        vault.liquidate(alice, 0, usdc, weth, MAX, 0, {"from": liquidator})


def test_liquidate_reverts_below_the_initial_but_above_the_maintenance_threshold(proto, vault, usdc, weth, alice, liquidator):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_900})
    proto.set_price("WETH", 1950)  # health_init < 0 (no more borrowing), health_maint > 0 (not liquidatable)
    h = model_health(proto, alice)
    assert h.health_init < 0 <= h.health_maint
    with brownie.reverts(revert_pattern=err("AccountHealthy")):
        vault.liquidate(alice, 0, usdc, weth, MAX, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        vault.borrow(0, usdc, 1, alice, {"from": alice})  # I7


def test_liquidate_reverts_when_the_account_owes_nothing_in_the_debt_token(proto, vault, weth, wbtc, mildly_unhealthy, liquidator):
    with brownie.reverts(revert_pattern=err("NoDebt")):
        vault.liquidate(mildly_unhealthy, 0, weth, weth, MAX, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("NoDebt")):
        vault.liquidate(mildly_unhealthy, 0, wbtc, weth, MAX, 0, {"from": liquidator})


def test_liquidate_reverts_when_the_account_has_no_deposit_of_the_collateral(vault, usdc, wbtc, mildly_unhealthy, liquidator):
    with brownie.reverts(revert_pattern=err("NoCollateral")):
        vault.liquidate(mildly_unhealthy, 0, usdc, wbtc, MAX, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("NoCollateral")):
        vault.liquidate(mildly_unhealthy, 0, usdc, usdc, MAX, 0, {"from": liquidator})


def test_liquidate_reverts_when_it_would_seize_nothing(vault, usdc, wbtc, proto, alice, liquidator):
    open_position(proto, alice, 0, {"WBTC": 1}, {"USDC": 44_000})
    proto.set_price("WBTC", 55_000)
    with brownie.reverts(revert_pattern=err("NothingToLiquidate")):
        vault.liquidate(alice, 0, usdc, wbtc, 1, 0, {"from": liquidator})  # 1e-6 $ buys < 1 satoshi


def test_liquidate_reverts_on_zero_amount_and_unlisted_tokens(gov, vault, usdc, weth, mildly_unhealthy, liquidator):
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.liquidate(mildly_unhealthy, 0, usdc, weth, 0, 0, {"from": liquidator})
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.liquidate(mildly_unhealthy, 0, stray, weth, MAX, 0, {"from": liquidator})


def test_liquidate_reverts_while_liquidations_are_paused(vault, usdc, weth, mildly_unhealthy, liquidator, guardian):
    vault.setPaused(False, False, True, {"from": guardian})
    with brownie.reverts(revert_pattern=err("LiquidationPaused")):
        vault.liquidate(mildly_unhealthy, 0, usdc, weth, MAX, 0, {"from": liquidator})


def test_liquidate_reverts_with_the_oracles_error_when_a_held_feed_is_stale(proto, vault, usdc, weth, mildly_unhealthy, liquidator):
    proto["USDC"].feed.setRoundData(9, 10**18, 1, 1, 9, {"from": proto.gov})
    with brownie.reverts(revert_pattern=err("StalePrice")):
        vault.liquidate(mildly_unhealthy, 0, usdc, weth, MAX, 0, {"from": liquidator})


def test_liquidatable_view_flags_exactly_the_accounts_with_negative_health_maint(proto, vault, mildly_unhealthy, bob, lp):
    open_position(proto, bob, 0, {"WETH": 10}, {"USDC": 1_000})
    assert vault.liquidatable([mildly_unhealthy, bob, lp, bob], [0, 0, 0, 200]) == [True, False, False, False]


def test_liquidated_event_names_the_liquidators_sub_account(proto, vault, weth, mildly_unhealthy, liquidator):
    # An indexer rebuilds balances from events alone: toLiquidator went to (liquidator, liquidatorSubId).
    tx, q = liquidate_as_model_says(proto, liquidator, mildly_unhealthy, 0, "USDC", "WETH", MAX, liq_sub=200)
    ev = tx.events["Liquidated"]
    assert ev["liquidatorSubId"] == 200
    assert vault.scaledBalanceOf(liquidator, 200, weth) > 0 == vault.scaledBalanceOf(liquidator, 0, weth)
