"""Vault.repay: anyone repays anyone's debt, never more than the debt, with no price needed."""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import MAX, err, market_books, open_position


def test_repay_reduces_the_debt_scale_rounded_down(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    scaled = vault.scaledBalanceOf(alice, 0, usdc)
    bidx = market_books(proto, "USDC")["borrowIndex"]
    tx = vault.repay(alice, 0, usdc, 1_234_567_891, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, usdc) == scaled + pm.to_scale_down(1_234_567_891, bidx)
    assert tx.return_value == 1_234_567_891
    ev = tx.events["Repay"]
    assert (ev["caller"], ev["owner"], ev["amount"]) == (alice, alice, 1_234_567_891)


def test_repay_max_pays_exactly_the_debt_and_pulls_no_more(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    debt = -vault.balanceOf(alice, 0, usdc)
    before = usdc.balanceOf(alice)
    tx = vault.repay(alice, 0, usdc, MAX, {"from": alice})
    assert tx.return_value == debt
    assert usdc.balanceOf(alice) == before - debt
    assert vault.scaledBalanceOf(alice, 0, usdc) == 0
    assert vault.accountState(alice, 0)["debtValue"] == 0


def test_repay_of_more_than_the_debt_pulls_only_the_debt(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    debt = -vault.balanceOf(alice, 0, usdc)
    before = usdc.balanceOf(alice)
    vault.repay(alice, 0, usdc, debt * 3, {"from": alice})
    assert usdc.balanceOf(alice) == before - debt
    assert vault.scaledBalanceOf(alice, 0, usdc) == 0


def test_borrow_then_repay_costs_at_least_what_was_borrowed(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"USDC": 100_000})
    before = weth.balanceOf(alice)
    vault.borrow(0, weth, 10**18 + 7, alice, {"from": alice})
    vault.repay(alice, 0, weth, MAX, {"from": alice})
    assert weth.balanceOf(alice) <= before  # I16: rounding never favours the borrower


def test_anyone_may_repay_someone_elses_debt(proto, vault, usdc, alice, rando):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    proto.fund("USDC", rando, 10**12)
    vault.repay(alice, 0, usdc, MAX, {"from": rando})
    assert vault.scaledBalanceOf(alice, 0, usdc) == 0


def test_repay_reverts_on_zero_amount(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.repay(alice, 0, usdc, 0, {"from": alice})


def test_repay_reverts_without_debt(proto, vault, usdc, alice):
    with brownie.reverts(revert_pattern=err("NoDebt")):
        vault.repay(alice, 0, usdc, 1, {"from": alice})
    open_position(proto, alice, 0, {"USDC": 5})
    with brownie.reverts(revert_pattern=err("NoDebt")):
        vault.repay(alice, 0, usdc, 1, {"from": alice})


def test_repay_reverts_for_an_unlisted_token(gov, vault, alice):
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.repay(alice, 0, stray, 1, {"from": alice})


@pytest.mark.parametrize("round_data", [(9, 0, 1, 1, 9), (9, -5, 1, 1, 9), (9, 10**18, 1, 1, 9), (9, 10**18, 1, 0, 9)])
def test_repay_all_works_with_a_broken_oracle(proto, vault, usdc, alice, round_data):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    proto["USDC"].feed.setRoundData(*round_data, {"from": proto.gov})  # zero, negative, stale, incomplete
    proto["WETH"].feed.setRoundData(*round_data[:1], 0, 1, 1, 9, {"from": proto.gov})
    vault.repay(alice, 0, usdc, MAX, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, usdc) == 0
    vault.withdraw(0, proto["WETH"].token, MAX, alice, {"from": alice})  # I19: no debt left, no price needed


def test_repay_reverts_when_it_would_burn_no_debt_scale(proto, vault, usdc, alice):
    # One unit of USDC is less than one unit of debt scale at a borrow index above 1: it would be reported repaid
    # and repay nothing (issue 15). Nothing is pulled either.
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 5_000})
    bidx = market_books(proto, "USDC")["borrowIndex"]
    assert bidx > 10**18 and pm.to_scale_down(1, bidx) == 0
    before = usdc.balanceOf(alice)
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.repay(alice, 0, usdc, 1, {"from": alice})
    assert usdc.balanceOf(alice) == before
    vault.repay(alice, 0, usdc, 2, {"from": alice})  # two units burn one: accepted
    assert pm.to_scale_down(2, bidx) == 1
