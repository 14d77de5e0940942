"""Vault.previewLiquidation: what `liquidate` would do now, from an unfunded caller, to the wei.

Every case previews from an account that holds no token and no ether, then liquidates for real, and asserts the
preview equals the transaction's return value and `Liquidated` event (and, through `liquidate_as_model_says`,
the integer model's `quote_liquidation`); a refused liquidation must make the preview revert with the same custom
error and the same arguments. The fixture freezes the indexes (see conftest.py), so "now" lasts across blocks.
"""
import brownie
import pytest
from brownie import accounts

from marginlab.model import vault as pm
from unitkit import (
    MAX,
    WAD,
    liquidate_as_model_says,
    model_health,
    model_liquidation,
    open_position,
)

POLICY = pm.Policy


@pytest.fixture(scope="module")
def auditor():
    """A fresh key: no ether, no tokens, no approval."""
    return accounts.add()


def preview(vault, auditor, owner, sub, debt, coll, requested):
    assert auditor.balance() == 0
    return dict(vault.previewLiquidation(owner, sub, debt, coll, requested, {"from": auditor}).dict())


def preview_then_liquidate(proto, auditor, liquidator, owner, sub, debt, coll, requested, liq_sub=0):
    d, c = proto[debt].token, proto[coll].token
    p = preview(proto.vault, auditor, owner, sub, d, c, requested)
    q = model_liquidation(proto, owner, sub, debt, coll, requested)
    assert (p["repaid"], p["seized"], p["toLiquidator"], p["protocolCut"], p["incentive"]) == (
        q.repaid, q.seized, q.to_liquidator, q.protocol_cut, q.incentive)
    assert p["policy"] == int(proto.vault.liquidationPolicy())
    assert p["healthFactorBefore"] == model_health(proto, owner, sub).health_factor
    tx, _ = liquidate_as_model_says(proto, liquidator, owner, sub, debt, coll, requested, liq_sub)
    ev = tx.events["Liquidated"]
    assert tx.return_value == (p["repaid"], p["seized"])
    assert (ev["repaid"], ev["seizedTotal"], ev["toLiquidator"], ev["protocolCut"], ev["incentive"],
            ev["healthFactorBefore"], ev["healthFactorAfter"]) == (
        p["repaid"], p["seized"], p["toLiquidator"], p["protocolCut"], p["incentive"],
        p["healthFactorBefore"], p["healthFactorAfter"])
    assert p["settlesBadDebt"] == ("BadDebtSettled" in tx.events)
    return p, tx


def refusal(send):
    """The custom error `send()` reverts with, as (name, [arguments as brownie prints them])."""
    from brownie.exceptions import VirtualMachineError

    try:
        send()
    except VirtualMachineError as e:
        name, _, rest = str(e.revert_msg).partition(":")
        return name.strip(), [x.strip() for x in rest.split(",") if x.strip()]
    raise AssertionError("the call did not revert")


def same_refusal(vault, auditor, liquidator, owner, sub, d, c, requested):
    """The preview reverts with exactly the error, arguments included, that the liquidation reverts with."""
    previewed = refusal(lambda: vault.previewLiquidation(owner, sub, d, c, requested, {"from": auditor}))
    refused = refusal(lambda: vault.liquidate(owner, sub, d, c, requested, 0, {"from": liquidator}))
    assert previewed == refused
    return previewed


@pytest.fixture
def unhealthy(proto, alice):
    """10 WETH against 15,000 USDC at WETH $1,700 (HF 0.963: the 50 % close factor applies)."""
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)
    return alice


# ------------------------------------------------------------------ agrees with the liquidation
def test_preview_needs_no_funds_and_moves_nothing(proto, vault, usdc, weth, unhealthy, auditor):
    before = vault.accountState(unhealthy, 0), usdc.balanceOf(vault), weth.balanceOf(vault)
    p = preview(vault, auditor, unhealthy, 0, usdc, weth, MAX)
    assert p["repaid"] > 0
    assert (vault.accountState(unhealthy, 0), usdc.balanceOf(vault), weth.balanceOf(vault)) == before


