"""Vault.maxBorrow: the most `borrow` accepts now, to the unit, whichever check binds.

Each case asks from an account that holds nothing, then shows that one unit more reverts with the check that
binds (health: AccountUnhealthy; the pool: InsufficientLiquidity; the cap: BorrowCapExceeded) and that the
answer itself is borrowed. Indexes are frozen by the fixture and well away from 1e18, so rounding shows.
"""
import brownie

from unitkit import err, market_books, model_health, open_position, set_params


def check_max_borrow(vault, token, owner, sub, rando, error):
    most = vault.maxBorrow(owner, sub, token, {"from": rando})
    assert most > 0
    with brownie.reverts(revert_pattern=err(error)):
        vault.borrow(sub, token, most + 1, owner, {"from": owner})
    vault.borrow(sub, token, most, owner, {"from": owner})
    return most


def test_max_borrow_is_bound_by_initial_health_to_the_unit(proto, vault, usdc, alice, rando):
    open_position(proto, alice, 0, {"WETH": 10})
    most = check_max_borrow(vault, usdc, alice, 0, rando, "AccountUnhealthy")
    # ~ 10 WETH x $2,000 x 0.80 = $16,000, less the rounding that favours the vault
    assert 15_999 * 10**6 < most <= 16_000 * 10**6
    h = vault.accountState(alice, 0)
    assert h["healthInit"] >= 0
    assert vault.maxBorrow(alice, 0, usdc) <= 1  # what is left is rounding at most


def test_max_borrow_consumes_the_deposit_first_in_cross_margin(proto, vault, weth, wbtc, alice, rando):
    # WETH deposit in the borrowed token, a WBTC deposit, a USDC debt: three decimals, three weights.
    open_position(proto, alice, 3, {"WETH": "1.5", "WBTC": "0.3"}, {"USDC": 5_000})
    held = vault.balanceOf(alice, 3, weth)
    most = check_max_borrow(vault, weth, alice, 3, rando, "AccountUnhealthy")
    assert most > held
    assert -vault.balanceOf(alice, 3, weth) >= most - held  # the debt part, rounded up


def test_max_borrow_against_a_volatile_debt_uses_its_liability_weight(proto, vault, wbtc, alice, rando):
    open_position(proto, alice, 0, {"USDC": 100_000})
    most = check_max_borrow(vault, wbtc, alice, 0, rando, "AccountUnhealthy")
    # $90,000 of initial collateral over WBTC at $60,000 x 1.10: 1.3636 WBTC
    assert abs(most - 90_000 * 10**8 * 10 // (60_000 * 11)) <= 2


def test_max_borrow_is_bound_by_the_pools_liquidity(proto, vault, wbtc, alice, rando):
    open_position(proto, alice, 0, {"USDC": 50_000_000})
    books = market_books(proto, "WBTC")
    most = check_max_borrow(vault, wbtc, alice, 0, rando, "InsufficientLiquidity")
    assert abs(most - (books["totalDeposits"] - books["totalBorrows"])) <= 2


def test_max_borrow_is_bound_by_the_borrow_cap(proto, vault, wbtc, alice, rando):
    open_position(proto, alice, 0, {"USDC": 1_000_000})
    cap = market_books(proto, "WBTC")["totalBorrows"] + 3 * 10**8
    set_params(proto, "WBTC", borrowCap=cap)
    most = check_max_borrow(vault, wbtc, alice, 0, rando, "BorrowCapExceeded")
    assert abs(most - 3 * 10**8) <= 2


def test_max_borrow_of_an_unhealthy_account_or_an_empty_one_is_zero(proto, vault, usdc, weth, alice, bob, rando):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)
    assert model_health(proto, alice).health_init < 0
    assert vault.maxBorrow(alice, 0, usdc, {"from": rando}) == 0  # I7
    assert vault.maxBorrow(alice, 0, weth, {"from": rando}) == 0
    assert vault.maxBorrow(bob, 0, usdc, {"from": rando}) == 0


def test_max_borrow_is_zero_while_borrowing_is_paused(proto, vault, usdc, alice, guardian, gov):
    open_position(proto, alice, 0, {"WETH": 10})
    vault.setPaused(True, False, False, {"from": guardian})
    assert vault.maxBorrow(alice, 0, usdc) == 0
    vault.setPaused(False, False, False, {"from": gov})
    assert vault.maxBorrow(alice, 0, usdc) > 0


def test_max_borrow_reverts_for_an_unlisted_market_and_a_broken_feed(proto, vault, usdc, weth, alice, gov):
    open_position(proto, alice, 0, {"WETH": 10})
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.maxBorrow(alice, 0, stray)
    proto["WETH"].feed.setRoundData(9, 2000 * 10**8, 1, 1, 9, {"from": gov})  # stale
    with brownie.reverts(revert_pattern=err("StalePrice")):
        vault.maxBorrow(alice, 0, usdc)


def test_max_borrow_follows_a_price(proto, vault, usdc, alice):
    open_position(proto, alice, 0, {"WETH": 10})
    before = vault.maxBorrow(alice, 0, usdc)
    proto.set_price("WETH", 1000)
    assert abs(vault.maxBorrow(alice, 0, usdc) * 2 - before) <= 2
