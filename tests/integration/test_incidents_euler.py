"""Euler (Mar 2023) and self-liquidation: one owner's sub-accounts must not profit from liquidating each other.

Euler's `donateToReserves` let sub-account A give its collateral away while indebted, leaving A deeply
unhealthy, and sub-account B of the same attacker then liquidated A at a discount larger than the loss.
Here the equivalent of the donation is `transfer` (or `withdraw`) of A's collateral: it must revert when it
would leave A below health_init 0 (I6). And when A does become liquidatable by a price move, B liquidating A
yields the owner no more than the bonus on the debt B actually repaid (I12); A liquidating itself with its
own sub-account is refused outright.
"""
from __future__ import annotations

import brownie
import pytest

from marginlab.model import vault as pm
from chainkit import WAD, check_books, deploy_protocol, err, sim_token

MAX = 2**256 - 1


@pytest.fixture(scope="module")
def setup(module_isolation, gov, guardian, lp, alice):
    """WETH ($2000) and USDC ($1) markets; alice's sub-account 0 holds 10 WETH and owes 15,000 USDC."""
    p = deploy_protocol(gov, guardian)
    p.add_market("WETH", sim_token(gov, "WETH", 18), 2000)
    p.add_market("USDC", sim_token(gov, "USDC", 6), 1, liquidationBonus=2 * WAD // 100)
    v = p.vault
    p.fund("USDC", lp, 10**12)
    v.deposit(lp, 0, p["USDC"].token, 10**12, {"from": lp})
    p.fund("WETH", alice, 10 * WAD)
    v.deposit(alice, 0, p["WETH"].token, 10 * WAD, {"from": alice})
    v.borrow(0, p["USDC"].token, 15_000 * 10**6, alice, {"from": alice})
    return p


def owner_value(p, who, subs=(0, 1)) -> int:
    """Net USD value (WAD) of `who`'s sub-accounts plus its wallet, at current prices."""
    total = 0
    for sym in ("WETH", "USDC"):
        m = p[sym]
        price = p.router.price(m.token)
        amount = m.token.balanceOf(who) + sum(p.vault.balanceOf(who, s, m.token) for s in subs)
        total += amount * price // 10 ** m.decimals
    return total


def test_transfer_leaving_the_indebted_sub_account_unhealthy_reverts(setup, alice):
    p = setup
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        p.vault.transfer(0, 1, p["WETH"].token, 2 * WAD, {"from": alice})


def test_withdraw_leaving_the_indebted_sub_account_unhealthy_reverts(setup, alice):
    p = setup
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        p.vault.withdraw(0, p["WETH"].token, 2 * WAD, alice, {"from": alice})


def test_transfer_within_the_healthy_margin_succeeds_and_keeps_health_init_non_negative(setup, alice):
    p = setup
    p.vault.transfer(0, 1, p["WETH"].token, WAD // 2, {"from": alice})  # 9.5 × 2000 × 0.8 = 15,200
    assert p.vault.accountState(alice, 0)[2] >= 0


def test_liquidating_your_own_sub_account_with_itself_reverts(setup, alice):
    p = setup
    p.set_price("WETH", 1500)
    p.fund("USDC", alice, 10**10)
    with brownie.reverts(revert_pattern=err("SelfLiquidation")):
        p.vault.liquidate(alice, 0, p["USDC"].token, p["WETH"].token, MAX, 0, {"from": alice})


def test_sibling_sub_account_liquidation_gains_the_owner_no_more_than_the_bonus(setup, alice, lp):
    p = setup
    v, usdc, weth = p.vault, p["USDC"].token, p["WETH"].token
    p.fund("USDC", alice, 20_000 * 10**6)
    p.set_price("WETH", 1700)  # 10 WETH × 0.85 × 1700 = 14,450 < 15,000: liquidatable, healthFactor 0.963
    before = owner_value(p, alice)
    tx = v.liquidate(alice, 0, usdc, weth, MAX, 1, {"from": alice})
    repaid, seized = tx.return_value
    ev = tx.events["Liquidated"]
    after = owner_value(p, alice)
    bonus = WAD * 5 // 100
    repaid_value = pm.value_up(repaid, p.router.price(usdc), 6)
    # The owner only pays the protocol cut; its gain is at most bonus × repaid value, and here a loss.
    assert after - before <= pm.w_mul_up(repaid_value, bonus)
    assert after <= before
    assert ev["protocolCut"] > 0
    check_books(p, [lp, alice, alice], [0, 0, 1])


def test_sibling_liquidation_of_a_drained_sub_account_cannot_create_profit_from_bad_debt(setup, alice, lp):
    """Euler's second half: after a gap crash A's debt exceeds its collateral; B liquidates everything and
    the bad debt is socialised. The owner's combined value must not rise."""
    p = setup
    v, usdc, weth = p.vault, p["USDC"].token, p["WETH"].token
    p.fund("USDC", alice, 20_000 * 10**6)
    p.set_price("WETH", 1000)  # collateral $10,000 against $15,000 debt: insolvent
    before = owner_value(p, alice)
    repaid_value = written_off = 0
    while v.balanceOf(alice, 0, weth) > 0:
        tx = v.liquidate(alice, 0, usdc, weth, MAX, 1, {"from": alice})
        repaid_value += pm.value_up(tx.events["Liquidated"]["repaid"], p.router.price(usdc), 6)
        if "BadDebtSettled" in tx.events:
            written_off += pm.value_up(tx.events["BadDebtSettled"]["debt"], p.router.price(usdc), 6)
    after = owner_value(p, alice)
    assert v.balanceOf(alice, 0, usdc) == 0  # settled in the same liquidation (I13)
    assert written_off > 0
    # Walking away from A would already have "gained" the written-off debt (the lenders' loss, I14).
    # Liquidating A from B may add no more than the bonus on the debt B actually repaid (I12).
    bonus = WAD * 5 // 100
    assert after - before - written_off <= pm.w_mul_up(repaid_value, bonus)
    check_books(p, [lp, alice, alice], [0, 0, 1])
