"""Switchable liquidation policies: governance (setLiquidationPolicy, setLiquidationParams, setDustMinimums, their
bounds and events) and how each policy sizes and pays a liquidation (IVaultLiquidation.liquidate).

Every amount is asserted to the wei against marginlab/model/vault.py (`liquidate_as_model_says`), which also checks
the I9/I26 properties of each call: the named amount bounds the repay and health never falls while the account
can pay the incentive.
"""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import (
    MAX,
    WAD,
    err,
    liquidate_as_model_says,
    model_health,
    model_params,
    model_policy,
    open_position,
)

POLICY = pm.Policy
DEFAULTS = pm.LiquidationParams()


def set_policy(vault, gov, policy: pm.Policy, **changes):
    vault.setLiquidationPolicy(int(policy), {"from": gov})
    if changes:
        params = pm.LiquidationParams(**{**DEFAULTS.__dict__, **changes})
        vault.setLiquidationParams(params.as_tuple(), {"from": gov})


@pytest.fixture
def unhealthy(proto, alice):
    """10 WETH against 15,000 USDC at WETH $1,700 (HF 0.963)."""
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)
    return alice


# ------------------------------------------------------------------ governance
def test_a_fresh_vault_runs_the_close_factor_policy_with_todays_parameters(vault):
    assert vault.liquidationPolicy() == int(POLICY.CLOSE_FACTOR)
    assert pm.LiquidationParams.from_chain(vault.liquidationParams()) == DEFAULTS
    assert DEFAULTS.close_factor == WAD // 2 and DEFAULTS.full_close_health_factor == 95 * WAD // 100
    assert (vault.minDebtLeftValue(), vault.minCollateralLeftValue()) == (WAD, WAD)


@pytest.mark.parametrize("policy", list(POLICY))
def test_set_liquidation_policy_emits_the_previous_and_the_new_policy(vault, gov, policy):
    tx = vault.setLiquidationPolicy(int(policy), {"from": gov})
    assert dict(tx.events["LiquidationPolicySet"]) == {"previous": int(POLICY.CLOSE_FACTOR), "policy": int(policy)}
    assert vault.liquidationPolicy() == int(policy)


def test_set_liquidation_policy_refuses_an_unknown_policy(vault, gov):
    with brownie.reverts():  # the ABI decoder rejects an enum value out of range (no data)
        vault.setLiquidationPolicy(4, {"from": gov})


