"""Guardian pause flags: borrow, withdraw (and sub-account transfers), liquidate. Deposit and repay never pause."""
import brownie
import pytest

from unitkit import MAX, err, open_position


def test_the_guardian_sets_each_flag_and_the_event_says_which(vault, guardian):
    vault.setPaused(True, False, False, {"from": guardian})
    tx = vault.setPaused(True, False, True, {"from": guardian})  # one more flag per call
    assert (vault.borrowPaused(), vault.withdrawPaused(), vault.liquidatePaused()) == (True, False, True)
    ev = tx.events["PauseSet"]
    assert (ev["caller"], ev["borrowPaused"], ev["withdrawPaused"], ev["liquidatePaused"]) == (guardian, True, False, True)


def test_the_governor_may_pause_too(vault, gov):
    vault.setPaused(False, True, False, {"from": gov})
    assert vault.withdrawPaused()


def test_anyone_else_cannot_pause(vault, rando):
    with brownie.reverts(revert_pattern=err("NotGuardian")):
        vault.setPaused(True, True, True, {"from": rando})


def test_a_full_pause_still_lets_users_deposit_and_repay(proto, vault, weth, usdc, alice, gov):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    vault.setPaused(True, True, True, {"from": gov})
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    vault.repay(alice, 0, usdc, MAX, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, usdc) == 0


def test_a_withdraw_pause_blocks_sub_account_transfers(proto, vault, weth, alice, guardian):
    open_position(proto, alice, 0, {"WETH": 1})
    vault.setPaused(False, True, False, {"from": guardian})
    with brownie.reverts(revert_pattern=err("WithdrawPaused")):
        vault.transfer(0, 1, weth, 10**17, {"from": alice})


def test_unpausing_restores_borrowing(proto, vault, usdc, alice, guardian, gov):
    open_position(proto, alice, 0, {"WETH": 1})
    vault.setPaused(True, False, False, {"from": guardian})
    with brownie.reverts(revert_pattern=err("BorrowPaused")):
        vault.borrow(0, usdc, 10**6, alice, {"from": alice})
    vault.setPaused(False, False, False, {"from": gov})
    vault.borrow(0, usdc, 10**6, alice, {"from": alice})
