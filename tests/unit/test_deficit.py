"""I24, a recorded deficit: a loss the depositors cannot bear (the deposit index at its floor, or nobody left) is
recorded per market, Aave 3.3-style, and only ever lowered by reserves or repayment; the floor keeps a wiped-out
market usable (the next deposit neither overflows the books nor is diluted). Also the listing bounds: caps the books
cannot hold at a token's decimals, and a rate model without code, are refused."""
import brownie
import pytest

import chainkit
from marginlab.model import vault as pm
from unitkit import MAX, WAD, err, market_books, open_position, set_params

FLOOR = pm.MIN_DEPOSIT_INDEX
MAX_BOOK_AMOUNT = (2**128 - 1) * FLOOR // WAD


@pytest.fixture
def new(proto, gov, lp, alice, bob, rando, liquidator):
    """NEW (18 decimals, $1, no interest): lp lends 100 NEW, alice borrows all of it against 1 WETH."""
    token = chainkit.sim_token(gov, "NEW", 18)
    proto.add_market("NEW", token, 1)
    set_params(proto, "NEW", irm=proto.zero_irm)
    for who in (lp, bob, rando, liquidator):
        proto.fund("NEW", who, 10**30)
    proto.vault.deposit(lp, 0, token, 100 * 10**18, {"from": lp})
    open_position(proto, alice, 0, {"WETH": 1}, {"NEW": 100})
    yield token
    del proto.markets["NEW"]


@pytest.fixture
def wiped(proto, vault, new, alice, weth, liquidator):
    """NEW jumps to $1e9: the liquidation takes alice's WETH for ~2e-6 NEW and the rest of her 100 NEW of debt
    exceeds what the 100 NEW of deposits can bear above the floor."""
    books = market_books(proto, "NEW")
    proto.set_price("NEW", 10**9)
    tx = vault.liquidate(alice, 0, new, weth, MAX, 0, {"from": liquidator})
    return books, tx


def test_a_loss_beyond_the_floor_is_recorded_as_a_deficit(proto, vault, new, wiped):
    books, tx = wiped
    settled, recorded = tx.events["BadDebtSettled"], tx.events["DeficitRecorded"]
    loss = settled["debt"] - settled["coveredByReserves"]
    index, borne = pm.socialise_floored(books["depositIndex"], books["totalDepositScale"], loss)
    assert index == FLOOR == settled["newDepositIndex"] == market_books(proto, "NEW")["depositIndex"]
    assert settled["socialised"] == borne < loss
    assert recorded["token"] == new and recorded["amount"] == recorded["deficit"] == loss - borne > 0
    assert vault.deficit(new) == loss - borne
    # without the floor the index would have fallen below it, towards 1 (where 341 NEW overflow the 128-bit books)
    assert pm.socialise(books["depositIndex"], books["totalDepositScale"], loss) < FLOOR


def test_a_wiped_out_market_takes_new_deposits_undiluted(proto, vault, new, bob, wiped):
    amount = 10**6 * 10**18  # a million NEW: 1e30 scale at the floor, within 128 bits
    vault.deposit(bob, 0, new, amount, {"from": bob})
    assert vault.balanceOf(bob, 0, new) == amount
    before = new.balanceOf(bob)
    vault.withdraw(0, new, MAX, bob, {"from": bob})
    assert new.balanceOf(bob) == before + amount


def test_anyone_covers_the_deficit_with_tokens_at_most_what_is_owed(proto, vault, new, rando, wiped):
    owed = vault.deficit(new)
    with brownie.reverts(revert_pattern=err("AmountAboveDeficit")):
        vault.coverDeficit(new, owed + 1, False, {"from": rando})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.coverDeficit(new, 0, False, {"from": rando})
    cash = new.balanceOf(vault)
    tx = vault.coverDeficit(new, owed - 5, False, {"from": rando})
    ev = tx.events["DeficitCovered"]
    assert (ev["payer"], ev["token"], ev["amount"], ev["fromReserves"], ev["deficit"]) == (rando, new, owed - 5, False, 5)
    assert vault.deficit(new) == 5 and new.balanceOf(vault) == cash + owed - 5
    vault.coverDeficit(new, 5, False, {"from": rando})
    assert vault.deficit(new) == 0


