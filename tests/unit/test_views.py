"""Views: one sub-account's full state, many at once, market state, the lens books (I1, I5), donations (I17)."""
import brownie
import pytest

from marginlab.model import vault as pm
from unitkit import MAX, WAD, err, market_books, model_health, model_positions, open_position


@pytest.fixture
def mixed(proto, alice):
    """alice: WBTC deposit, WETH and USDC debts (WETH consumed its deposit first): 6/8/18 decimals."""
    open_position(proto, alice, 0, {"WETH": 5, "WBTC": "0.3"}, {"USDC": 9_000})
    open_position(proto, alice, 0, {}, {"WETH": 6})
    return alice


def test_account_state_of_an_empty_account_is_empty_and_needs_no_price(proto, vault, rando):
    proto["WETH"].feed.setAnswer(0, {"from": proto.gov})
    s = vault.accountState(rando, 0)
    assert (s["tokens"], s["balances"], s["healthInit"], s["healthMaint"]) == ([], [], 0, 0)
    assert (s["healthFactor"], s["collateralValue"], s["debtValue"]) == (MAX, 0, 0)


def test_account_state_matches_the_model_for_a_mixed_decimal_account(proto, vault, mixed, weth, wbtc, usdc):
    s = vault.accountState(mixed, 0)
    h = model_health(proto, mixed)
    assert s["tokens"] == [weth, wbtc, usdc]  # listing order
    assert s["balances"] == [p.amount for p in model_positions(proto, mixed, 0)]
    assert s["balances"][0] < 0 and s["balances"][1] > 0 and s["balances"][2] < 0
    assert (s["healthInit"], s["healthMaint"], s["healthFactor"]) == (h.health_init, h.health_maint, h.health_factor)
    assert (s["collateralValue"], s["debtValue"]) == (h.collateral_value, h.debt_value)


def test_account_state_balances_round_deposits_down_and_debts_up(proto, vault, mixed, wbtc, usdc):
    wbtc_books, usdc_books = market_books(proto, "WBTC"), market_books(proto, "USDC")
    assert vault.balanceOf(mixed, 0, wbtc) == pm.deposit_amount_down(vault.scaledBalanceOf(mixed, 0, wbtc), wbtc_books["depositIndex"])
    assert vault.balanceOf(mixed, 0, usdc) == -pm.debt_amount_up(-vault.scaledBalanceOf(mixed, 0, usdc), usdc_books["borrowIndex"])


def test_account_states_batches_many_accounts_in_one_call(proto, vault, mixed, lp, rando, carol):
    owners, subs = [mixed, lp, rando, carol, carol], [0, 0, 0, 8, 9]
    batch = vault.accountStates(owners, subs)
    assert list(batch) == [vault.accountState(o, s) for o, s in zip(owners, subs)]


def test_batched_views_reject_mismatched_lengths(vault, alice):
    with brownie.reverts(revert_pattern=err("LengthMismatch")):
        vault.accountStates([alice, alice], [0])
    with brownie.reverts(revert_pattern=err("LengthMismatch")):
        vault.liquidatable([alice], [0, 1])


def test_market_state_reports_the_books_exactly(proto, vault, usdc):
    s = market_books(proto, "USDC")
    assert s["token"] == usdc and s["decimals"] == 6
    assert s["totalDeposits"] == pm.deposit_amount_down(s["totalDepositScale"], s["depositIndex"])
    assert s["totalBorrows"] == pm.debt_amount_up(s["totalBorrowScale"], s["borrowIndex"])
    assert s["utilization"] == pm.utilization(s["totalBorrows"], s["totalDeposits"]) > 0
    assert s["borrowRatePerSecond"] == 0  # the unit fixture froze the rates
    assert s["depositIndex"] > WAD and s["borrowIndex"] > WAD and s["reserves"] > 0


def test_markets_lists_every_market_in_listing_order(proto, vault):
    assert vault.markets() == [m.token for m in proto.markets.values()]


def test_the_lens_books_balance_exactly_over_every_account(proto, vault, mixed, lp, carol, liquidator):
    owners, subs = [mixed, lp, carol, carol], [0, 0, 8, 9]
    books = proto.lens.invariants(vault, owners, subs)
    assert len(books) == 3
    for b in books:
        b = b.dict()
        assert b["sumPositiveScale"] == b["totalDepositScale"]  # I1
        assert b["sumNegativeScale"] == b["totalBorrowScale"]
        assert (b["totalBorrowScale"] == 0) == (b["accountsWithDebt"] == 0)  # I5
        assert b["vaultBalance"] + b["totalBorrows"] >= b["totalDeposits"] + b["reserves"]  # I2
    with brownie.reverts(revert_pattern=err("LengthMismatch")):
        proto.lens.invariants(vault, owners, [0])


def test_a_direct_transfer_to_the_vault_changes_no_balance_index_or_health(proto, vault, mixed, weth, rando):
    proto.fund("WETH", rando, 10**24)
    before = (vault.accountState(mixed, 0), vault.marketState(weth))
    weth.transfer(vault, 10**24, {"from": rando})
    assert (vault.accountState(mixed, 0), vault.marketState(weth)) == before  # I17


def test_the_reentrancy_lock_is_free_between_transactions(vault, mixed):
    assert vault.reentrancyLocked() is False
