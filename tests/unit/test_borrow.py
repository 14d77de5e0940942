"""Vault.borrow / borrowFrom: consume the deposit, then open debt; health_init >= 0 afterwards."""
import brownie

from marginlab.model import vault as pm
from unitkit import err, market_books, model_health, open_position, set_params


def test_borrow_opens_debt_with_scale_rounded_up_and_sends_the_amount(proto, vault, usdc, alice, bob):
    open_position(proto, alice, 0, {"WETH": 10})
    bidx = market_books(proto, "USDC")["borrowIndex"]
    total = market_books(proto, "USDC")["totalBorrowScale"]
    before = usdc.balanceOf(bob)
    tx = vault.borrow(0, usdc, 1_234_567_891, bob, {"from": alice})
    scale = pm.to_scale_up(1_234_567_891, bidx)
    assert vault.scaledBalanceOf(alice, 0, usdc) == -scale
    assert -vault.balanceOf(alice, 0, usdc) == pm.debt_amount_up(scale, bidx) >= 1_234_567_891  # I16
    assert market_books(proto, "USDC")["totalBorrowScale"] == total + scale
    assert usdc.balanceOf(bob) == before + 1_234_567_891
    ev = tx.events["Borrow"]
    assert (ev["owner"], ev["amount"], ev["fromDeposit"], ev["receiver"], ev["scaledBalance"]) == (
        alice, 1_234_567_891, 0, bob, -scale)


def test_borrow_consumes_the_deposit_before_opening_debt(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"USDC": 100_000, "WETH": 1})
    held = vault.balanceOf(alice, 0, weth)
    bidx = market_books(proto, "WETH")["borrowIndex"]
    tx = vault.borrow(0, weth, 3 * 10**18, alice, {"from": alice})
    assert tx.events["Borrow"]["fromDeposit"] == held
    assert vault.scaledBalanceOf(alice, 0, weth) == -pm.to_scale_up(3 * 10**18 - held, bidx)


def test_borrow_up_to_exactly_zero_health_init_succeeds_and_one_unit_more_reverts(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10})
    power = model_health(proto, alice).coll_init  # ~ 10 WETH × $2000 × 0.80, less the deposit's rounding
    bidx = market_books(proto, "USDC")["borrowIndex"]

    def debt_value(x):  # USDC: 6 decimals at $1
        return pm.value_up(pm.debt_amount_up(pm.to_scale_up(x, bidx), bidx), 10**18, 6)

    most = power // 10**12
    while debt_value(most) > power:
        most -= 1
    vault.borrow(0, usdc, most, alice, {"from": alice})
    h = model_health(proto, alice)
    assert 0 <= h.health_init == vault.accountState(alice, 0)["healthInit"]
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        vault.borrow(0, usdc, 1, alice, {"from": alice})


def test_borrow_of_a_volatile_asset_weighs_the_debt_with_its_liability_weight(proto, vault, wbtc, alice):
    open_position(proto, alice, 0, {"USDC": 66_000})
    # $66000 × 0.90 = $59400 of power; 0.9 WBTC is $54000 × 1.10 = $59400.
    vault.borrow(0, wbtc, 89_000_000, alice, {"from": alice})
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        vault.borrow(0, wbtc, 1_000_000, alice, {"from": alice})


def test_borrow_reverts_above_the_borrow_cap(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"USDC": 1_000_000})
    total = market_books(proto, "WETH")["totalBorrows"]
    set_params(proto, "WETH", borrowCap=total + 10**18)
    vault.borrow(0, weth, 10**18 - 1, alice, {"from": alice})
    with brownie.reverts(revert_pattern=err("BorrowCapExceeded")):
        vault.borrow(0, weth, 10**18, alice, {"from": alice})


def test_borrow_reverts_when_it_would_lend_more_than_the_deposits(proto, vault, wbtc, alice):
    open_position(proto, alice, 0, {"USDC": 10_000_000})
    books = market_books(proto, "WBTC")
    free = books["totalDeposits"] - books["totalBorrows"]
    with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
        vault.borrow(0, wbtc, free + 1, alice, {"from": alice})
    # The new debt's scale rounds up, so the last wei of `free` may stay in the pool.
    vault.borrow(0, wbtc, free - 1, alice, {"from": alice})


def test_borrow_reverts_on_zero_amount_zero_receiver_and_unlisted_token(gov, vault, usdc, alice):
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.borrow(0, usdc, 0, alice, {"from": alice})
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        vault.borrow(0, usdc, 1, brownie.ZERO_ADDRESS, {"from": alice})
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.borrow(0, stray, 1, alice, {"from": alice})


def test_borrow_without_collateral_reverts_as_unhealthy(vault, usdc, alice):
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        vault.borrow(0, usdc, 1, alice, {"from": alice})


def test_borrow_reverts_with_the_oracles_error_when_a_held_feed_is_stale(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10})
    proto["WETH"].feed.setRoundData(9, 2000 * 10**8, 1, 1, 9, {"from": proto.gov})
    with brownie.reverts(revert_pattern=err("StalePrice")):
        vault.borrow(0, usdc, 10**6, alice, {"from": alice})


def test_borrow_reverts_while_borrowing_is_paused(proto, vault, usdc, alice, guardian):
    open_position(proto, alice, 0, {"WETH": 10})
    vault.setPaused(True, False, False, {"from": guardian})
    with brownie.reverts(revert_pattern=err("BorrowPaused")):
        vault.borrow(0, usdc, 10**6, alice, {"from": alice})


def test_borrow_from_by_an_approved_operator_debits_the_owner(proto, vault, usdc, alice, bob, rando):
    open_position(proto, alice, 1, {"WETH": 10})
    with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
        vault.borrowFrom(alice, 1, usdc, 10**6, rando, {"from": rando})
    tx = vault.setOperator(bob, True, {"from": alice})
    assert tx.events["OperatorSet"]["approved"] is True and vault.isOperator(alice, bob)
    before = usdc.balanceOf(bob)
    vault.borrowFrom(alice, 1, usdc, 10**6, bob, {"from": bob})
    assert usdc.balanceOf(bob) == before + 10**6
    assert vault.balanceOf(alice, 1, usdc) < 0 and vault.scaledBalanceOf(bob, 1, usdc) == 0
