"""Vault.deposit: the owner or its operator pays into any market of a sub-account, anyone else only into a market it
already holds (I25, tests/unit/test_deposit_griefing.py); a debt in the token is repaid first; no price needed."""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import MAX, err, market_books, open_position, set_params


def test_deposit_credits_scale_rounded_down_and_emits_the_amount(proto, vault, weth, alice):
    amount = 1_234_567_890_123_456_789
    idx = market_books(proto, "WETH")["depositIndex"]
    before = market_books(proto, "WETH")["totalDepositScale"]
    tx = vault.deposit(alice, 3, weth, amount, {"from": alice})
    expected_scale = pm.to_scale_down(amount, idx)
    assert idx != pm.WAD  # the fixture's year of interest makes rounding visible
    assert vault.scaledBalanceOf(alice, 3, weth) == expected_scale
    assert vault.balanceOf(alice, 3, weth) == pm.deposit_amount_down(expected_scale, idx) <= amount
    assert market_books(proto, "WETH")["totalDepositScale"] == before + expected_scale
    assert tx.return_value == amount
    ev = tx.events["Deposit"]
    assert (ev["caller"], ev["owner"], ev["subId"], ev["token"]) == (alice, alice, 3, weth)
    assert (ev["amount"], ev["debtRepaid"], ev["scaledBalance"]) == (amount, 0, expected_scale)


def test_deposit_pulls_exactly_the_amount_from_the_caller(vault, usdc, alice):
    before_user, before_vault = usdc.balanceOf(alice), usdc.balanceOf(vault)
    vault.deposit(alice, 0, usdc, 5_000_000, {"from": alice})
    assert usdc.balanceOf(alice) == before_user - 5_000_000
    assert usdc.balanceOf(vault) == before_vault + 5_000_000


def test_deposit_for_another_account_raises_only_that_accounts_balance(vault, wbtc, alice, bob):
    vault.deposit(bob, 7, wbtc, 100, {"from": bob})  # bob's sub-account holds WBTC: anyone may add to it
    vault.deposit(bob, 7, wbtc, 10**8, {"from": alice})
    assert vault.balanceOf(bob, 7, wbtc) > 0
    assert vault.scaledBalanceOf(alice, 7, wbtc) == 0
    assert vault.scaledBalanceOf(bob, 0, wbtc) == 0


def test_deposit_into_a_debt_repays_it_first_and_deposits_the_rest(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    debt = -vault.balanceOf(alice, 0, usdc)
    idx = market_books(proto, "USDC")["depositIndex"]
    tx = vault.deposit(alice, 0, usdc, debt + 250_000_000, {"from": alice})
    assert tx.events["Deposit"]["debtRepaid"] == debt
    assert vault.scaledBalanceOf(alice, 0, usdc) == pm.to_scale_down(250_000_000, idx)


def test_deposit_smaller_than_the_debt_only_reduces_it(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    scaled = vault.scaledBalanceOf(alice, 0, usdc)
    bidx = market_books(proto, "USDC")["borrowIndex"]
    vault.deposit(alice, 0, usdc, 400_000_000, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, usdc) == scaled + pm.to_scale_down(400_000_000, bidx)


def test_deposit_reverts_on_zero_amount(vault, weth, alice):
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.deposit(alice, 0, weth, 0, {"from": alice})


def test_deposit_reverts_when_it_would_buy_no_scale(vault, weth, alice):
    # The deposit index is above 1, so 1 wei is worth less than one unit of scale: a silent donation.
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.deposit(alice, 0, weth, 1, {"from": alice})


def test_deposit_reverts_for_the_zero_owner(vault, weth, alice):
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        vault.deposit(brownie.ZERO_ADDRESS, 0, weth, 10**18, {"from": alice})


def test_deposit_reverts_for_an_unlisted_token(gov, vault, alice):
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.deposit(alice, 0, stray, 10**18, {"from": alice})


def test_deposit_reverts_above_the_supply_cap(proto, vault, wbtc, alice):
    total = market_books(proto, "WBTC")["totalDeposits"]
    set_params(proto, "WBTC", supplyCap=total + 10**8)
    vault.deposit(alice, 0, wbtc, 10**8 - 2, {"from": alice})  # rounding leaves the total a wei or two under
    with brownie.reverts(revert_pattern=err("SupplyCapExceeded")):
        vault.deposit(alice, 0, wbtc, 10**8, {"from": alice})


def test_deposit_that_only_repays_debt_ignores_the_supply_cap(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    set_params(proto, "USDC", supplyCap=1)
    vault.deposit(alice, 0, usdc, 500_000_000, {"from": alice})
    assert vault.balanceOf(alice, 0, usdc) < 0


@pytest.mark.parametrize("answer", [0, -1])
def test_deposit_works_with_a_non_positive_oracle_answer(proto, vault, weth, alice, answer):
    proto["WETH"].feed.setAnswer(answer, {"from": proto.gov})
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, weth) > 0


def test_deposit_works_with_a_stale_oracle(proto, vault, weth, alice):
    proto["WETH"].feed.setRoundData(5, 2000 * 10**8, 1, 1, 5, {"from": proto.gov})
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, weth) > 0


def test_deposit_into_a_debt_reverts_when_it_would_burn_no_debt_scale(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    scaled = vault.scaledBalanceOf(alice, 0, usdc)
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.deposit(alice, 0, usdc, 1, {"from": alice})  # below one scale unit of debt: repays nothing
    assert vault.scaledBalanceOf(alice, 0, usdc) == scaled