def test_preview_of_a_named_amount_below_the_close_factor(proto, unhealthy, auditor, liquidator):
    p, _ = preview_then_liquidate(proto, auditor, liquidator, unhealthy, 0, "USDC", "WETH", 1_000 * 10**6)
    assert p["repaid"] == 1_000 * 10**6 and p["healthFactorAfter"] > p["healthFactorBefore"]


def test_preview_of_max_is_capped_by_the_close_factor(proto, vault, usdc, unhealthy, auditor, liquidator):
    debt = -vault.balanceOf(unhealthy, 0, usdc)
    p, _ = preview_then_liquidate(proto, auditor, liquidator, unhealthy, 0, "USDC", "WETH", MAX, liq_sub=5)
    assert p["repaid"] == debt // 2 and not p["settlesBadDebt"]


def test_preview_capped_by_the_collateral_in_three_decimals(proto, vault, weth, alice, auditor, liquidator):
    open_position(proto, alice, 0, {"WETH": 2, "WBTC": "0.2"}, {"USDC": 11_000})
    proto.set_price("WBTC", 45_000)
    held = vault.balanceOf(alice, 0, weth)
    p, _ = preview_then_liquidate(proto, auditor, liquidator, alice, 0, "USDC", "WETH", MAX)
    assert p["seized"] == held


def test_preview_says_when_the_rest_is_settled_as_bad_debt(proto, alice, auditor, liquidator):
    open_position(proto, alice, 0, {"WETH": 1}, {"USDC": 1_500})
    proto.set_price("WETH", 1000)
    p, _ = preview_then_liquidate(proto, auditor, liquidator, alice, 0, "USDC", "WETH", MAX)
    assert p["settlesBadDebt"] and p["healthFactorAfter"] == MAX


def test_preview_closes_a_small_debt_beyond_the_close_factor(proto, vault, usdc, weth, alice, auditor, liquidator):
    vault.deposit(alice, 0, weth, 10**15, {"from": alice})
    vault.borrow(0, usdc, 1_500_000, alice, {"from": alice})
    proto.set_price("WETH", 1700)
    debt = -vault.balanceOf(alice, 0, usdc)
    p, _ = preview_then_liquidate(proto, auditor, liquidator, alice, 0, "USDC", "WETH", MAX)
    assert p["repaid"] == debt


@pytest.mark.parametrize("policy", [POLICY.DUTCH, POLICY.FIXED_INCENTIVE])
def test_preview_follows_the_policy_in_force(proto, vault, usdc, unhealthy, auditor, liquidator, gov, policy):
    vault.setLiquidationPolicy(int(policy), {"from": gov})
    p, _ = preview_then_liquidate(proto, auditor, liquidator, unhealthy, 0, "USDC", "WETH", MAX)
    assert p["policy"] == int(policy)
    hf = model_health(proto, unhealthy).health_factor
    if policy == POLICY.DUTCH:  # up to the repay that restores the 1.02 target
        assert abs(hf - pm.LiquidationParams().target_health_factor) < WAD // 10**6
    else:  # any size: the whole debt
        assert vault.balanceOf(unhealthy, 0, usdc) == 0


