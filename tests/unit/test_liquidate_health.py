"""I9 in cross margin: a liquidation never lowers the health factor of an account that is solvent at the
incentive it pays (issue 15).

Seizing collateral c to repay debt d moves the health factor toward (1 + incentive_c) · wA_c / wL_d: it falls
whenever HF is below that ratio, and mixed collateral (or liability) weights put HF there while collateral is
far above debt. The shipped markets do it: 66,000 USDC + 0.7 WBTC against 40 WETH at WETH $2,520 is HF 0.9554
(50 % may be repaid); seizing USDC for the half drops HF to 0.9417, which unlocks the 100 % close factor, and
two more calls repay all 40 WETH; seizing WBTC first lifts HF to 1.019. The vault now refuses the USDC seizure
(`HealthFactorNotImproved`) and the liquidator takes the pair that improves health, which always exists while
the account is solvent at its incentives (see IVaultLiquidation.liquidate). Every amount is the model's.
"""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import MAX, WAD, err, liquidate_as_model_says, model_health, open_position, revert_args


@pytest.fixture
def mixed_collateral(proto, alice):
    """The issue's account: 66,000 USDC + 0.7 WBTC against 40 WETH, WETH then at $2,520 (HF 0.9554)."""
    open_position(proto, alice, 0, {"USDC": 66_000, "WBTC": "0.7"}, {"WETH": 40})
    proto.set_price("WETH", 2520)
    h = model_health(proto, alice)
    assert pm.FULL_CLOSE_HEALTH_FACTOR <= h.health_factor < WAD  # 0.9554: the 50 % close factor applies
    assert h.collateral_value >= pm.w_mul_up(h.debt_value, WAD + 2 * WAD // 100)  # solvent at USDC's 2 % bonus
    return alice


@pytest.fixture
def mixed_liabilities(proto, alice):
    """The twin: 100,000 USDC against 21 WETH (liability weight 1.00) and 0.7 WBTC (1.05), WETH then at $2,640
    (HF 0.9544). Seizing USDC for WETH moves HF toward 0.969 / 1.00 (down), for WBTC toward 0.969 / 1.05 (up)."""
    open_position(proto, alice, 0, {"USDC": 100_000}, {"WETH": 21, "WBTC": "0.7"})
    proto.set_price("WETH", 2640)
    h = model_health(proto, alice)
    assert pm.FULL_CLOSE_HEALTH_FACTOR <= h.health_factor < WAD
    assert h.collateral_value >= pm.w_mul_up(h.debt_value, WAD + 2 * WAD // 100)
    return alice


def test_liquidate_refuses_the_seizure_that_would_walk_a_solvent_account_to_the_full_close_factor(
        proto, vault, usdc, weth, mixed_collateral, liquidator):
    debt = -vault.balanceOf(mixed_collateral, 0, weth)
    hf = model_health(proto, mixed_collateral).health_factor
    # Today's vault takes 20 WETH for 51,408 USDC here (HF 0.9554 -> 0.9417), then 100 % in two more calls.
    with brownie.reverts(revert_pattern=err("HealthFactorNotImproved")):
        vault.liquidate(mixed_collateral, 0, weth, usdc, MAX, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("HealthFactorNotImproved")):
        vault.liquidate(mixed_collateral, 0, weth, usdc, 10**18, 0, {"from": liquidator})  # any size lowers it
    assert -vault.balanceOf(mixed_collateral, 0, weth) == debt
    assert model_health(proto, mixed_collateral).health_factor == hf


def test_liquidate_takes_the_collateral_that_improves_health_and_leaves_the_account_healthy(
        proto, vault, weth, wbtc, mixed_collateral, liquidator):
    held = vault.balanceOf(mixed_collateral, 0, wbtc)
    tx, q = liquidate_as_model_says(proto, liquidator, mixed_collateral, 0, "WETH", "WBTC", MAX)
    ev = tx.events["Liquidated"]
    assert q.seized == held  # the whole 0.7 WBTC: the half (20 WETH) would need more
    assert ev["healthFactorAfter"] > WAD > ev["healthFactorBefore"]  # 0.9554 -> 1.0187
    assert model_health(proto, mixed_collateral).health_maint > 0
    assert 15 * 10**18 < q.repaid < 16 * 10**18  # 42,000 $ / 1.07 / 2,520 $ = 15.58 WETH, not 40


def test_liquidate_refuses_to_lower_health_through_the_lighter_liability_too(
        proto, vault, usdc, weth, mixed_liabilities, liquidator):
    with brownie.reverts(revert_pattern=err("HealthFactorNotImproved")):
        vault.liquidate(mixed_liabilities, 0, weth, usdc, MAX, 0, {"from": liquidator})
    tx, q = liquidate_as_model_says(proto, liquidator, mixed_liabilities, 0, "WBTC", "USDC", MAX)
    assert tx.events["Liquidated"]["healthFactorAfter"] > tx.events["Liquidated"]["healthFactorBefore"]
    assert q.repaid == 35_000_000  # the 50 % close factor: 0.35 WBTC


def test_liquidate_reports_both_health_factors_in_the_refusal(proto, vault, usdc, weth, mixed_collateral, liquidator):
    before = model_health(proto, mixed_collateral).health_factor
    name, (got_before, got_after) = revert_args(
        lambda: vault.liquidate(mixed_collateral, 0, weth, usdc, MAX, 0, {"from": liquidator}))
    assert name == "HealthFactorNotImproved"
    assert got_before == before and got_after < before


def test_liquidate_may_lower_the_health_factor_of_an_account_insolvent_at_the_incentive(
        proto, vault, wbtc, weth, alice, liquidator):
    # 10 WETH + 1,000 USDC against 0.2 WBTC; WBTC rises to $105,000: collateral $21,000 < debt × 1.05 ($22,050),
    # so the account cannot pay WETH's 5 % bonus on its debt. Seizing WETH lowers its health (0.81 -> 0.46) on
    # the way to closing it, which I9 allows below that line; the USDC stays with the account.
    open_position(proto, alice, 0, {"WETH": 10, "USDC": 1_000}, {"WBTC": "0.2"})
    proto.set_price("WBTC", 105_000)
    h = model_health(proto, alice)
    assert h.health_factor < pm.FULL_CLOSE_HEALTH_FACTOR
    assert h.collateral_value < pm.w_mul_up(h.debt_value, WAD + 5 * WAD // 100)
    tx, q = liquidate_as_model_says(proto, liquidator, alice, 0, "WBTC", "WETH", MAX)
    ev = tx.events["Liquidated"]
    assert ev["healthFactorAfter"] < ev["healthFactorBefore"]
    assert vault.balanceOf(alice, 0, weth) == 0 and -vault.balanceOf(alice, 0, wbtc) > 0
