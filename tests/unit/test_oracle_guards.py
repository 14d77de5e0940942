"""OracleRouter guards (I22): bounds, the circuit breaker, future timestamps and the sequencer uptime feed.

Each guard is a revert of `price`, so the vault treats it like StalePrice: borrow, withdraw with debt and
liquidate refuse; deposit and repay work. One section per router function (setFeedBounds, setPriceBand, poke,
resetBreaker, setSequencerFeed, price), then what each guard does to the vault.
"""
import brownie
import pytest
from brownie import chain

from unitkit import MAX, WAD, err, open_position

HEARTBEAT = 3600
U128 = 2**128 - 1
HOUR = 3600


@pytest.fixture
def asset(gov):
    return brownie.SimToken.deploy("A", "A", 18, {"from": gov})


@pytest.fixture
def feed(router, gov, asset):
    f = brownie.SettableAggregator.deploy(8, 100 * 10**8, {"from": gov})  # $100
    router.setFeed(asset, f, HEARTBEAT, {"from": gov})
    return f


def uptime(gov, status, started):
    s = brownie.SettableAggregator.deploy(0, status, {"from": gov})
    s.setRoundData(1, status, started, chain.time(), 1, {"from": gov})
    return s


# ------------------------------------------------------------------ setFeedBounds
def test_set_feed_bounds_is_governor_only_checked_and_emitted(router, gov, rando, asset, feed):
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        router.setFeedBounds(asset, 1, 2, {"from": rando})
    with brownie.reverts(revert_pattern=err("InvalidBounds")):
        router.setFeedBounds(asset, 5 * WAD, 5 * WAD, {"from": gov})
    with brownie.reverts(revert_pattern=err("NoFeed")):
        router.setFeedBounds(gov, 1, 2, {"from": gov})
    tx = router.setFeedBounds(asset, 10 * WAD, 1000 * WAD, {"from": gov})
    assert tx.events["FeedBoundsSet"]["minPrice"] == 10 * WAD and router.feedOf(asset)[3] == 1
    assert router.guardsOf(asset)[0] == (10 * WAD, 1000 * WAD)
    router.setFeedBounds(asset, 0, U128, {"from": gov})  # off again: no extra read on the price path
    assert router.feedOf(asset)[3] == 0


@pytest.mark.parametrize("answer,ok", [(10 * 10**8, False), (9 * 10**8, False), (10 * 10**8 + 1, True),
                                       (1000 * 10**8 - 1, True), (1000 * 10**8, False), (10**12, False)],
                         ids=["at-floor", "below-floor", "above-floor", "below-cap", "at-cap", "above-cap"])
def test_a_price_at_or_beyond_a_bound_is_refused(router, gov, asset, feed, answer, ok):
    router.setFeedBounds(asset, 10 * WAD, 1000 * WAD, {"from": gov})
    feed.setAnswer(answer, {"from": gov})
    if ok:
        assert router.price(asset) == answer * 10**10
    else:
        with brownie.reverts(revert_pattern=err("PriceOutOfBounds")):
            router.price(asset)


def test_set_feed_keeps_the_guards(router, gov, asset, feed):
    router.setFeedBounds(asset, 10 * WAD, 1000 * WAD, {"from": gov})
    router.setFeed(asset, feed, HEARTBEAT * 2, {"from": gov})
    assert router.feedOf(asset)[3] == 1


# ------------------------------------------------------------------ setPriceBand, poke, resetBreaker
def test_set_price_band_checks_its_input_and_takes_the_price_as_reference(router, gov, rando, asset, feed):
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        router.setPriceBand(asset, 2000, HOUR, {"from": rando})
    for bps, window in ((10_001, HOUR), (2000, 0), (2000, 366 * 86400)):
        with brownie.reverts(revert_pattern=err("InvalidBand")):
            router.setPriceBand(asset, bps, window, {"from": gov})
    tx = router.setPriceBand(asset, 2000, HOUR, {"from": gov})
    assert tx.events["PriceBandSet"]["maxMoveBps"] == 2000 and tx.events["ReferencePriceSet"]["refPrice"] == 100 * WAD
    band = router.guardsOf(asset)[1]
    assert band[0] == 100 * WAD and band[2:] == (2000, HOUR) and router.feedOf(asset)[3] == 2
    router.setPriceBand(asset, 0, 0, {"from": gov})
    assert router.feedOf(asset)[3] == 0 and router.guardsOf(asset)[1] == (0, 0, 0, 0)