def test_only_the_governor_covers_the_deficit_from_reserves_and_only_what_they_hold(proto, vault, gov, new, bob,
                                                                                  carol, rando, wiped):
    owed = vault.deficit(new)
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        vault.coverDeficit(new, 1, True, {"from": rando})
    assert market_books(proto, "NEW")["reserves"] == 0
    with brownie.reverts(revert_pattern=err("InsufficientReserves")):
        vault.coverDeficit(new, 1, True, {"from": gov})
    # Interest builds reserves: bob lends, carol borrows for a year at the kinked model.
    proto.set_price("NEW", 1)
    set_params(proto, "NEW", irm=proto.irm)
    vault.deposit(bob, 0, new, 1_000 * 10**18, {"from": bob})
    open_position(proto, carol, 3, {"WETH": 10}, {"NEW": 500})
    brownie.chain.sleep(365 * 86400)
    vault.accrue(new, {"from": rando})
    reserves = market_books(proto, "NEW")["reserves"]
    assert 0 < reserves
    amount = min(reserves, owed)
    tx = vault.coverDeficit(new, amount, True, {"from": gov})
    ev = tx.events["DeficitCovered"]
    assert (ev["amount"], ev["fromReserves"], ev["deficit"]) == (amount, True, owed - amount)
    assert vault.deficit(new) == owed - amount
    assert market_books(proto, "NEW")["reserves"] == reserves - amount


def test_the_deficit_only_grows_with_bad_debt(proto, vault, new, bob, rando, wiped):
    owed = vault.deficit(new)
    vault.deposit(bob, 0, new, 10**18, {"from": bob})
    vault.withdraw(0, new, MAX, bob, {"from": bob})
    vault.accrue(new, {"from": rando})
    assert vault.deficit(new) == owed



def test_the_last_deposits_a_deficit_leaves_unbacked_revert_insufficient_liquidity_until_covered(proto, vault, new, lp,
                                                                                                 rando, wiped):
    """lp's claim at the floor (~1e-4 NEW) exceeds the NEW left in the vault by the deficit (reserves 0): before,
    withdrawing it passed `borrows <= deposits` and failed in the token (ERC20InsufficientBalance)."""
    owed, held = vault.deficit(new), vault.balanceOf(lp, 0, new)
    assert market_books(proto, "NEW")["reserves"] == 0 < owed <= held
    assert new.balanceOf(vault) < held
    with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
        vault.withdraw(0, new, MAX, lp, {"from": lp})
    # the view agrees: only what the deficit leaves backed is withdrawable, and that much is
    most = vault.maxWithdraw(lp, 0, new)
    assert most == held - owed <= new.balanceOf(vault)
    with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
        vault.withdraw(0, new, most + 1, lp, {"from": lp})
    vault.coverDeficit(new, owed, False, {"from": rando})
    assert vault.maxWithdraw(lp, 0, new) == held
    before = new.balanceOf(lp)
    vault.withdraw(0, new, MAX, lp, {"from": lp})
    assert new.balanceOf(lp) == before + held and vault.balanceOf(lp, 0, new) == 0


def test_borrowing_every_deposited_unit_of_a_market_with_a_deficit_reverts_insufficient_liquidity_until_covered(
        proto, vault, new, bob, carol, rando, wiped):
    proto.set_price("NEW", 1)
    vault.deposit(bob, 0, new, 10**18, {"from": bob})
    open_position(proto, carol, 3, {"WETH": 10})
    owed, deposits = vault.deficit(new), market_books(proto, "NEW")
    everything = pm.deposit_amount_down(deposits["totalDepositScale"], deposits["depositIndex"])
    assert new.balanceOf(vault) < everything  # the deficit is deposits no token backs
    with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
        vault.borrow(3, new, everything, carol, {"from": carol})
    assert vault.maxBorrow(carol, 3, new) == everything - owed
    vault.coverDeficit(new, owed, False, {"from": rando})
    assert vault.maxBorrow(carol, 3, new) == everything
    before = new.balanceOf(carol)
    vault.borrow(3, new, everything, carol, {"from": carol})
    assert new.balanceOf(carol) == before + everything



