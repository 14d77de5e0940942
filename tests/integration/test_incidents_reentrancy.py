"""Re-entrancy through a token's transfer hook: Cream AMP (Aug 2021), Agave and Hundred (Mar 2022), Rari/Fei
(Apr 2022).

A HookToken (ERC777/677-style) calls the attacker contract in the middle of a vault call: on the receive
side of `borrow`/`withdraw` (the AMP/Agave/Hundred pattern: re-enter `borrow` or `liquidate` while the
first borrow's debt is not yet checked) and on the send side of `deposit`/`repay`/`liquidate` (the vault
pulls before crediting, since it credits the balance delta — a re-entrant deposit would count one transfer
twice). Rari/Fei is the cross-function case: the payout of a borrow calls back and withdraws the collateral.

Every re-entry must revert with OpenZeppelin's `ReentrancyGuardReentrantCall` (the attacker records what
its re-entry returned), the lock must be free afterwards, and the books (I1–I3, I5) and the attacker's
health (I6) must hold. With `bubble` the re-entry's revert aborts the outer call, proving nothing half-done
survives.
"""
from __future__ import annotations

import brownie
import pytest
from web3 import Web3

from chainkit import WAD, build, check_books, deploy_protocol, err, sim_token

MAX = 2**256 - 1
REENTRANT = Web3.keccak(text="ReentrancyGuardReentrantCall()")[:4]


@pytest.fixture(scope="module")
def setup(module_isolation, gov, guardian, lp, liquidator):
    """HOOK ($1, hook token) and COLL ($1, plain) markets with lp liquidity in both, and an attacker contract
    holding 1,000 COLL of collateral and registered for HOOK callbacks.

    Requests module_isolation first: it resets the chain, so it must run before this deploy, not after.
    """
    p = deploy_protocol(gov, guardian)
    hook = build().HookToken.deploy("Hook", "HOOK", 18, {"from": gov})
    p.add_market("HOOK", hook, 1)
    p.add_market("COLL", sim_token(gov, "COLL", 18), 1)
    v, coll = p.vault, p["COLL"].token
    for sym, tok in (("HOOK", hook), ("COLL", coll)):
        p.fund(sym, lp, 100_000 * WAD)
        v.deposit(lp, 0, tok, 100_000 * WAD, {"from": lp})
    attacker = build().ReentrantAttacker.deploy(v, {"from": gov})
    attacker.register(hook, {"from": gov})
    for tok in (hook, coll):
        tok.mint(attacker, 10_000 * WAD, {"from": gov})
        attacker.approve(tok, v, MAX, {"from": gov})
    attacker.execute(v, v.deposit.encode_input(attacker, 0, coll, 1_000 * WAD), {"from": gov})
    return p, hook, coll, attacker


def books(p, attacker, lp, liquidator):
    return check_books(p, [lp, attacker, attacker, liquidator], [0, 0, 1, 0])


def assert_reentry_blocked(attacker):
    assert attacker.reentryAttempts() == 1
    assert attacker.lockHeldDuringHook()
    assert not attacker.lastReentrySucceeded()
    assert bytes(attacker.lastReentryRevertData()) == REENTRANT


def test_borrow_reentering_borrow_from_the_receive_hook_reverts(setup, gov, lp, liquidator):
    """Cream AMP: the borrowed token's hook borrows again before the first borrow is checked."""
    p, hook, coll, attacker = setup
    v = p.vault
    attacker.arm(v.borrow.encode_input(0, coll, 700 * WAD, attacker), False, {"from": gov})
    attacker.execute(v, v.borrow.encode_input(0, hook, 700 * WAD, attacker), {"from": gov})
    assert_reentry_blocked(attacker)
    assert v.balanceOf(attacker, 0, coll) == 1_000 * WAD  # the second borrow never happened
    assert v.balanceOf(attacker, 0, hook) == -700 * WAD
    assert v.accountState(attacker, 0)[2] >= 0  # I6
    books(p, attacker, lp, liquidator)


def test_borrow_reentry_revert_bubbling_up_undoes_the_outer_borrow(setup, gov, lp, liquidator):
    p, hook, coll, attacker = setup
    v = p.vault
    attacker.arm(v.borrow.encode_input(0, coll, 700 * WAD, attacker), True, {"from": gov})
    with brownie.reverts(revert_pattern=err("ReentrancyGuardReentrantCall")):
        attacker.execute(v, v.borrow.encode_input(0, hook, 700 * WAD, attacker), {"from": gov})
    assert v.balanceOf(attacker, 0, hook) == 0
    books(p, attacker, lp, liquidator)


def test_borrow_payout_callback_withdrawing_the_collateral_reverts(setup, gov, lp, liquidator):
    """Rari/Fei: cross-function re-entry — the payout's callback pulls the collateral out."""
    p, hook, coll, attacker = setup
    v = p.vault
    attacker.arm(v.withdraw.encode_input(0, coll, MAX, attacker), False, {"from": gov})
    attacker.execute(v, v.borrow.encode_input(0, hook, 700 * WAD, attacker), {"from": gov})
    assert_reentry_blocked(attacker)
    assert v.balanceOf(attacker, 0, coll) == 1_000 * WAD
    books(p, attacker, lp, liquidator)


