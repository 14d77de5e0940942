"""Bad oracle rounds (I19, I20): stale, zero, negative and incomplete answers, and 8- vs 18-decimal feeds; and the
price-manipulation incidents (bZx, Feb 2020; Inverse Finance, Apr 2022) replayed against the vault.

Anything that needs a price (borrow, withdraw with debt, liquidate) must refuse a bad round with the
router's named error; anything that only lowers risk (deposit, repay-all, withdraw-all without debt) must
stay live without a price. A price is the same whatever the feed's decimals.

bZx and Inverse: an attacker contract (contracts/sim/attack/OracleAttacker.sol) moves a constant-product pool
(SpotPool, Uniswap v2 shape) with a large trade — in the same transaction as its borrow (bZx), or held over the
blocks of a short TWAP window (ShortTwapOracle, Inverse) — and borrows as if the pool's price were the price.
The vault's valuation does not move (it reads only the router's push feed), the borrow sized for the pool's
price reverts AccountUnhealthy, a feed round that carried the pumped price but is stale or incomplete is
refused, the router takes neither the pool nor the TWAP as a feed, and the attacker ends with less than it
started with (the pool's fees on the round trip): RELIABILITY's "attacker profit <= 0".
"""
from __future__ import annotations

import brownie
import pytest
from brownie import chain

from eth_utils import keccak

from chainkit import WAD, build, check_books, deploy_protocol, err, feed_answer, sim_token

MAX = 2**256 - 1
HEARTBEAT = 3600


@pytest.fixture(scope="module")
def setup(module_isolation, gov, guardian, lp, alice):
    """WETH ($2000, 8-decimal feed, 1 h heartbeat) and USDC ($1); alice has 10 WETH and owes 5,000 USDC."""
    p = deploy_protocol(gov, guardian)
    p.add_market("WETH", sim_token(gov, "WETH", 18), 2000, heartbeat=HEARTBEAT)
    p.add_market("USDC", sim_token(gov, "USDC", 6), 1, heartbeat=HEARTBEAT)
    v = p.vault
    p.fund("USDC", lp, 10**12)
    v.deposit(lp, 0, p["USDC"].token, 10**12, {"from": lp})
    p.fund("WETH", alice, 20 * WAD)
    p.fund("USDC", alice, 10**10)
    v.deposit(alice, 0, p["WETH"].token, 10 * WAD, {"from": alice})
    v.borrow(0, p["USDC"].token, 5_000 * 10**6, alice, {"from": alice})
    return p


def write_round(p, sym, answer, updated_at=None, answered_in_round=None, round_id=None):
    feed = p[sym].feed
    rid = round_id if round_id is not None else feed.latestRound() + 1
    ts = chain.time() if updated_at is None else updated_at
    feed.setRoundData(rid, answer, ts, ts, rid if answered_in_round is None else answered_in_round, {"from": p.gov})


BAD_ROUNDS = {
    "stale": (lambda p: write_round(p, "WETH", feed_answer(2000, 8), updated_at=chain.time() - HEARTBEAT - 60), "StalePrice"),
    "zero": (lambda p: write_round(p, "WETH", 0), "NonPositivePrice"),
    "negative": (lambda p: write_round(p, "WETH", -1), "NonPositivePrice"),
    "answered_in_an_earlier_round": (lambda p: write_round(p, "WETH", feed_answer(2000, 8), answered_in_round=1, round_id=9), "IncompleteRound"),
    "without_update_time": (lambda p: write_round(p, "WETH", feed_answer(2000, 8), updated_at=0), "IncompleteRound"),
}


@pytest.mark.parametrize("kind", list(BAD_ROUNDS))
def test_router_refuses_a_bad_round_by_name(setup, kind):
    p = setup
    make, error = BAD_ROUNDS[kind]
    make(p)
    with brownie.reverts(revert_pattern=err(error)):
        p.router.price(p["WETH"].token)