def test_set_liquidation_params_stores_and_emits_them(vault, gov):
    params = pm.LiquidationParams(40 * WAD // 100, 90 * WAD // 100, WAD // 5, WAD // 10, WAD // 5, 12 * WAD // 10, WAD)
    tx = vault.setLiquidationParams(params.as_tuple(), {"from": gov})
    assert tuple(tx.events["LiquidationParamsSet"]["params"]) == params.as_tuple()
    assert pm.LiquidationParams.from_chain(vault.liquidationParams()) == params


@pytest.mark.parametrize("field, value, error", [
    ("close_factor", 0, "CloseFactorOutOfRange"),
    ("close_factor", WAD + 1, "CloseFactorOutOfRange"),
    ("full_close_health_factor", WAD + 1, "FullCloseHealthFactorOutOfRange"),
    ("incentive_cursor", WAD + 1, "IncentiveCursorOutOfRange"),
    ("max_incentive", pm.MAX_INCENTIVE + 1, "MaxIncentiveOutOfRange"),
    ("max_discount", pm.MAX_DISCOUNT + 1, "MaxDiscountOutOfRange"),
    ("target_health_factor", pm.MIN_TARGET_HEALTH_FACTOR - 1, "TargetHealthFactorOutOfRange"),
    ("target_health_factor", pm.MAX_TARGET_HEALTH_FACTOR + 1, "TargetHealthFactorOutOfRange"),
    ("store_front_factor", WAD + 1, "StoreFrontFactorOutOfRange"),
])
def test_set_liquidation_params_reverts_outside_each_bound(vault, gov, field, value, error):
    params = pm.LiquidationParams(**{**DEFAULTS.__dict__, field: value})
    assert params.error() == error
    with brownie.reverts(revert_pattern=err(error)):
        vault.setLiquidationParams(params.as_tuple(), {"from": gov})


def test_set_liquidation_params_accepts_every_bound_itself(vault, gov):
    params = pm.LiquidationParams(WAD, WAD, WAD, pm.MAX_INCENTIVE, pm.MAX_DISCOUNT, pm.MAX_TARGET_HEALTH_FACTOR, WAD)
    vault.setLiquidationParams(params.as_tuple(), {"from": gov})
    params = pm.LiquidationParams(1, 0, 0, 0, 0, pm.MIN_TARGET_HEALTH_FACTOR, 0)
    vault.setLiquidationParams(params.as_tuple(), {"from": gov})
    assert pm.LiquidationParams.from_chain(vault.liquidationParams()) == params


def test_set_dust_minimums_is_bounded_at_a_thousand_dollars(vault, gov):
    vault.setDustMinimums(pm.MAX_DUST_VALUE, 0, {"from": gov})
    with brownie.reverts(revert_pattern=err("DustValueTooHigh")):
        vault.setDustMinimums(pm.MAX_DUST_VALUE + 1, 0, {"from": gov})
    with brownie.reverts(revert_pattern=err("DustValueTooHigh")):
        vault.setDustMinimums(0, pm.MAX_DUST_VALUE + 1, {"from": gov})
    assert (vault.minDebtLeftValue(), vault.minCollateralLeftValue()) == (pm.MAX_DUST_VALUE, 0)


# ------------------------------------------------------------------ CloseFactor with other parameters
def test_close_factor_follows_a_changed_close_factor(proto, vault, usdc, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.CLOSE_FACTOR, close_factor=WAD // 4)
    debt = -vault.balanceOf(unhealthy, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", MAX)
    assert q.repaid == pm.w_mul_down(debt, WAD // 4) == q.cap


def test_close_factor_opens_the_whole_debt_below_a_changed_threshold(proto, vault, usdc, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.CLOSE_FACTOR, full_close_health_factor=97 * WAD // 100)  # HF 0.963 < 0.97
    debt = -vault.balanceOf(unhealthy, 0, usdc)
    _, q = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", MAX)
    assert q.repaid == debt


# ------------------------------------------------------------------ FixedIncentive
@pytest.mark.parametrize("coll, weight", [("WETH", 85), ("WBTC", 80), ("USDC", 95)])
def test_fixed_incentive_is_morphos_factor_of_the_collaterals_maintenance_weight(proto, coll, weight):
    incentive = pm.fixed_incentive_down(weight * WAD // 100, DEFAULTS.incentive_cursor, DEFAULTS.max_incentive)
    exact = 1 / (1 - 0.3 * (1 - weight / 100)) - 1
    assert abs(incentive / WAD - exact) < 1e-15
    assert pm.w_mul_up(weight * WAD // 100, WAD + incentive) <= WAD  # I10: w x (1 + incentive) <= 1


def test_fixed_incentive_repays_any_size_with_the_weight_based_incentive(proto, vault, usdc, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.FIXED_INCENTIVE)
    debt = -vault.balanceOf(unhealthy, 0, usdc)
    tx, q = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", MAX)
    assert q.incentive == pm.fixed_incentive_down(85 * WAD // 100, 3 * WAD // 10, 15 * WAD // 100)  # 4.712 %
    assert q.repaid == debt > pm.w_mul_down(debt, WAD // 2)  # no close factor
    assert tx.events["Liquidated"]["incentive"] == q.incentive


def test_fixed_incentive_is_capped(proto, vault, usdc, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.FIXED_INCENTIVE, incentive_cursor=WAD, max_incentive=WAD // 20)
    _, q = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", 1_000 * 10**6)
    assert q.incentive == WAD // 20  # 1 / 0.85 - 1 = 17.6 %, capped at 5 %


def test_fixed_incentive_refuses_to_lower_a_solvent_accounts_health(proto, vault, usdc, weth, alice, liquidator, gov):
    set_policy(vault, gov, POLICY.FIXED_INCENTIVE)
    open_position(proto, alice, 0, {"USDC": 66_000, "WBTC": "0.7"}, {"WETH": 40})
    proto.set_price("WETH", 2520)
    with brownie.reverts(revert_pattern=err("HealthFactorNotImproved")):
        vault.liquidate(alice, 0, weth, usdc, MAX, 0, {"from": liquidator})
    liquidate_as_model_says(proto, liquidator, alice, 0, "WETH", "WBTC", MAX)


# ------------------------------------------------------------------ Dutch
def test_dutch_incentive_grows_as_health_falls_and_is_capped(proto):
    hf = [WAD * x // 100 for x in (99, 96, 90, 85, 80, 50)]
    incentives = [pm.dutch_incentive_down(h, DEFAULTS.max_discount) for h in hf]
    assert incentives == sorted(incentives)
    assert incentives[0] == pm.w_div_down(WAD, 99 * WAD // 100) - WAD  # 1 / 0.99 - 1
    assert incentives[-1] == incentives[-2] == pm.w_div_down(WAD, 85 * WAD // 100) - WAD  # floor at 1 - 15 %


def test_dutch_repays_up_to_the_amount_that_restores_health(proto, vault, usdc, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.DUTCH)
    hf = model_health(proto, unhealthy).health_factor
    debt = -vault.balanceOf(unhealthy, 0, usdc)
    tx, q = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", MAX)
    assert q.incentive == pm.dutch_incentive_down(hf, DEFAULTS.max_discount)  # 1 / 0.963 - 1 = 3.8 %
    assert 0 < q.repaid == q.cap < debt
    after = model_health(proto, unhealthy).health_factor
    assert WAD < after and abs(after - DEFAULTS.target_health_factor) < WAD // 10**6  # to the 1.02 target, no further


def test_dutch_restores_a_higher_target_health_factor(proto, vault, usdc, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.DUTCH, target_health_factor=11 * WAD // 10)
    liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", MAX)
    # To the target up to the rounding of the balances moved (a few token units): why the target must exceed 1.
    assert abs(model_health(proto, unhealthy).health_factor - 11 * WAD // 10) < WAD // 10**6


def test_dutch_takes_a_named_amount_below_its_cap(proto, vault, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.DUTCH)
    _, q = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", 500 * 10**6)
    assert q.repaid == 500 * 10**6 < q.cap


def test_dutch_repays_the_whole_debt_when_the_pair_cannot_restore_health(proto, vault, usdc, weth, alice, liquidator, gov):
    # 10,000 USDC against 4.4 WETH with WETH at $2,400: HF 0.90, incentive 1 / 0.90 - 1 = 11.2 %, so each repaid
    # dollar takes 1.112 x 0.95 = 1.056 of weighted collateral for 1.00 x 1.02 of target-weighted debt: no amount
    # reaches the target, the cap is the whole debt, the deposit caps the seizure, and the rest is bad debt.
    set_policy(vault, gov, POLICY.DUTCH)
    open_position(proto, alice, 0, {"USDC": 10_000}, {"WETH": "4.4"})
    proto.set_price("WETH", 2400)
    h = model_health(proto, alice)
    incentive = pm.dutch_incentive_down(h.health_factor, DEFAULTS.max_discount)
    assert pm.dutch_repay_value_to_restore_up(h.coll_maint, h.debt_maint, DEFAULTS.target_health_factor, incentive,
                                              95 * WAD // 100, WAD) is None
    debt = -vault.balanceOf(alice, 0, weth)
    tx, q = liquidate_as_model_says(proto, liquidator, alice, 0, "WETH", "USDC", MAX)
    assert q.cap == debt and q.repaid < debt
    assert "BadDebtSettled" in tx.events and vault.accountState(alice, 0)["tokens"] == []


def test_dutch_refuses_to_lower_a_solvent_accounts_health(proto, vault, usdc, weth, alice, liquidator, gov):
    set_policy(vault, gov, POLICY.DUTCH)
    open_position(proto, alice, 0, {"USDC": 66_000, "WBTC": "0.7"}, {"WETH": 40})
    proto.set_price("WETH", 2520)
    with brownie.reverts(revert_pattern=err("HealthFactorNotImproved")):
        vault.liquidate(alice, 0, weth, usdc, MAX, 0, {"from": liquidator})


# ------------------------------------------------------------------ the policy boundary
def test_liquidate_reverts_under_the_absorb_policy(vault, usdc, weth, unhealthy, liquidator, gov):
    set_policy(vault, gov, POLICY.ABSORB)
    with brownie.reverts(revert_pattern=err("WrongLiquidationPolicy")):
        vault.liquidate(unhealthy, 0, usdc, weth, MAX, 0, {"from": liquidator})


@pytest.mark.parametrize("policy", [POLICY.CLOSE_FACTOR, POLICY.FIXED_INCENTIVE, POLICY.DUTCH])
def test_absorb_reverts_under_every_other_policy(vault, unhealthy, liquidator, gov, policy):
    set_policy(vault, gov, policy)
    with brownie.reverts(revert_pattern=err("WrongLiquidationPolicy")):
        vault.absorb(unhealthy, 0, {"from": liquidator})


def test_a_policy_change_takes_effect_at_the_next_liquidation(proto, vault, usdc, unhealthy, liquidator, gov):
    _, first = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", 1_000 * 10**6)
    set_policy(vault, gov, POLICY.FIXED_INCENTIVE)
    assert model_policy(proto)[0] == POLICY.FIXED_INCENTIVE
    _, second = liquidate_as_model_says(proto, liquidator, unhealthy, 0, "USDC", "WETH", 1_000 * 10**6)
    assert first.incentive == model_params(proto, "WETH").liquidation_bonus != second.incentive
