"""Bad oracle rounds (I19, I20): stale, zero, negative and incomplete answers, and 8- vs 18-decimal feeds.

Anything that needs a price (borrow, withdraw with debt, liquidate) must refuse a bad round with the
router's named error; anything that only lowers risk (deposit, repay-all, withdraw-all without debt) must
stay live without a price. A price is the same whatever the feed's decimals.
"""
from __future__ import annotations

import brownie
import pytest
from brownie import chain

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
