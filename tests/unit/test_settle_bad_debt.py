"""Vault.settleBadDebt (and the settlement inside liquidate): reserves absorb first, then depositors, exactly.

A gap crash: a borrower of WBTC against USDC sees WBTC jump 3.3× in one step; its liquidation seizes all the
USDC and the rest of its debt is bad debt, settled in the same call (I13). A second account whose only
remaining collateral is a WBTC deposit scale worth 1 satoshi is left with debt and, once the socialised loss
pushes the WBTC deposit index below 1, a deposit worth nothing: it is settled by `settleBadDebt` (I14).
"""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import MAX, WAD, err, market_books, open_position


@pytest.fixture
def gap_crash(proto, vault, rando, liquidator, wbtc, usdc):
    """Returns (books of WBTC before the crash liquidation, the liquidation tx)."""
    proto.fund("USDC", rando, 100_000 * 10**6)
    open_position(proto, rando, 0, {"USDC": 100_000}, {"WBTC": "1.3"})
    proto.set_price("WBTC", 200_000)
    books = market_books(proto, "WBTC")
    tx = vault.liquidate(rando, 0, wbtc, usdc, MAX, 0, {"from": liquidator})
    return books, tx


def test_a_gap_crash_leaves_bad_debt_that_the_liquidation_settles_reserves_first(proto, vault, wbtc, rando, gap_crash):
    books, tx = gap_crash
    repaid = tx.events["Liquidated"]["repaid"]
    scale_left = pm.to_scale_up(130_000_000, books["borrowIndex"]) - pm.to_scale_down(repaid, books["borrowIndex"])
    debt_left = pm.debt_amount_up(scale_left, books["borrowIndex"])
    ev = tx.events["BadDebtSettled"]
    assert (ev["owner"], ev["subId"], ev["token"], ev["debt"]) == (rando, 0, wbtc, debt_left)
    assert ev["coveredByReserves"] == books["reserves"] > 0
    assert ev["socialised"] == debt_left - books["reserves"]
    # I14: the index falls by exactly the socialised part over the deposit scale, rounded against depositors
    assert ev["newDepositIndex"] == pm.socialise(books["depositIndex"], books["totalDepositScale"], ev["socialised"])
    after = market_books(proto, "WBTC")
    assert after["depositIndex"] == ev["newDepositIndex"] < WAD
    assert after["reserves"] == 0
    assert after["totalBorrowScale"] == books["totalBorrowScale"] - pm.to_scale_up(130_000_000, books["borrowIndex"])
    lost = books["totalDeposits"] - after["totalDeposits"]
    assert ev["socialised"] <= lost <= ev["socialised"] + books["totalDepositScale"] // WAD + 1
    assert vault.accountState(rando, 0)["tokens"] == []


def test_bad_debt_with_no_reserves_is_socialised_whole(proto, vault, wbtc, usdc, rando, liquidator, gov):
    proto.fund("USDC", rando, 100_000 * 10**6)
    open_position(proto, rando, 0, {"USDC": 100_000}, {"WBTC": "1.3"})
    reserves = market_books(proto, "WBTC")["reserves"]
    vault.withdrawReserves(wbtc, reserves, gov, {"from": gov})
    proto.set_price("WBTC", 200_000)
    tx = vault.liquidate(rando, 0, wbtc, usdc, MAX, 0, {"from": liquidator})
    ev = tx.events["BadDebtSettled"]
    assert ev["coveredByReserves"] == 0 and ev["socialised"] == ev["debt"] > 0


def test_settle_bad_debt_clears_worthless_deposit_scale_and_covers_from_reserves(proto, vault, wbtc, usdc, weth, bob, liquidator, rando, gap_crash_after_dust):
    usdc_books = market_books(proto, "USDC")
    wbtc_scale = market_books(proto, "WBTC")["totalDepositScale"]
    debt = -vault.balanceOf(bob, 0, usdc)
    assert vault.balanceOf(bob, 0, wbtc) == 0 < vault.scaledBalanceOf(bob, 0, wbtc)  # worth nothing
    tx = vault.settleBadDebt(bob, 0, {"from": rando})
    ev = tx.events["BadDebtSettled"]
    assert (ev["token"], ev["debt"], ev["coveredByReserves"], ev["socialised"]) == (usdc, debt, debt, 0)
    assert ev["newDepositIndex"] == usdc_books["depositIndex"]
    assert market_books(proto, "USDC")["reserves"] == usdc_books["reserves"] - debt
    assert market_books(proto, "WBTC")["totalDepositScale"] == wbtc_scale - 1
    assert vault.scaledBalanceOf(bob, 0, wbtc) == 0 and vault.scaledBalanceOf(bob, 0, usdc) == 0


@pytest.fixture
def gap_crash_after_dust(proto, vault, bob, liquidator, weth, wbtc, usdc):
    """bob: 1 unit of WBTC scale (worth 1 satoshi) + 0.001 WETH against 1 USDC; WETH crashes, the WETH is
    seized, the debt stays (the satoshi still counts); then the WBTC gap crash pushes the WBTC index below 1."""
    vault.deposit(bob, 0, wbtc, 2, {"from": bob})
    assert vault.scaledBalanceOf(bob, 0, wbtc) == 1
    vault.deposit(bob, 0, weth, 10**15, {"from": bob})
    vault.borrow(0, usdc, 10**6, bob, {"from": bob})
    proto.set_price("WETH", 500)
    tx = vault.liquidate(bob, 0, usdc, weth, MAX, 0, {"from": liquidator})
    assert "BadDebtSettled" not in tx.events and vault.balanceOf(bob, 0, usdc) < 0
    with brownie.reverts(revert_pattern=err("AccountHasCollateral")):
        vault.settleBadDebt(bob, 0, {"from": bob})
    return gap_crash_fixture(proto, vault, liquidator, wbtc, usdc)


def gap_crash_fixture(proto, vault, liquidator, wbtc, usdc):
    from brownie import accounts

    whale = accounts[8]
    proto.fund("USDC", whale, 100_000 * 10**6)
    open_position(proto, whale, 0, {"USDC": 100_000}, {"WBTC": "1.3"})
    proto.set_price("WBTC", 200_000)
    vault.liquidate(whale, 0, wbtc, usdc, MAX, 0, {"from": liquidator})
    assert market_books(proto, "WBTC")["depositIndex"] < WAD


def test_settle_bad_debt_reverts_while_the_account_has_collateral(proto, vault, alice):
    open_position(proto, alice, 0, {"WETH": 1}, {"USDC": 100})
    with brownie.reverts(revert_pattern=err("AccountHasCollateral")):
        vault.settleBadDebt(alice, 0, {"from": alice})


def test_settle_bad_debt_reverts_without_debt(proto, vault, alice):
    with brownie.reverts(revert_pattern=err("AccountHasNoDebt")):
        vault.settleBadDebt(alice, 0, {"from": alice})
    open_position(proto, alice, 0, {"WETH": 1})
    with brownie.reverts(revert_pattern=err("AccountHasNoDebt")):
        vault.settleBadDebt(alice, 0, {"from": alice})