@pytest.mark.parametrize("answer,ok", [(120 * 10**8, True), (80 * 10**8, True), (120 * 10**8 + 1, False),
                                       (80 * 10**8 - 1, False), (1000 * 10**8, False), (10 * 10**8, False)],
                         ids=["+20%", "-20%", "above-band", "below-band", "x10", "x0.1"])
def test_a_move_beyond_the_band_trips_the_breaker(router, gov, asset, feed, answer, ok):
    router.setPriceBand(asset, 2000, HOUR, {"from": gov})
    feed.setAnswer(answer, {"from": gov})
    if ok:
        assert router.price(asset) == answer * 10**10
    else:
        with brownie.reverts(revert_pattern=err("PriceMoveTooLarge")):
            router.price(asset)


def test_poke_moves_the_reference_at_most_once_per_window(router, gov, rando, asset, feed):
    with brownie.reverts(revert_pattern=err("NoBand")):
        router.poke(asset, {"from": rando})
    router.setPriceBand(asset, 2000, HOUR, {"from": gov})
    feed.setAnswer(115 * 10**8, {"from": gov})
    tx = router.poke(asset, {"from": rando})  # inside the window: accepted, the reference stays
    assert "ReferencePriceSet" not in tx.events and router.guardsOf(asset)[1][0] == 100 * WAD
    chain.sleep(HOUR)
    feed.setAnswer(118 * 10**8, {"from": gov})
    tx = router.poke(asset, {"from": rando})
    assert tx.events["ReferencePriceSet"]["refPrice"] == 118 * WAD and not tx.events["ReferencePriceSet"]["byGovernor"]
    feed.setAnswer(140 * 10**8, {"from": gov})  # +18.6 % from 118: inside; +40 % from the listing price
    assert router.price(asset) == 140 * WAD


def test_a_tripped_breaker_stays_tripped_until_the_governor_resets_it(router, gov, rando, asset, feed):
    router.setPriceBand(asset, 2000, HOUR, {"from": gov})
    feed.setAnswer(1000 * 10**8, {"from": gov})  # a x10 misprice that persists
    chain.sleep(3 * HOUR)
    feed.setAnswer(1000 * 10**8, {"from": gov})
    with brownie.reverts(revert_pattern=err("PriceMoveTooLarge")):
        router.poke(asset, {"from": rando})  # a keeper cannot walk the reference to a wrong price
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        router.resetBreaker(asset, {"from": rando})
    tx = router.resetBreaker(asset, {"from": gov})
    assert tx.events["ReferencePriceSet"]["byGovernor"] and router.price(asset) == 1000 * WAD
    router.setPriceBand(asset, 0, 0, {"from": gov})
    with brownie.reverts(revert_pattern=err("NoBand")):
        router.resetBreaker(asset, {"from": gov})


def test_reset_breaker_still_applies_the_other_guards(router, gov, asset, feed):
    router.setPriceBand(asset, 2000, HOUR, {"from": gov})
    router.setFeedBounds(asset, 10 * WAD, 500 * WAD, {"from": gov})
    feed.setAnswer(500 * 10**8, {"from": gov})  # clamped at the cap
    with brownie.reverts(revert_pattern=err("PriceOutOfBounds")):
        router.resetBreaker(asset, {"from": gov})


# ------------------------------------------------------------------ future timestamps
def test_a_round_from_the_future_is_refused(router, gov, asset, feed):
    now = chain.time()
    feed.setRoundData(7, 100 * 10**8, now + 600, now + 600, 7, {"from": gov})
    with brownie.reverts(revert_pattern=err("FuturePrice")):
        router.price(asset)


# ------------------------------------------------------------------ setSequencerFeed
def test_set_sequencer_feed_is_governor_only_and_checked(router, gov, rando, asset, feed):
    s = uptime(gov, 0, 1)
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        router.setSequencerFeed(asset, s, HOUR, {"from": rando})
    with brownie.reverts(revert_pattern=err("InvalidGracePeriod")):
        router.setSequencerFeed(asset, s, 8 * 86400, {"from": gov})
    with brownie.reverts(revert_pattern=err("NotAnAggregator")):
        router.setSequencerFeed(asset, asset, HOUR, {"from": gov})
    tx = router.setSequencerFeed(asset, s, HOUR, {"from": gov})
    assert tx.events["SequencerFeedSet"]["sequencer"] == s and router.feedOf(asset)[3] == 4
    assert router.price(asset) == 100 * WAD
    router.setSequencerFeed(asset, brownie.ZERO_ADDRESS, 0, {"from": gov})
    assert router.feedOf(asset)[3] == 0