def test_borrow_payout_callback_moving_collateral_to_another_sub_account_reverts(setup, gov, lp, liquidator):
    p, hook, coll, attacker = setup
    v = p.vault
    attacker.arm(v.transfer.encode_input(0, 1, coll, MAX), False, {"from": gov})
    attacker.execute(v, v.borrow.encode_input(0, hook, 700 * WAD, attacker), {"from": gov})
    assert_reentry_blocked(attacker)
    assert v.balanceOf(attacker, 1, coll) == 0
    books(p, attacker, lp, liquidator)


def test_deposit_send_hook_reentering_deposit_cannot_count_one_transfer_twice(setup, gov, lp, liquidator):
    """The vault credits its balance delta; a nested deposit inside the pull would be counted by both."""
    p, hook, coll, attacker = setup
    v = p.vault
    attacker.arm(v.deposit.encode_input(attacker, 1, hook, 100 * WAD), False, {"from": gov})
    attacker.execute(v, v.deposit.encode_input(attacker, 0, hook, 100 * WAD), {"from": gov})
    assert_reentry_blocked(attacker)
    assert v.balanceOf(attacker, 0, hook) == 100 * WAD
    assert v.balanceOf(attacker, 1, hook) == 0
    books(p, attacker, lp, liquidator)


def test_withdraw_receive_hook_reentering_borrow_reverts(setup, gov, lp, liquidator):
    p, hook, coll, attacker = setup
    v = p.vault
    attacker.execute(v, v.deposit.encode_input(attacker, 0, hook, 500 * WAD), {"from": gov})
    attacker.arm(v.borrow.encode_input(0, coll, 1_000 * WAD, attacker), False, {"from": gov})
    attacker.execute(v, v.withdraw.encode_input(0, hook, 500 * WAD, attacker), {"from": gov})
    assert_reentry_blocked(attacker)
    assert v.balanceOf(attacker, 0, coll) == 1_000 * WAD
    books(p, attacker, lp, liquidator)


def test_repay_send_hook_reentering_withdraw_reverts(setup, gov, lp, liquidator):
    p, hook, coll, attacker = setup
    v = p.vault
    attacker.execute(v, v.borrow.encode_input(0, hook, 500 * WAD, attacker), {"from": gov})
    attacker.arm(v.withdraw.encode_input(0, coll, MAX, attacker), False, {"from": gov})
    attacker.execute(v, v.repay.encode_input(attacker, 0, hook, MAX), {"from": gov})
    assert_reentry_blocked(attacker)
    assert v.balanceOf(attacker, 0, hook) == 0
    assert v.balanceOf(attacker, 0, coll) == 1_000 * WAD
    books(p, attacker, lp, liquidator)


def test_liquidation_send_hook_reentering_liquidate_reverts(setup, gov, lp, alice, liquidator):
    """Agave/Hundred: the liquidator's own hook re-enters liquidate while the first one is half done."""
    p, hook, coll, attacker = setup
    v = p.vault
    p.fund("COLL", alice, 1_000 * WAD)
    v.deposit(alice, 0, coll, 1_000 * WAD, {"from": alice})
    v.borrow(0, hook, 790 * WAD, alice, {"from": alice})
    p.set_price("COLL", "0.5")
    attacker.arm(v.liquidate.encode_input(alice, 0, hook, coll, MAX, 1), False, {"from": gov})
    attacker.execute(v, v.liquidate.encode_input(alice, 0, hook, coll, 100 * WAD, 1), {"from": gov})
    assert_reentry_blocked(attacker)
    ev_balance = v.balanceOf(attacker, 1, coll)
    assert ev_balance > 0  # the outer liquidation went through, once
    check_books(p, [lp, attacker, attacker, alice], [0, 0, 1, 0])


def test_liquidation_send_hook_reading_preview_liquidation_reverts(setup, gov, lp, alice, liquidator):
    """Read-only re-entrancy: mid-liquidation the books are half-written (debt token pulled, balances not yet
    moved), so previewLiquidation refuses to quote them rather than return a quote of a state about to change."""
    p, hook, coll, attacker = setup
    v = p.vault
    p.fund("COLL", alice, 1_000 * WAD)
    v.deposit(alice, 0, coll, 1_000 * WAD, {"from": alice})
    v.borrow(0, hook, 790 * WAD, alice, {"from": alice})
    p.set_price("COLL", "0.5")
    attacker.arm(v.previewLiquidation.encode_input(alice, 0, hook, coll, MAX), False, {"from": gov})
    attacker.execute(v, v.liquidate.encode_input(alice, 0, hook, coll, 100 * WAD, 1), {"from": gov})
    assert_reentry_blocked(attacker)
    assert v.previewLiquidation(alice, 0, hook, coll, MAX)["repaid"] > 0  # outside a vault call it quotes
    check_books(p, [lp, attacker, attacker, alice], [0, 0, 1, 0])
