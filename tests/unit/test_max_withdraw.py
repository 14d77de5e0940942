"""Vault.maxWithdraw: the most `withdraw` accepts now, to the unit, whichever check binds.

As in test_max_borrow.py: one unit more reverts with the binding check (health: AccountUnhealthy; the pool:
InsufficientLiquidity; the deposit: InsufficientDeposit) and the answer itself is withdrawn.
"""
import brownie
import pytest

from unitkit import err, market_books, open_position


def check_max_withdraw(vault, token, owner, sub, rando, error):
    most = vault.maxWithdraw(owner, sub, token, {"from": rando})
    assert most > 0
    with brownie.reverts(revert_pattern=err(error)):
        vault.withdraw(sub, token, most + 1, owner, {"from": owner})
    vault.withdraw(sub, token, most, owner, {"from": owner})
    return most


def test_max_withdraw_without_debt_is_the_whole_deposit(proto, vault, weth, alice, rando):
    open_position(proto, alice, 0, {"WETH": 10})
    held = vault.balanceOf(alice, 0, weth)
    assert check_max_withdraw(vault, weth, alice, 0, rando, "InsufficientDeposit") == held
    assert vault.scaledBalanceOf(alice, 0, weth) == 0


@pytest.mark.parametrize("round_data", [(9, 0, 1, 1, 9), (9, 2000 * 10**8, 1, 1, 9)])
def test_max_withdraw_without_debt_needs_no_price(proto, vault, weth, alice, round_data):
    open_position(proto, alice, 0, {"WETH": 10})
    proto["WETH"].feed.setRoundData(*round_data, {"from": proto.gov})  # zero, stale (I19)
    assert vault.maxWithdraw(alice, 0, weth) == vault.balanceOf(alice, 0, weth)


def test_max_withdraw_is_bound_by_initial_health_to_the_unit(proto, vault, weth, usdc, alice, rando):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 8_000})
    most = check_max_withdraw(vault, weth, alice, 0, rando, "AccountUnhealthy")
    # half of it: $8,000 of debt needs 5 WETH x $2,000 x 0.80
    assert abs(most - 5 * 10**18) < 10**13
    assert vault.accountState(alice, 0)["healthInit"] >= 0


def test_max_withdraw_in_cross_margin_with_mixed_decimals(proto, vault, wbtc, alice, rando):
    open_position(proto, alice, 2, {"WBTC": "0.5", "USDC": 3_000}, {"WETH": 5})
    check_max_withdraw(vault, wbtc, alice, 2, rando, "AccountUnhealthy")


def test_max_withdraw_is_bound_by_the_pools_liquidity(proto, vault, weth, alice, lp, rando):
    open_position(proto, alice, 0, {"USDC": 5_000_000}, {"WETH": 1_350})
    books = market_books(proto, "WETH")
    most = check_max_withdraw(vault, weth, lp, 0, rando, "InsufficientLiquidity")
    assert abs(most - (books["totalDeposits"] - books["totalBorrows"])) <= 2


def test_max_withdraw_of_an_unhealthy_account_is_zero_and_of_no_deposit_too(proto, vault, weth, usdc, alice, bob):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)
    assert vault.maxWithdraw(alice, 0, weth) == 0  # I7
    assert vault.maxWithdraw(alice, 0, usdc) == 0  # a debt is no deposit
    assert vault.maxWithdraw(bob, 0, weth) == 0


def test_max_withdraw_is_zero_while_withdrawals_are_paused(proto, vault, weth, alice, guardian, gov):
    open_position(proto, alice, 0, {"WETH": 10})
    vault.setPaused(False, True, False, {"from": guardian})
    assert vault.maxWithdraw(alice, 0, weth) == 0
    vault.setPaused(False, False, False, {"from": gov})
    assert vault.maxWithdraw(alice, 0, weth) > 0


def test_max_withdraw_reverts_for_an_unlisted_market(vault, alice, gov):
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.maxWithdraw(alice, 0, stray)