def test_the_governor_takes_no_reserves_lent_out_in_a_market_with_a_deficit(proto, vault, gov, new, bob, carol, rando,
                                                                           wiped):
    """carol borrows all the deficit leaves lendable, then a year of interest books reserves that are all lent out:
    before, `borrows <= deposits + reserves left` let the governor take the deficit's worth of them, which the vault
    does not hold (ERC20InsufficientBalance)."""
    owed = vault.deficit(new)
    proto.set_price("NEW", 1)
    set_params(proto, "NEW", irm=proto.irm)
    vault.deposit(bob, 0, new, 1_000 * 10**18, {"from": bob})
    open_position(proto, carol, 3, {"WETH": 10})
    vault.borrow(3, new, vault.maxBorrow(carol, 3, new), carol, {"from": carol})
    brownie.chain.sleep(365 * 86400)
    vault.accrue(new, {"from": rando})
    reserves = market_books(proto, "NEW")["reserves"]
    assert reserves > owed > 0
    with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
        vault.withdrawReserves(new, owed, gov, {"from": gov})
    vault.coverDeficit(new, owed, False, {"from": rando})
    before = new.balanceOf(gov)
    vault.withdrawReserves(new, owed // 2, gov, {"from": gov})
    assert new.balanceOf(gov) == before + owed // 2

# --- listing bounds: the books must hold the caps; the rate model must be a contract ---------------------------

def _listable(proto, gov, decimals):
    token = chainkit.sim_token(gov, "D", decimals)
    feed = chainkit.build().SettableAggregator.deploy(8, 10**8, {"from": gov})
    proto.router.setFeed(token, feed, 3600, {"from": gov})
    return token


@pytest.mark.parametrize("decimals, ok", [(26, True), (27, False), (36, False)])
def test_an_uncapped_listing_needs_books_for_a_million_whole_tokens(proto, vault, gov, decimals, ok):
    token = _listable(proto, gov, decimals)
    if ok:
        vault.listMarket(token, chainkit.params(proto.irm), {"from": gov})
    else:
        with brownie.reverts(revert_pattern=err("CapTooLarge")):
            vault.listMarket(token, chainkit.params(proto.irm), {"from": gov})


def test_a_36_decimal_listing_with_caps_the_books_hold_is_accepted(proto, vault, gov):
    token = _listable(proto, gov, 36)
    with brownie.reverts(revert_pattern=err("CapTooLarge")):
        vault.listMarket(token, chainkit.params(proto.irm, supplyCap=MAX_BOOK_AMOUNT + 1), {"from": gov})
    with brownie.reverts(revert_pattern=err("CapTooLarge")):
        vault.listMarket(token, chainkit.params(proto.irm, supplyCap=MAX_BOOK_AMOUNT, borrowCap=MAX_BOOK_AMOUNT + 1),
                         {"from": gov})
    vault.listMarket(token, chainkit.params(proto.irm, supplyCap=MAX_BOOK_AMOUNT, borrowCap=MAX_BOOK_AMOUNT),
                     {"from": gov})


def test_set_market_params_refuses_a_rate_model_without_code_and_caps_beyond_the_books(proto, vault, gov, weth, rando):
    with brownie.reverts(revert_pattern=err("RateModelNotContract")):
        vault.setMarketParams(weth, chainkit.params(rando), {"from": gov})
    with brownie.reverts(revert_pattern=err("CapTooLarge")):
        vault.setMarketParams(weth, chainkit.params(proto.irm, borrowCap=MAX_BOOK_AMOUNT + 1), {"from": gov})
    vault.setMarketParams(weth, chainkit.params(proto.irm, supplyCap=MAX_BOOK_AMOUNT), {"from": gov})