def test_sequencer_down_then_grace_period_then_trusted(router, gov, asset, feed):
    s = uptime(gov, 0, 1)
    router.setSequencerFeed(asset, s, HOUR, {"from": gov})
    s.setAnswer(1, {"from": gov})  # down
    with brownie.reverts(revert_pattern=err("SequencerDown")):
        router.price(asset)
    s.setAnswer(0, {"from": gov})  # up from now: the grace period starts
    feed.setAnswer(100 * 10**8, {"from": gov})
    with brownie.reverts(revert_pattern=err("SequencerGracePeriod")):
        router.price(asset)
    chain.sleep(HOUR + 1)
    feed.setAnswer(100 * 10**8, {"from": gov})
    assert router.price(asset) == 100 * WAD
    s.setRoundData(9, 0, 0, chain.time(), 9, {"from": gov})  # startedAt 0: an uninitialised round
    with brownie.reverts(revert_pattern=err("SequencerDown")):
        router.price(asset)


# ------------------------------------------------------------------ what a guard does to the vault
def _trip(proto, kind):
    """Make WETH's price untrusted by one guard; returns the error name."""
    gov, router, weth, f = proto.gov, proto.router, proto["WETH"].token, proto["WETH"].feed
    if kind == "bounds":
        router.setFeedBounds(weth, 1000 * WAD, 10**6 * WAD, {"from": gov})
        f.setAnswer(1000 * 10**8, {"from": gov})  # clamped at the floor
        return "PriceOutOfBounds"
    if kind == "band":
        router.setPriceBand(weth, 2000, HOUR, {"from": gov})
        f.setAnswer(20_000 * 10**8, {"from": gov})  # x10
        return "PriceMoveTooLarge"
    s = uptime(gov, 0, 1)
    router.setSequencerFeed(weth, s, HOUR, {"from": gov})
    if kind == "sequencer-down":
        s.setAnswer(1, {"from": gov})
        return "SequencerDown"
    s.setAnswer(1, {"from": gov})
    s.setAnswer(0, {"from": gov})
    return "SequencerGracePeriod"


@pytest.mark.parametrize("kind", ["bounds", "band", "sequencer-down", "sequencer-grace"])
def test_an_untrusted_price_blocks_borrow_withdraw_and_liquidate_but_not_repay_or_deposit(
        proto, vault, weth, usdc, alice, liquidator, kind):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    name = err(_trip(proto, kind))
    with brownie.reverts(revert_pattern=name):
        vault.borrow(0, usdc, 10**6, alice, {"from": alice})
    with brownie.reverts(revert_pattern=name):
        vault.withdraw(0, weth, 10**18, alice, {"from": alice})
    with brownie.reverts(revert_pattern=name):
        vault.liquidate(alice, 0, usdc, weth, MAX, 0, {"from": liquidator})
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    vault.repay(alice, 0, usdc, MAX, {"from": alice})
    vault.withdraw(0, weth, MAX, alice, {"from": alice})  # no debt: no price needed
    assert vault.accountState(alice, 0)["tokens"] == []


# ------------------------------------------------------------------ SimPoker (the simulator's keeper)
def test_sim_poker_pokes_every_asset_and_reports_a_refusal_without_reverting(router, gov, rando, asset, feed):
    other = brownie.SimToken.deploy("B", "B", 18, {"from": gov})
    f2 = brownie.SettableAggregator.deploy(8, 50 * 10**8, {"from": gov})
    router.setFeed(other, f2, HEARTBEAT, {"from": gov})
    router.setPriceBand(asset, 2000, HOUR, {"from": gov})
    router.setPriceBand(other, 2000, HOUR, {"from": gov})
    chain.sleep(HOUR)
    feed.setAnswer(110 * 10**8, {"from": gov})  # inside the band: the reference moves
    f2.setAnswer(500 * 10**8, {"from": gov})  # x10: tripped
    poker = brownie.SimPoker.deploy({"from": gov})
    tx = poker.pokeAll(router, [asset, other], {"from": rando})
    assert router.guardsOf(asset)[1][0] == 110 * WAD and router.guardsOf(other)[1][0] == 50 * WAD
    assert tx.events["PokeRefused"]["asset"] == other


def test_a_reference_above_uint128_is_refused_not_truncated(router, gov, asset):
    huge = brownie.SettableAggregator.deploy(0, 2**128 // 10**18 + 1, {"from": gov})  # > 2^128 once in WAD
    router.setFeed(asset, huge, HEARTBEAT, {"from": gov})
    with brownie.reverts(revert_pattern=err("SafeCastOverflowedUintDowncast")):
        router.setPriceBand(asset, 2000, HOUR, {"from": gov})