@pytest.mark.parametrize("kind", list(BAD_ROUNDS))
def test_borrow_and_withdraw_with_debt_refuse_a_bad_round(setup, alice, kind):
    p = setup
    make, error = BAD_ROUNDS[kind]
    make(p)
    with brownie.reverts(revert_pattern=err(error)):
        p.vault.borrow(0, p["USDC"].token, 10**6, alice, {"from": alice})
    with brownie.reverts(revert_pattern=err(error)):
        p.vault.withdraw(0, p["WETH"].token, WAD, alice, {"from": alice})


@pytest.mark.parametrize("kind", list(BAD_ROUNDS))
def test_liquidation_refuses_a_bad_round(setup, alice, liquidator, kind):
    p = setup
    make, error = BAD_ROUNDS[kind]
    make(p)
    p.fund("USDC", liquidator, 10**10)
    with brownie.reverts(revert_pattern=err(error)):
        p.vault.liquidate(alice, 0, p["USDC"].token, p["WETH"].token, MAX, 0, {"from": liquidator})


@pytest.mark.parametrize("kind", list(BAD_ROUNDS))
def test_deposit_repay_all_and_then_withdraw_all_stay_live_with_a_bad_round(setup, alice, lp, kind):
    p = setup
    v, weth, usdc = p.vault, p["WETH"].token, p["USDC"].token
    BAD_ROUNDS[kind][0](p)
    v.deposit(alice, 0, weth, WAD, {"from": alice})
    v.repay(alice, 0, usdc, MAX, {"from": alice})
    assert v.balanceOf(alice, 0, usdc) == 0
    v.withdraw(0, weth, MAX, alice, {"from": alice})
    assert v.balanceOf(alice, 0, weth) == 0
    assert weth.balanceOf(alice) == 20 * WAD
    check_books(p, [lp, alice], [0, 0])


def test_a_feed_timestamp_within_the_heartbeat_is_accepted(setup, alice):
    p = setup
    write_round(p, "WETH", feed_answer(2000, 8), updated_at=chain.time() - HEARTBEAT + 120)
    assert p.router.price(p["WETH"].token) == 2000 * WAD


def test_eight_and_eighteen_decimal_feeds_give_the_same_price_and_health(setup, gov, alice):
    p = setup
    weth = p["WETH"].token
    before_price = p.router.price(weth)
    before_state = p.vault.accountState(alice, 0)
    feed18 = build().SettableAggregator.deploy(18, feed_answer(2000, 18), {"from": gov})
    p.router.setFeed(weth, feed18, HEARTBEAT, {"from": gov})
    assert p.router.price(weth) == before_price == 2000 * WAD
    # Collateral value is exact (WETH earns nothing); the debt side moves with a second of interest.
    assert p.vault.accountState(alice, 0)[5] == before_state[5] == 10 * 2000 * WAD


def test_a_price_with_more_precision_than_wad_is_truncated_not_rejected(setup, gov):
    p = setup
    weth = p["WETH"].token
    feed24 = build().SettableAggregator.deploy(24, 2000 * 10**24 + 999_999, {"from": gov})
    p.router.setFeed(weth, feed24, HEARTBEAT, {"from": gov})
    assert p.router.price(weth) == 2000 * WAD


# ------------------------------------------------------------------ price manipulation: bZx and Inverse
def error_name(data) -> str:
    """The custom error a BorrowAttempt's revert data holds, by selector over the vault's and router's ABIs."""
    raw = bytes(data) if not isinstance(data, str) else bytes.fromhex(data[2:] if data.startswith("0x") else data)
    b = build()
    for abi in (b.Vault.abi, b.OracleRouter.abi):
        for item in abi:
            if item["type"] == "error":
                sig = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                if keccak(text=sig)[:4] == raw[:4]:
                    return item["name"]
    return f"unknown 0x{raw.hex()}"


def usd_value(p, holder, sub: int | None = None) -> int:
    """USD (WAD) at feed prices of `holder`'s wallet, plus its sub-account's equity when `sub` is given."""
    total = 0
    for m in p.markets.values():
        total += m.token.balanceOf(holder) * p.router.price(m.token) // 10**m.decimals
    if sub is not None:
        state = p.vault.accountState(holder, sub)
        total += state[5] - state[6]  # collateralValue − debtValue
    return total


