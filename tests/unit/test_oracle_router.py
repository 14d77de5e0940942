"""OracleRouter: one checked 18-decimal price per asset; bad rounds revert price-using actions only (I19, I20)."""
import brownie
import pytest
from brownie import chain

from unitkit import MAX, WAD, err, open_position

HEARTBEAT = 3600


@pytest.fixture
def asset(gov):
    return brownie.SimToken.deploy("A", "A", 18, {"from": gov})


def feed(gov, decimals, answer):
    return brownie.SettableAggregator.deploy(decimals, answer, {"from": gov})


@pytest.mark.parametrize("decimals,answer,expected", [
    (8, 2000 * 10**8, 2000 * WAD),
    (18, 123 * WAD // 100, 123 * WAD // 100),
    (0, 7, 7 * WAD),
    (36, 5 * 10**36, 5 * WAD),
    (24, 10**24 + 999_999, WAD),  # more precision than 18 decimals is truncated
])
def test_price_normalises_feed_decimals_to_18(router, gov, asset, decimals, answer, expected):
    router.setFeed(asset, feed(gov, decimals, answer), HEARTBEAT, {"from": gov})
    assert router.price(asset) == expected


def test_set_feed_records_the_feed_and_emits_it(router, gov, asset):
    f = feed(gov, 8, 10**8)
    tx = router.setFeed(asset, f, HEARTBEAT, {"from": gov})
    assert tx.events["FeedSet"]["asset"] == asset and tx.events["FeedSet"]["heartbeat"] == HEARTBEAT
    assert tx.events["FeedSet"]["decimals"] == 8
    assert router.hasFeed(asset) and router.feedOf(asset) == (f, HEARTBEAT, 8, 0)  # no guards


def test_price_reverts_without_a_feed(router, asset):
    assert not router.hasFeed(asset)
    with brownie.reverts(revert_pattern=err("NoFeed")):
        router.price(asset)


@pytest.mark.parametrize("answer", [0, -1, -(10**20)])
def test_price_reverts_on_a_non_positive_answer(router, gov, asset, answer):
    f = feed(gov, 8, 10**8)
    router.setFeed(asset, f, HEARTBEAT, {"from": gov})
    f.setAnswer(answer, {"from": gov})
    with brownie.reverts(revert_pattern=err("NonPositivePrice")):
        router.price(asset)


def test_price_reverts_when_a_high_precision_answer_normalises_to_zero(router, gov, asset):
    router.setFeed(asset, feed(gov, 36, 10**17), HEARTBEAT, {"from": gov})
    with brownie.reverts(revert_pattern=err("NonPositivePrice")):
        router.price(asset)


def test_price_reverts_once_the_round_is_older_than_the_heartbeat(router, gov, asset):
    f = feed(gov, 8, 10**8)
    router.setFeed(asset, f, HEARTBEAT, {"from": gov})
    chain.sleep(HEARTBEAT - 5)
    chain.mine()
    assert router.price(asset) == WAD
    chain.sleep(10)
    chain.mine()
    with brownie.reverts(revert_pattern=err("StalePrice")):
        router.price(asset)


@pytest.mark.parametrize("round_data", [(5, 10**8, 1, 0, 5), (5, 10**8, 1, 1, 4)], ids=["no-update-time", "answered-earlier"])
def test_price_reverts_on_an_incomplete_round(router, gov, asset, round_data):
    f = feed(gov, 8, 10**8)
    router.setFeed(asset, f, HEARTBEAT, {"from": gov})
    data = list(round_data)
    if data[3]:
        data[3] = chain.time()
    f.setRoundData(*data, {"from": gov})
    with brownie.reverts(revert_pattern=err("IncompleteRound")):
        router.price(asset)


def test_set_feed_is_governor_only_and_validates_its_input(router, gov, rando, asset):
    f = feed(gov, 8, 10**8)
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        router.setFeed(asset, f, HEARTBEAT, {"from": rando})
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        router.setFeed(asset, brownie.ZERO_ADDRESS, HEARTBEAT, {"from": gov})
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        router.setFeed(brownie.ZERO_ADDRESS, f, HEARTBEAT, {"from": gov})
    with brownie.reverts(revert_pattern=err("ZeroHeartbeat")):
        router.setFeed(asset, f, 0, {"from": gov})
    with brownie.reverts(revert_pattern=err("FeedDecimalsOutOfRange")):
        router.setFeed(asset, feed(gov, 37, 1), HEARTBEAT, {"from": gov})


def test_router_governance_can_be_handed_over(router, gov, rando):
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        router.setGovernor(rando, {"from": rando})
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        router.setGovernor(brownie.ZERO_ADDRESS, {"from": gov})
    tx = router.setGovernor(rando, {"from": gov})
    assert tx.events["GovernorProposed"]["pendingGovernor"] == rando and router.pendingGovernor() == rando
    assert router.governor() == gov
    with brownie.reverts(revert_pattern=err("NotPendingGovernor")):
        router.acceptGovernance({"from": gov})
    tx = router.acceptGovernance({"from": rando})
    assert tx.events["GovernorSet"]["governor"] == rando and router.governor() == rando
    assert router.pendingGovernor() == brownie.ZERO_ADDRESS


def test_settable_aggregator_is_written_only_by_its_owner(proto, rando):
    f = proto["WETH"].feed
    with brownie.reverts(revert_pattern=err("NotOwner")):
        f.setAnswer(1, {"from": rando})
    with brownie.reverts(revert_pattern=err("NotOwner")):
        f.setRoundData(1, 1, 1, 1, 1, {"from": rando})
    rid = f.latestRound()
    f.setAnswer(123, {"from": proto.gov})
    assert f.latestRoundData()[:2] == (rid + 1, 123) and f.getRoundData(rid + 1)[1] == 123
    with brownie.reverts(revert_pattern=err("NoRound")):
        f.getRoundData(10**9)


# ------------------------------------------------------------------ what a bad feed does to the vault
BAD_ROUNDS = {
    "zero": lambda now: (9, 0, now, now, 9),
    "negative": lambda now: (9, -1, now, now, 9),
    "stale": lambda now: (9, 2000 * 10**8, 1, 1, 9),
    "incomplete": lambda now: (9, 2000 * 10**8, now, now, 8),
}
ERRORS = {"zero": "NonPositivePrice", "negative": "NonPositivePrice", "stale": "StalePrice", "incomplete": "IncompleteRound"}


@pytest.mark.parametrize("kind", BAD_ROUNDS)
def test_a_bad_collateral_feed_blocks_borrow_withdraw_and_liquidate_but_not_repay_or_deposit(proto, vault, weth, usdc, alice, liquidator, kind):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    proto["WETH"].feed.setRoundData(*BAD_ROUNDS[kind](chain.time()), {"from": proto.gov})
    name = err(ERRORS[kind])
    with brownie.reverts(revert_pattern=name):
        vault.borrow(0, usdc, 10**6, alice, {"from": alice})
    with brownie.reverts(revert_pattern=name):
        vault.withdraw(0, weth, 10**18, alice, {"from": alice})
    with brownie.reverts(revert_pattern=name):
        vault.liquidate(alice, 0, usdc, weth, MAX, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=name):
        vault.accountState(alice, 0)
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    vault.repay(alice, 0, usdc, MAX, {"from": alice})
    vault.withdraw(0, weth, MAX, alice, {"from": alice})  # no debt: no price needed
    assert vault.accountState(alice, 0)["tokens"] == []


def test_set_feed_refuses_a_contract_that_does_not_answer_latest_round_data(router, gov, asset):
    not_a_feed = brownie.SimToken.deploy("POOL", "POOL", 18, {"from": gov})  # decimals(), no latestRoundData()
    with brownie.reverts(revert_pattern=err("NotAnAggregator")):
        router.setFeed(asset, not_a_feed, HEARTBEAT, {"from": gov})
    assert not router.hasFeed(asset)
