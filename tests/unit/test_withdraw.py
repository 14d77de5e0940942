"""Vault.withdraw / withdrawFrom: take a deposit out; never opens debt; health_init >= 0 if the account owes."""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import MAX, err, market_books, model_health, open_position, set_params


def test_withdraw_removes_scale_rounded_up_and_sends_the_amount(proto, vault, weth, alice, bob):
    vault.deposit(alice, 0, weth, 5 * 10**18, {"from": alice})
    scaled = vault.scaledBalanceOf(alice, 0, weth)
    idx = market_books(proto, "WETH")["depositIndex"]
    before = weth.balanceOf(bob)
    amount = 1_111_111_111_111_111_111
    tx = vault.withdraw(0, weth, amount, bob, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, weth) == scaled - pm.to_scale_up(amount, idx)
    assert weth.balanceOf(bob) == before + amount
    assert tx.return_value == amount
    ev = tx.events["Withdraw"]
    assert (ev["owner"], ev["subId"], ev["amount"], ev["receiver"]) == (alice, 0, amount, bob)
    assert ev["scaledBalance"] == vault.scaledBalanceOf(alice, 0, weth)


def test_withdraw_max_takes_the_whole_deposit_and_clears_the_balance(proto, vault, wbtc, alice):
    vault.deposit(alice, 2, wbtc, 123_456_789, {"from": alice})
    held = vault.balanceOf(alice, 2, wbtc)
    total_scale = market_books(proto, "WBTC")["totalDepositScale"]
    scaled = vault.scaledBalanceOf(alice, 2, wbtc)
    before = wbtc.balanceOf(alice)
    tx = vault.withdraw(2, wbtc, MAX, alice, {"from": alice})
    assert tx.return_value == held <= 123_456_789  # rounding never pays out more than went in (I16)
    assert wbtc.balanceOf(alice) == before + held
    assert vault.scaledBalanceOf(alice, 2, wbtc) == 0
    assert market_books(proto, "WBTC")["totalDepositScale"] == total_scale - scaled
    assert vault.accountState(alice, 2)["tokens"] == []


def test_withdraw_keeps_an_indebted_account_healthy_up_to_the_limit(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 10_000})
    # health_init = 10 × 2000 × 0.8 − 10000 = 6000 $ of slack: 3.75 WETH at 0.8 × 2000.
    vault.withdraw(0, weth, 3 * 10**18, alice, {"from": alice})
    assert model_health(proto, alice).health_init >= 0
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        vault.withdraw(0, weth, 10**18, alice, {"from": alice})


def test_withdraw_reverts_when_asking_more_than_the_deposit(vault, weth, alice):
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    with brownie.reverts(revert_pattern=err("InsufficientDeposit")):
        vault.withdraw(0, weth, 10**18 + 1, alice, {"from": alice})


def test_withdraw_reverts_from_a_debt_balance_instead_of_opening_more_debt(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 100})
    with brownie.reverts(revert_pattern=err("InsufficientDeposit")):
        vault.withdraw(0, usdc, 1, alice, {"from": alice})


def test_withdraw_reverts_on_zero_amount_and_on_max_of_nothing(vault, weth, alice):
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.withdraw(0, weth, 0, alice, {"from": alice})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.withdraw(0, weth, MAX, alice, {"from": alice})


def test_withdraw_reverts_to_the_zero_receiver(vault, weth, alice):
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        vault.withdraw(0, weth, 10**18 // 2, brownie.ZERO_ADDRESS, {"from": alice})


def test_withdraw_reverts_when_the_pool_lacks_liquidity(proto, vault, wbtc, alice, bob):
    vault.deposit(alice, 0, wbtc, 10 * 10**8, {"from": alice})
    books = market_books(proto, "WBTC")
    free = books["totalDeposits"] - books["totalBorrows"]
    # bob borrows everything but 1 WBTC against plenty of USDC
    open_position(proto, bob, 0, {"USDC": 10_000_000})
    vault.borrow(0, wbtc, free - 10**8, bob, {"from": bob})
    with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
        vault.withdraw(0, wbtc, 2 * 10**8, alice, {"from": alice})
    vault.withdraw(0, wbtc, 10**8 // 2, alice, {"from": alice})


def test_withdraw_reverts_for_an_unlisted_token(gov, vault, alice):
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.withdraw(0, stray, 1, alice, {"from": alice})


@pytest.mark.parametrize("round_data", [(9, 0, 1, 1, 9), (9, 2000 * 10**8, 1, 1, 9), (9, 2000 * 10**8, 1, 0, 9)])
def test_withdraw_all_without_debt_works_with_a_broken_oracle(proto, vault, weth, alice, round_data):
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    proto["WETH"].feed.setRoundData(*round_data, {"from": proto.gov})  # zero, stale, incomplete
    vault.withdraw(0, weth, MAX, alice, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, weth) == 0


def test_withdraw_with_debt_reverts_with_the_oracles_error_when_the_feed_is_stale(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 100})
    proto["USDC"].feed.setRoundData(9, 10**18, 1, 1, 9, {"from": proto.gov})
    with brownie.reverts(revert_pattern=err("StalePrice")):
        vault.withdraw(0, weth, 10**18, alice, {"from": alice})


def test_withdraw_from_by_an_approved_operator_acts_for_the_owner(vault, weth, alice, bob):
    vault.deposit(alice, 4, weth, 10**18, {"from": alice})
    vault.setOperator(bob, True, {"from": alice})
    before = weth.balanceOf(bob)
    tx = vault.withdrawFrom(alice, 4, weth, 10**17, bob, {"from": bob})
    assert weth.balanceOf(bob) == before + 10**17
    assert tx.events["Withdraw"]["caller"] == bob and tx.events["Withdraw"]["owner"] == alice


def test_withdraw_from_reverts_for_a_caller_that_is_not_an_operator(vault, weth, alice, bob, rando):
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
        vault.withdrawFrom(alice, 0, weth, 1, rando, {"from": rando})
    vault.setOperator(bob, True, {"from": alice})
    vault.setOperator(bob, False, {"from": alice})
    with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
        vault.withdrawFrom(alice, 0, weth, 1, bob, {"from": bob})


def test_withdraw_reverts_while_withdrawals_are_paused(vault, weth, alice, guardian):
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    vault.setPaused(False, True, False, {"from": guardian})
    with brownie.reverts(revert_pattern=err("WithdrawPaused")):
        vault.withdraw(0, weth, 1, alice, {"from": alice})
