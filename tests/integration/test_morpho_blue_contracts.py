"""Morpho Blue 1.0.0 and our peer contracts (peers/morpho-blue/) on a real local chain, to the wei against the
integer model tests/models/morpho_blue.py (and, for the rate curve, marginlab/model/vault.py's model of our vault's
InterestRateModel) — never against a value one of our own contracts computed.

The node is marginlab's own (marginlab.chain, not brownie's), Ganache or Anvil as MARGINLAB_CHAIN (or CHAIN) says;
default ganache. One node and one Morpho per module; each test opens its own market with fresh tokens, feeds and
oracle, so no test sees another's balances. Time only moves forward: marginlab's Chain keeps every signer's nonce
itself, so the tests take no snapshots.

Morpho 1.0.0 is compiled with solc 0.8.19, whose ABIs leave out events a contract emits from a library
(``emit EventsLib.Liquidate(...)``): Morpho's events are decoded with EventsLib's ABI at Morpho's address.
"""
from __future__ import annotations

import os
import sys
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import pytest
from web3.contract import Contract
from web3.logs import DISCARD

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder, Signer, TxReverted
from marginlab.errors import ChainError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
import build_peers  # noqa: E402
from marginlab.model import vault as pm  # noqa: E402
from models import morpho_blue as mb  # noqa: E402
from models.morpho_blue import Market, MorphoMarket, MorphoRevert, Position  # noqa: E402

CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
PEERS_BUILD = ROOT / build_peers.MORPHO_BLUE.out_dir