def pool_market(gov, guardian, lp, rando, coll: tuple, quote_lent: int, pool_depth: tuple, attacker_funds: tuple):
    """A protocol with `coll` = (symbol, decimals, USD price) and an 18-decimal $1 quote asset Q that lp lends
    `quote_lent` of; a SpotPool of `pool_depth` = (coll, quote) whole tokens priced like the feed; and an
    OracleAttacker holding `attacker_funds` = (coll deposited as collateral, quote for the trade)."""
    sym, dec, price = coll
    p = deploy_protocol(gov, guardian)
    p.add_market(sym, sim_token(gov, sym, dec), price, heartbeat=HEARTBEAT)
    p.add_market("Q", sim_token(gov, "Q", 18), 1, heartbeat=HEARTBEAT)
    c, q = p[sym], p["Q"]
    p.fund("Q", lp, quote_lent * WAD)
    p.vault.deposit(lp, 0, q.token, quote_lent * WAD, {"from": lp})
    b = build()
    pool = b.SpotPool.deploy(c.token, q.token, {"from": gov})
    c.token.mint(gov, pool_depth[0] * 10**dec, {"from": gov})
    q.token.mint(gov, pool_depth[1] * WAD, {"from": gov})
    c.token.approve(pool, 2**256 - 1, {"from": gov})
    q.token.approve(pool, 2**256 - 1, {"from": gov})
    pool.addLiquidity(pool_depth[0] * 10**dec, pool_depth[1] * WAD, {"from": gov})
    attacker = b.OracleAttacker.deploy(p.vault, p.router, pool, {"from": rando})
    c.token.mint(attacker, attacker_funds[0] * 10**dec, {"from": gov})
    q.token.mint(attacker, attacker_funds[1] * WAD, {"from": gov})
    attacker.approveAll([c.token, q.token], {"from": rando})
    attacker.depositCollateral(c.token, attacker_funds[0] * 10**dec, {"from": rando})
    return p, pool, attacker


def spot_usd(pool, dec: int, spot_raw_wad: int) -> int:
    """USD (WAD) per whole collateral token from the pool's raw spot (quote units per collateral unit, WAD)."""
    return spot_raw_wad * 10**dec // 10**18


@pytest.fixture
def bzx(gov, guardian, lp, rando):
    """bZx: WBTC ($10,000 feed, 8 decimals); a pool of 100 WBTC / 1M Q; the attacker deposits 10 WBTC and holds
    2M Q, a flash loan's worth. The feed allows 10 × 10,000 × 0.80 = 80,000 Q of borrowing."""
    return pool_market(gov, guardian, lp, rando, ("WBTC", 8, 10_000), 1_000_000, (100, 1_000_000), (10, 2_000_000))


def test_bzx_a_spot_pumped_in_the_borrowing_transaction_moves_no_price_the_vault_uses(bzx, rando):
    p, pool, attacker = bzx
    before = usd_value(p, attacker, 0)
    wbtc, q = p["WBTC"].token, p["Q"].token
    tx = attacker.pumpAndBorrow(wbtc, q, 1_000_000 * WAD, 300_000 * WAD, 79_000 * WAD, {"from": rando})
    seen = [(o["spot"], o["routerPrice"], o["collateralValue"]) for o in tx.events["Observation"]]
    pumped_usd = spot_usd(pool, 8, seen[1][0])
    # The trade quadrupled the pool's spot inside the transaction: 300,000 Q is what 10 pumped WBTC would allow.
    assert pumped_usd >= 39_000 * WAD and 10 * pumped_usd * 80 // 100 >= 300_000 * WAD
    # ... and moved nothing the vault reads: the router's price and the collateral value, before and after.
    assert {(price, value) for _, price, value in seen} == {(10_000 * WAD, 100_000 * WAD)}
    attempts = [(a["amount"], a["ok"], error_name(a["revertData"]) if not a["ok"] else None)
                for a in tx.events["BorrowAttempt"]]
    assert attempts == [(300_000 * WAD, False, "AccountUnhealthy"), (79_000 * WAD, True, None)]
    assert p.vault.balanceOf(attacker, 0, q) == -79_000 * WAD  # the feed's limit, no more
    # Attacker profit <= 0: the borrow is matched by its debt and the round trip paid the pool's fees.
    after = usd_value(p, attacker, 0)
    assert after < before
    assert before - after >= 3_000 * WAD  # the pool's 0.3 % fee on the $1M pumped in