def test_preview_under_dutch_with_a_changed_target_and_bad_debt(proto, vault, weth, alice, auditor, liquidator, gov):
    vault.setLiquidationPolicy(int(POLICY.DUTCH), {"from": gov})
    params = pm.LiquidationParams(**{**pm.LiquidationParams().__dict__, "target_health_factor": 11 * WAD // 10})
    vault.setLiquidationParams(params.as_tuple(), {"from": gov})
    open_position(proto, alice, 0, {"USDC": 10_000}, {"WETH": "4.4"})
    proto.set_price("WETH", 2400)  # no repay reaches the target: the whole debt, capped by the deposit
    p, _ = preview_then_liquidate(proto, auditor, liquidator, alice, 0, "WETH", "USDC", MAX)
    assert p["settlesBadDebt"]


# ------------------------------------------------------------------ the same refusals
def test_preview_refuses_dust_like_the_liquidation(proto, vault, usdc, weth, alice, auditor, liquidator):
    vault.deposit(alice, 0, weth, 10**15, {"from": alice})
    vault.borrow(0, usdc, 1_500_000, alice, {"from": alice})
    proto.set_price("WETH", 1700)
    name, args = same_refusal(vault, auditor, liquidator, alice, 0, usdc, weth, 600_000)
    assert name == "LeavesDust" and int(args[2]) == WAD


def test_preview_refuses_collateral_dust_like_the_liquidation(proto, vault, wbtc, weth, alice, auditor, liquidator):
    open_position(proto, alice, 0, {"USDC": 20_000, "WETH": 1}, {"WBTC": "0.28"})
    proto.set_price("WBTC", 71_000)
    assert same_refusal(vault, auditor, liquidator, alice, 0, wbtc, weth, 2_681_600)[0] == "LeavesDust"


def test_preview_refuses_a_healthy_account_and_wrong_assets(proto, vault, usdc, weth, wbtc, alice, auditor, liquidator):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    assert same_refusal(vault, auditor, liquidator, alice, 0, usdc, weth, MAX)[0] == "AccountHealthy"
    proto.set_price("WETH", 1700)
    assert same_refusal(vault, auditor, liquidator, alice, 0, wbtc, weth, MAX)[0] == "NoDebt"
    assert same_refusal(vault, auditor, liquidator, alice, 0, usdc, wbtc, MAX)[0] == "NoCollateral"
    assert same_refusal(vault, auditor, liquidator, alice, 0, usdc, weth, 0)[0] == "ZeroAmount"
    assert same_refusal(vault, auditor, liquidator, alice, 0, usdc, liquidator, MAX)[0] == "MarketNotListed"


def test_preview_refuses_a_seizure_of_nothing(proto, vault, usdc, wbtc, alice, auditor, liquidator):
    open_position(proto, alice, 0, {"WBTC": 1}, {"USDC": 44_000})
    proto.set_price("WBTC", 55_000)
    assert same_refusal(vault, auditor, liquidator, alice, 0, usdc, wbtc, 1)[0] == "NothingToLiquidate"


def test_preview_refuses_to_lower_a_solvent_accounts_health(proto, vault, usdc, weth, alice, auditor, liquidator, gov):
    vault.setLiquidationPolicy(int(POLICY.FIXED_INCENTIVE), {"from": gov})
    open_position(proto, alice, 0, {"USDC": 66_000, "WBTC": "0.7"}, {"WETH": 40})
    proto.set_price("WETH", 2520)
    name, (before, after) = same_refusal(vault, auditor, liquidator, alice, 0, weth, usdc, MAX)
    assert name == "HealthFactorNotImproved" and int(after) < int(before)
    preview_then_liquidate(proto, auditor, liquidator, alice, 0, "WETH", "WBTC", MAX)  # the pair that lifts it


def test_preview_refuses_under_absorb_and_while_paused(proto, vault, usdc, weth, unhealthy, auditor, liquidator, gov):
    vault.setPaused(False, False, True, {"from": gov})
    assert same_refusal(vault, auditor, liquidator, unhealthy, 0, usdc, weth, MAX)[0] == "LiquidationPaused"
    vault.setPaused(False, False, False, {"from": gov})
    vault.setLiquidationPolicy(int(POLICY.ABSORB), {"from": gov})
    assert same_refusal(vault, auditor, liquidator, unhealthy, 0, usdc, weth, MAX) == (
        "WrongLiquidationPolicy", [str(int(POLICY.ABSORB))])


def test_preview_cannot_know_the_liquidator(vault, usdc, weth, unhealthy, auditor):
    # SelfLiquidation depends on who calls with which sub-account: the preview quotes as for anyone else.
    assert preview(vault, auditor, unhealthy, 0, usdc, weth, MAX)["repaid"] > 0
    with brownie.reverts():
        vault.liquidate(unhealthy, 0, usdc, weth, MAX, 0, {"from": unhealthy})


def test_the_liquidation_module_called_directly_has_no_market(proto, vault, usdc, weth, unhealthy, auditor):
    module = brownie.Contract.from_abi("VaultLiquidation", vault.liquidationModule(), vault.abi)
    name, args = refusal(lambda: module.previewLiquidation(unhealthy, 0, usdc, weth, MAX, {"from": auditor}))
    assert name == "MarketNotListed" and args[0].lower() == usdc.address.lower()