WAD = 10**18
DAY = 86_400
MAX = 2**256 - 1
LLTV = 86 * WAD // 100  # one of Morpho's usual LLTVs
FEE = WAD // 10
# The scenario-style kinked curve: 1 %/yr base, +4 %/yr to the 80 % kink, +300 %/yr above it.
RATES = pm.RateModel(base=WAD // 100, slope1=4 * WAD // 100, slope2=300 * WAD // 100, kink=80 * WAD // 100)
USD_8 = 10**8  # one dollar in an 8-decimal feed


@pytest.fixture(autouse=True)
def isolation():
    """Overrides the root conftest's brownie snapshot: this module starts its own node through marginlab."""
    yield


def kinked_rate(market: Market) -> int:
    """The vault's InterestRateModel (its integer model) at Morpho's utilisation: what KinkedIrm must return."""
    return RATES.per_second(pm.utilization(market.total_borrow_assets, market.total_supply_assets))


def scale_factor(coll_decimals: int, coll_feed_decimals: int, loan_decimals: int, loan_feed_decimals: int) -> int:
    """Morpho's reference ChainlinkOracle: 10^(36 + loan decimals + loan feed decimals - coll ... - coll feed ...)."""
    return 10 ** (36 + loan_decimals + loan_feed_decimals - coll_decimals - coll_feed_decimals)


# ------------------------------------------------------------------ the chain, Morpho, one market at a time
@dataclass
class Env:
    chain: Chain
    sim: Artifacts  # brownie's build: SimToken, SettableAggregator, InterestRateModel
    peers: Artifacts  # build/peers/morpho-blue
    owner: Signer  # Morpho's owner, deployer of every token and feed (their minter and writer)
    morpho: Contract
    events: Contract  # EventsLib's ABI at Morpho's address
    irm: Contract
    reader: Contract
    fee_recipient: str
    markets: int = 0

    def user(self, name: str) -> Signer:
        return self.chain.signer("morpho-test", name)

    def now(self) -> int:
        return self.chain.latest_timestamp()

    def send(self, signer: Signer, contract: Contract, fn: str, *args: Any) -> dict[str, Any]:
        return self.chain.transact(signer, contract, fn, *args)

    def call(self, contract: Contract, fn: str, *args: Any) -> Any:
        return self.chain.call(contract, fn, *args)

    def morpho_event(self, receipt: dict[str, Any], name: str) -> list[dict[str, Any]]:
        return [dict(e["args"]) for e in getattr(self.events.events, name)().process_receipt(receipt, errors=DISCARD)]


@pytest.fixture(scope="module")
def env() -> Any:
    build_peers.build(build_peers.MORPHO_BLUE)  # a no-op after `make compile`; keeps a direct pytest run current
    sim, peers = Artifacts(), Artifacts(build_dir=PEERS_BUILD)
    chain = Chain.open(ChainOptions(backend=CHAIN), RevertDecoder(sim.all_abis() + peers.all_abis()))  # type: ignore[arg-type]
    try:
        owner = chain.signer("morpho-test", "owner")
        morpho = chain.deploy(owner, peers, "Morpho", owner.address)
        irm = chain.deploy(owner, peers, "KinkedIrm", RATES.base, RATES.slope1, RATES.slope2, RATES.kink)
        reader = chain.deploy(owner, peers, "MorphoReader")
        fee_recipient = chain.signer("morpho-test", "fee-recipient").address
        e = Env(chain, sim, peers, owner, morpho, chain.contract(morpho.address, peers.abi("EventsLib")), irm, reader,
                fee_recipient)
        e.send(owner, morpho, "enableIrm", irm.address)
        e.send(owner, morpho, "enableLltv", LLTV)
        e.send(owner, morpho, "setFeeRecipient", fee_recipient)
        yield e
    finally:
        chain.close()


@dataclass
class Book:
    """One Morpho market on chain and its model."""
    env: Env
    params: mb.MarketParams
    loan: Contract
    coll: Contract
    loan_feed: Contract
    coll_feed: Contract
    oracle: Contract
    model: MorphoMarket

    @property
    def id(self) -> bytes:
        return self.params.id()

    @property
    def p(self) -> tuple[str, str, str, str, int]:
        return self.params.as_tuple()

    def fund(self, who: Signer, token: Contract, amount: int) -> None:
        """Mint ``amount`` to ``who`` and let Morpho pull all of it."""
        self.env.send(self.env.owner, token, "mint", who.address, amount)
        self.env.send(who, token, "approve", self.env.morpho.address, MAX)

    def price(self) -> int:
        return int(self.env.call(self.oracle, "price"))

    def set_collateral_answer(self, answer: int) -> None:
        self.env.send(self.env.owner, self.coll_feed, "setAnswer", answer)

    def market(self) -> Market:
        return Market.from_tuple(self.env.call(self.env.morpho, "market", self.id))

    def position(self, who: str) -> Position:
        return Position.from_tuple(self.env.call(self.env.morpho, "position", self.id, who))

    def balance(self, token: Contract, who: str) -> int:
        return int(self.env.call(token, "balanceOf", who))

    def assert_matches_model(self, *users: str) -> None:
        assert self.market() == self.model.market
        for who in (*users, self.env.fee_recipient):
            assert self.position(who) == self.model.position(who), who


def open_market(env: Env, *, coll_decimals: int = 18, loan_decimals: int = 6, coll_answer: int = 2000 * USD_8,
                loan_answer: int = USD_8, coll_feed_decimals: int = 8, loan_feed_decimals: int = 8, fee: int = 0,
                irm: str | None = None) -> Book:
    """Fresh loan and collateral tokens, their feeds and a ChainlinkPairOracle; createMarket (and setFee)."""
    env.markets += 1
    n, owner, chain = env.markets, env.owner, env.chain
    loan = chain.deploy(owner, env.sim, "SimToken", f"Loan {n}", f"L{n}", loan_decimals)
    coll = chain.deploy(owner, env.sim, "SimToken", f"Collateral {n}", f"C{n}", coll_decimals)
    loan_feed = chain.deploy(owner, env.sim, "SettableAggregator", loan_feed_decimals, loan_answer)
    coll_feed = chain.deploy(owner, env.sim, "SettableAggregator", coll_feed_decimals, coll_answer)
    oracle = chain.deploy(owner, env.peers, "ChainlinkPairOracle", coll_feed.address, loan_feed.address,
                          coll_decimals, loan_decimals)
    params = mb.MarketParams(loan.address, coll.address, oracle.address, irm or env.irm.address, LLTV)
    env.send(owner, env.morpho, "createMarket", params.as_tuple())
    model = MorphoMarket.create(LLTV, kinked_rate, env.now(), env.fee_recipient)
    if fee:
        env.send(owner, env.morpho, "setFee", params.as_tuple(), fee)
        model.set_fee(env.now(), fee)
    return Book(env, params, loan, coll, loan_feed, coll_feed, oracle, model)


def lend_and_borrow(book: Book, supplied: int, collateral: int, borrowed: int) -> tuple[Signer, Signer]:
    """alice supplies ``supplied``, bob posts ``collateral`` and borrows ``borrowed`` (assets), on chain and in
    the model."""
    env = book.env
    alice, bob = env.user("alice"), env.user("bob")
    book.fund(alice, book.loan, supplied)
    book.fund(bob, book.coll, collateral)
    env.send(alice, env.morpho, "supply", book.p, supplied, 0, alice.address, b"")
    book.model.supply(env.now(), alice.address, assets=supplied)
    env.send(bob, env.morpho, "supplyCollateral", book.p, collateral, bob.address, b"")
    book.model.supply_collateral(bob.address, collateral)
    env.send(bob, env.morpho, "borrow", book.p, borrowed, 0, bob.address, bob.address)
    book.model.borrow(env.now(), bob.address, book.price(), assets=borrowed)
    return alice, bob


def expect_revert(reason: str, send: Any, model_step: Any) -> None:
    """Morpho reverts with ``Error(reason)`` and the model raises the same reason."""
    with pytest.raises(TxReverted) as on_chain:
        send()
    assert on_chain.value.reason == f"Error('{reason}')"
    with pytest.raises(MorphoRevert) as in_model:
        model_step()
    assert in_model.value.reason == reason


# ------------------------------------------------------------------ listing
def test_the_owner_enables_the_irm_and_lltv_and_creates_a_market_with_the_pair_oracle(env):
    book = open_market(env)
    assert env.call(env.morpho, "isIrmEnabled", env.irm.address) is True
    assert env.call(env.morpho, "isLltvEnabled", LLTV) is True
    # Morpho knows the market under the id the model derives from the params.
    assert tuple(env.call(env.morpho, "idToMarketParams", book.id)) == book.p
    assert book.market() == book.model.market == Market(last_update=env.now())
    with pytest.raises(TxReverted, match="market already created"):
        env.send(env.owner, env.morpho, "createMarket", book.p)
    with pytest.raises(TxReverted, match="LLTV not enabled"):
        env.send(env.owner, env.morpho, "createMarket", book.p[:4] + (LLTV + 1,))
    with pytest.raises(TxReverted, match="max LLTV exceeded"):
        env.send(env.owner, env.morpho, "enableLltv", WAD)


# ------------------------------------------------------------------ supply, collateral, borrow, repay
def test_supply_collateral_borrow_and_repay_match_the_model_to_the_wei(env):
    book = open_market(env)
    alice, bob = lend_and_borrow(book, supplied=10_000 * 10**6, collateral=5 * WAD, borrowed=7_654_321_987)
    book.assert_matches_model(alice.address, bob.address)
    assert book.balance(book.loan, bob.address) == 7_654_321_987
    assert book.balance(book.loan, env.morpho.address) == 10_000 * 10**6 - 7_654_321_987
    # 5 ETH at 2000 with an 86 % LLTV: 8,600 USDC at most.
    expect_revert("insufficient collateral",
                  lambda: env.send(bob, env.morpho, "borrow", book.p, 945_678_014, 0, bob.address, bob.address),
                  lambda: book.model.borrow(env.now(), bob.address, book.price(), assets=945_678_014))
    carol = env.user("carol")
    book.fund(carol, book.loan, 10**6)
    env.send(carol, env.morpho, "supply", book.p, 0, 123_456_789, carol.address, b"")  # by shares: assets round up
    assets, _ = book.model.supply(env.now(), carol.address, shares=123_456_789)
    assert book.balance(book.loan, carol.address) == 10**6 - assets
    half = book.model.position(bob.address).borrow_shares // 2
    env.send(bob, book.loan, "approve", env.morpho.address, MAX)
    env.send(bob, env.morpho, "repay", book.p, 0, half, bob.address, b"")
    repaid, _ = book.model.repay(env.now(), bob.address, shares=half)
    assert book.balance(book.loan, bob.address) == 7_654_321_987 - repaid
    book.assert_matches_model(alice.address, bob.address, carol.address)


# ------------------------------------------------------------------ interest
def test_interest_accrues_at_the_kinked_rate_and_the_fee_is_minted_to_the_fee_recipient(env):
    book = open_market(env, fee=FEE)
    alice, bob = lend_and_borrow(book, supplied=10_000 * 10**6, collateral=10 * WAD, borrowed=8_500 * 10**6)
    env.chain.advance(30 * DAY)
    before = book.model.market
    assert pm.utilization(before.total_borrow_assets, before.total_supply_assets) > RATES.kink  # on the steep slope
    receipt = env.send(env.owner, env.morpho, "accrueInterest", book.p)
    accrual = book.model.accrue(env.now())
    assert accrual.interest > 0 and accrual.fee_shares > 0
    [event] = env.morpho_event(receipt, "AccrueInterest")
    assert (event["prevBorrowRate"], event["interest"], event["feeShares"]) == \
        (kinked_rate(before), accrual.interest, accrual.fee_shares)
    book.assert_matches_model(alice.address, bob.address)
    assert book.position(env.fee_recipient).supply_shares == accrual.fee_shares
    # Another year without touching the market: Morpho compounds it in one step (three Taylor terms).
    env.chain.advance(365 * DAY)
    env.send(env.owner, env.morpho, "accrueInterest", book.p)
    book.model.accrue(env.now())
    book.assert_matches_model(alice.address, bob.address)


def test_kinked_irm_charges_what_the_vault_rate_model_charges_at_the_same_utilisation(env):
    """KinkedIrm (Morpho) and contracts/InterestRateModel.sol (our vault), both on chain, against the model."""
    vault_irm = env.chain.deploy(env.owner, env.sim, "InterestRateModel", RATES.base, RATES.slope1, RATES.slope2,
                                 RATES.kink)
    params = ("0x" + "00" * 20,) * 4 + (LLTV,)
    for supplied, borrowed in ((0, 0), (10**6, 0), (10**6, 1), (1000, 799), (1000, 800), (1000, 801), (3, 2),
                               (10**30, 10**30 - 1), (10**6, 10**6), (100, 101)):
        market = Market(supplied, supplied * 10**6, borrowed, borrowed * 10**6, 0, 0)
        u = pm.utilization(borrowed, supplied)
        expected = RATES.per_second(u)
        assert env.call(env.irm, "borrowRateView", params, astuple(market)) == expected
        assert env.call(env.irm, "borrowRate", params, astuple(market)) == expected
        assert env.call(vault_irm, "borrowRatePerSecond", u) == expected
    with pytest.raises(ChainError, match=r"InvalidKink\(0\)"):
        env.chain.deploy(env.owner, env.peers, "KinkedIrm", 0, 0, 0, 0)


# ------------------------------------------------------------------ oracle
def test_the_pair_oracle_prices_every_decimal_combination_as_the_reference_formula(env):
    owner, chain = env.owner, env.chain
    answers = {8: 2_012_345_678_901, 18: 2_012_345_678_901_234_567_891}  # $20,123.46… (collateral)
    loan_answers = {8: 99_987_654, 18: 999_876_543_210_987_654}  # $0.99987… (loan)
    coll_feeds = {d: chain.deploy(owner, env.sim, "SettableAggregator", d, answers[d]) for d in (8, 18)}
    loan_feeds = {d: chain.deploy(owner, env.sim, "SettableAggregator", d, loan_answers[d]) for d in (8, 18)}
    for coll_dec in (18, 8, 6):
        for loan_dec in (18, 8, 6):
            for cf in (8, 18):
                for lf in (8, 18):
                    oracle = chain.deploy(owner, env.peers, "ChainlinkPairOracle", coll_feeds[cf].address,
                                          loan_feeds[lf].address, coll_dec, loan_dec)
                    expected = scale_factor(coll_dec, cf, loan_dec, lf) * answers[cf] // loan_answers[lf]
                    assert env.call(oracle, "price") == expected, (coll_dec, loan_dec, cf, lf)
    # WBTC (8 decimals) at $20,123.46 and USDC (6 decimals) at $0.99987: 1 WBTC = 20,125.94 USDC, so one
    # satoshi is worth 201.259… USDC units, × 1e36
    assert scale_factor(8, 8, 6, 8) * answers[8] // loan_answers[8] == 201_259_415_377_522_508_928_952_368_459_409_998_758


def test_the_pair_oracle_reverts_on_a_negative_answer_and_on_a_negative_scale_exponent(env):
    owner, chain = env.owner, env.chain
    coll_feed = chain.deploy(owner, env.sim, "SettableAggregator", 8, 2000 * USD_8)
    loan_feed = chain.deploy(owner, env.sim, "SettableAggregator", 8, USD_8)
    oracle = chain.deploy(owner, env.peers, "ChainlinkPairOracle", coll_feed.address, loan_feed.address, 18, 6)
    env.send(owner, coll_feed, "setAnswer", -1)
    with pytest.raises(TxReverted) as negative:
        env.call(oracle, "price")
    assert negative.value.reason == f"NegativeAnswer({coll_feed.address.lower()}, -1)"
    env.send(owner, coll_feed, "setAnswer", 0)  # zero is not checked, as in the reference: the collateral is worthless
    assert env.call(oracle, "price") == 0
    with pytest.raises(ChainError, match=r"ScaleExponentNegative\(48, 44\)"):  # 40 + 8 > 36 + 0 + 8
        chain.deploy(owner, env.peers, "ChainlinkPairOracle", coll_feed.address, loan_feed.address, 40, 0)


# ------------------------------------------------------------------ health at the boundary, liquidation
def test_an_account_is_liquidatable_exactly_when_the_model_says_so_one_wei_of_price_either_side(env):
    # The loan feed answers SCALE_FACTOR, so price() is the collateral answer itself and moves by one wei.
    scale = scale_factor(18, 8, 18, 8)
    book = open_market(env, loan_decimals=18, coll_answer=2000 * 10**36, loan_answer=scale)
    assert book.price() == 2000 * 10**36
    alice, bob = lend_and_borrow(book, supplied=100_000 * WAD, collateral=10 * WAD + 12_345, borrowed=15_000 * WAD)
    env.chain.advance(DAY)  # some interest, so that shares and assets no longer convert round
    env.send(env.owner, env.morpho, "accrueInterest", book.p)
    book.model.accrue(env.now())
    book.assert_matches_model(alice.address, bob.address)

    market, position = book.model.market, book.model.position(bob.address)
    lo, hi = 1, 2000 * 10**36  # unhealthy at lo, healthy at hi: bisect to the lowest healthy price
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if mb.is_healthy(position, market, mid, LLTV) else (mid, hi)
    boundary = hi
    assert mb.health_factor(position, market, boundary, LLTV) >= WAD > mb.health_factor(position, market,
                                                                                         boundary - 1, LLTV)
    carol = env.user("carol")
    book.fund(carol, book.loan, 1_000 * WAD)
    book.set_collateral_answer(boundary)
    assert book.price() == boundary
    expect_revert("position is healthy",
                  lambda: env.send(carol, env.morpho, "liquidate", book.p, bob.address, 10**15, 0, b""),
                  lambda: book.model.liquidate(env.now(), bob.address, boundary, seized_assets=10**15))
    book.set_collateral_answer(boundary - 1)
    assert book.price() == boundary - 1
    env.send(carol, env.morpho, "liquidate", book.p, bob.address, 10**15, 0, b"")
    result = book.model.liquidate(env.now(), bob.address, boundary - 1, seized_assets=10**15)
    book.assert_matches_model(alice.address, bob.address)
    assert book.balance(book.coll, carol.address) == 10**15
    assert book.balance(book.loan, carol.address) == 1_000 * WAD - result.repaid_assets


def test_a_partial_liquidation_by_seized_assets_then_a_full_one_that_realises_bad_debt(env):
    book = open_market(env)
    alice, bob = lend_and_borrow(book, supplied=100_000 * 10**6, collateral=10 * WAD, borrowed=17_000 * 10**6)
    liquidator = env.user("liquidator")
    book.fund(liquidator, book.loan, 50_000 * 10**6)
    env.chain.advance(7 * DAY)
    book.set_collateral_answer(1_900 * USD_8)  # maxBorrow 10 × 1,900 × 0.86 = 16,340 < 17,000 + interest
    price = book.price()
    assert not mb.is_healthy(book.model.position(bob.address), book.model.expected(env.now()).market, price, LLTV)

    receipt = env.send(liquidator, env.morpho, "liquidate", book.p, bob.address, 3 * WAD, 0, b"")
    partial = book.model.liquidate(env.now(), bob.address, price, seized_assets=3 * WAD)
    book.assert_matches_model(alice.address, bob.address)
    [event] = env.morpho_event(receipt, "Liquidate")
    assert (event["repaidAssets"], event["repaidShares"], event["seizedAssets"], event["badDebtAssets"],
            event["badDebtShares"]) == (partial.repaid_assets, partial.repaid_shares, 3 * WAD, 0, 0)
    assert book.balance(book.coll, liquidator.address) == 3 * WAD
    assert book.balance(book.loan, liquidator.address) == 50_000 * 10**6 - partial.repaid_assets

    env.chain.advance(DAY)
    book.set_collateral_answer(1_000 * USD_8)  # the 7 ETH left are worth 7,000 against ~11,300 of debt
    price = book.price()
    supply_before = book.model.expected(env.now()).market.total_supply_assets
    receipt = env.send(liquidator, env.morpho, "liquidate", book.p, bob.address, 7 * WAD, 0, b"")
    full = book.model.liquidate(env.now(), bob.address, price, seized_assets=7 * WAD)
    assert full.bad_debt_assets > 3_000 * 10**6 and full.bad_debt_shares > 0
    book.assert_matches_model(alice.address, bob.address)
    assert book.position(bob.address) == Position(0, 0, 0)
    assert book.market().total_supply_assets == supply_before - full.bad_debt_assets  # suppliers absorb it
    [event] = env.morpho_event(receipt, "Liquidate")
    assert (event["repaidAssets"], event["seizedAssets"], event["badDebtAssets"], event["badDebtShares"]) == \
        (full.repaid_assets, 7 * WAD, full.bad_debt_assets, full.bad_debt_shares)
    assert book.balance(book.coll, liquidator.address) == 10 * WAD


# ------------------------------------------------------------------ MorphoReader
def test_the_reader_batch_equals_the_individual_getters_after_accrual(env):
    a = open_market(env, fee=FEE)
    alice, bob = lend_and_borrow(a, supplied=10_000 * 10**6, collateral=10 * WAD, borrowed=7_000 * 10**6)
    b = open_market(env)  # its loan feed goes negative: the oracle reverts, the batch does not
    carol = env.user("carol")
    b.fund(carol, b.loan, 500 * 10**6)
    env.send(carol, env.morpho, "supply", b.p, 500 * 10**6, 0, carol.address, b"")
    b.model.supply(env.now(), carol.address, assets=500 * 10**6)
    env.send(env.owner, b.loan_feed, "setAnswer", -7)
    # A market whose oracle has no code (Morpho does not check it at creation).
    c_params = a.p[:2] + (carol.address,) + a.p[3:]
    env.send(env.owner, env.morpho, "createMarket", c_params)
    c_id = mb.MarketParams(*c_params).id()

    env.chain.advance(10 * DAY)
    now = env.now()
    queries = [(0, alice.address), (0, bob.address), (0, env.fee_recipient), (1, carol.address), (2, carol.address)]
    feeds = [a.coll_feed.address, a.loan_feed.address, env.morpho.address]  # Morpho has no latestRoundData
    timestamp, markets, positions, answers = env.call(env.reader, "snapshot", env.morpho.address,
                                                      [a.p, b.p, c_params], queries, feeds)
    assert [tuple(f[:2]) for f in answers] == [(True, env.call(a.coll_feed, "latestRoundData")[1]),
                                               (True, env.call(a.loan_feed, "latestRoundData")[1]), (False, 0)]
    assert timestamp == now
    expected_a = a.model.expected(now)
    assert expected_a.interest > 0 and expected_a.fee_shares > 0
    for state, book in ((markets[0], a), (markets[1], b)):
        accrued = book.model.expected(now).market
        assert state[0] == book.id
        assert state[1:7] == (accrued.total_supply_assets, accrued.total_supply_shares, accrued.total_borrow_assets,
                              accrued.total_borrow_shares, book.model.market.last_update, accrued.fee)
    assert markets[0][7:] == (True, 2000 * 10**24, b"")  # 10^(36 + 6 + 8 - 18 - 8) × 2000e8 / 1e8
    assert markets[1][7:9] == (False, 0)
    assert env.chain.decoder.decode(markets[1][9]) == f"NegativeAnswer({b.loan_feed.address.lower()}, -7)"
    assert (markets[2][0], markets[2][5], markets[2][7:]) == (c_id, now - 10 * DAY, (False, 0, b""))

    # Now accrue both markets for real, at the same timestamp: the getters must show what the batch showed.
    env.send(env.owner, env.morpho, "accrueInterest", a.p)
    env.send(env.owner, env.morpho, "accrueInterest", b.p)
    assert env.now() == now
    a.model.accrue(now)
    b.model.accrue(now)
    for state, book in ((markets[0], a), (markets[1], b)):
        m = book.market()
        assert state[1:5] + (state[6],) == (m.total_supply_assets, m.total_supply_shares, m.total_borrow_assets,
                                            m.total_borrow_shares, m.fee)
        assert m.last_update == now
    a.assert_matches_model(alice.address, bob.address)
    b.assert_matches_model(carol.address)
    for (index, who), got in zip(queries, positions):
        book_id = (a.id, b.id, c_id)[index]
        assert tuple(got) == tuple(env.call(env.morpho, "position", book_id, who)), (index, who)
    assert positions[2][0] == a.model.position(env.fee_recipient).supply_shares  # pending fee shares included
    assert env.call(a.oracle, "price") == markets[0][8]
    with pytest.raises(TxReverted, match=r"MarketIndexOutOfRange\(0, 1, 1\)"):
        env.call(env.reader, "snapshot", env.morpho.address, [a.p], [(1, alice.address)], [])


# ------------------------------------------------------------------ MorphoKeeper
def test_the_keeper_reports_a_failing_liquidation_with_failed_and_runs_the_rest(env):
    book = open_market(env)
    alice, bob = lend_and_borrow(book, supplied=100_000 * 10**6, collateral=10 * WAD, borrowed=17_000 * 10**6)
    dave = env.user("dave")  # a safe borrower: 10 ETH against 5,000
    book.fund(dave, book.coll, 10 * WAD)
    env.send(dave, env.morpho, "supplyCollateral", book.p, 10 * WAD, dave.address, b"")
    book.model.supply_collateral(dave.address, 10 * WAD)
    env.send(dave, env.morpho, "borrow", book.p, 5_000 * 10**6, 0, dave.address, dave.address)
    book.model.borrow(env.now(), dave.address, book.price(), assets=5_000 * 10**6)

    bot = env.user("keeper-owner")
    keeper = env.chain.deploy(bot, env.peers, "MorphoKeeper", env.morpho.address)
    env.send(env.owner, book.loan, "mint", keeper.address, 20_000 * 10**6)
    env.send(bot, keeper, "approveAll", [book.loan.address])
    book.set_collateral_answer(1_700 * USD_8)  # bob: 14,620 of maxBorrow for 17,000; dave still healthy
    price = book.price()
    ops = [(book.p, dave.address, WAD, 0), (book.p, bob.address, 4 * WAD, 0), (book.p, bob.address, 0, 0),
           (book.p, bob.address, 0, 10**6 * 1000)]
    with pytest.raises(TxReverted, match=r"NotOwner"):
        env.send(alice, keeper, "run", ops)
    receipt = env.send(bot, keeper, "run", ops)

    failed = keeper.events.Failed().process_receipt(receipt, errors=DISCARD)
    reasons = {e["args"]["index"]: env.chain.decoder.decode(e["args"]["reason"]) for e in failed}
    assert reasons == {0: "Error('position is healthy')", 2: "Error('inconsistent input')"}
    with pytest.raises(MorphoRevert, match="position is healthy"):
        book.model.liquidate(env.now(), dave.address, price, seized_assets=WAD)
    first = book.model.liquidate(env.now(), bob.address, price, seized_assets=4 * WAD)
    second = book.model.liquidate(env.now(), bob.address, price, repaid_shares=10**6 * 1000)
    assert [e["seizedAssets"] for e in env.morpho_event(receipt, "Liquidate")] == [4 * WAD, second.seized_assets]
    book.assert_matches_model(alice.address, bob.address, dave.address)
    assert book.balance(book.coll, keeper.address) == 4 * WAD + second.seized_assets
    assert book.balance(book.loan, keeper.address) == 20_000 * 10**6 - first.repaid_assets - second.repaid_assets