@pytest.fixture
def inverse(gov, guardian, lp, rando):
    """Inverse: INV ($400 feed, 18 decimals) on a thin pool of 1,000 INV / 400,000 Q with a short TWAP over it;
    the attacker deposits 1,500 INV and holds 1.2M Q to pump the pool. The feed allows 480,000 Q; lp lends 20M Q,
    so liquidity never limits the borrow the TWAP would allow (~7.7M Q): health has to."""
    p, pool, attacker = pool_market(gov, guardian, lp, rando, ("INV", 18, 400), 20_000_000, (1_000, 400_000),
                                    (1_500, 1_200_000))
    return p, pool, attacker, build().ShortTwapOracle.deploy(pool, {"from": gov})


def test_inverse_a_short_twap_over_a_pumped_pool_is_not_a_price_and_bad_rounds_are_refused(inverse, gov, rando):
    p, pool, attacker, twap = inverse
    inv, q = p["INV"].token, p["Q"].token
    before = usd_value(p, attacker, 0)
    twap.update({"from": rando})  # the window opens
    attacker.trade(q, 1_200_000 * WAD, {"from": rando})  # pump INV about ×16 ...
    for _ in range(2):  # ... and hold it over the window's blocks
        chain.sleep(15)
        chain.mine()
    average, window = twap.consult()
    twap_usd = spot_usd(pool, 18, average)
    assert window >= 30 and twap_usd >= 4_000 * WAD  # the TWAP now reads > 10 × the feed
    obs = attacker.observe(inv, {"from": rando}).events["Observation"][0]
    assert (obs["routerPrice"], obs["collateralValue"]) == (400 * WAD, 1_500 * 400 * WAD)  # nothing moved

    def borrow(amount: int) -> str | None:
        a = attacker.tryBorrow(q, amount, {"from": rando}).events["BorrowAttempt"][0]
        return None if a["ok"] else error_name(a["revertData"])

    assert borrow(1_500 * twap_usd * 80 // 100 // WAD * WAD) == "AccountUnhealthy"  # sized by the TWAP
    # A feed round that carried the pumped price is refused when it is stale or was answered in an earlier round.
    pumped = feed_answer(twap_usd // WAD, 8)
    write_round(p, "INV", pumped, updated_at=chain.time() - HEARTBEAT - 60)
    assert borrow(1_000 * WAD) == "StalePrice"
    write_round(p, "INV", pumped, answered_in_round=1, round_id=p["INV"].feed.latestRound() + 1)
    assert borrow(1_000 * WAD) == "IncompleteRound"
    write_round(p, "INV", feed_answer(400, 8))  # a fresh round at the feed's price: borrowing is live again
    assert borrow(1_000 * WAD) is None
    attacker.trade(inv, inv.balanceOf(attacker), {"from": rando})  # unwind
    assert usd_value(p, attacker, 0) < before  # profit <= 0: the pool's fees, both ways


def test_the_router_takes_neither_the_pool_nor_its_twap_as_a_feed(inverse, gov):
    p, pool, _, twap = inverse
    asset = sim_token(gov, "X", 18)
    with brownie.reverts():  # the TWAP oracle speaks no AggregatorV3Interface: no decimals()
        p.router.setFeed(asset, twap, HEARTBEAT, {"from": gov})
    # A Uniswap-v2-shaped pair is an ERC-20 (decimals() = 18), but it has no latestRoundData(): refused at
    # registration, so no asset can ever be priced from a pool's reserves.
    with brownie.reverts(revert_pattern=r"NotAnAggregator(:.*)?"):
        p.router.setFeed(asset, pool, HEARTBEAT, {"from": gov})
    assert not p.router.hasFeed(asset)
