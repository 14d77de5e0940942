"""Reading Morpho Blue: one ``MorphoReader.snapshot`` call returns every pair market accrued to now, every asked
position, and the shared feeds' latest answers; positions are valued here with Morpho's own rounding.

Health on Morpho: a position may owe up to ``collateral × price / 1e36 × LLTV`` (``maxBorrow``) of its loan asset,
and is liquidatable when it owes more. The timeline's health figures carry that over: ``health_factor =
maxBorrow / borrowed`` (WAD), ``health_maint = health_init = (maxBorrow − borrowed)`` valued in USD at the loan
feed's price (rounded toward −∞, so a position Morpho would liquidate always shows a negative health).
"""
from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from marginlab.model.vault import RateModel, utilization
from marginlab.numbers import wad
from marginlab.protocols.morpho_blue.layout import Layout, Pair
from marginlab.protocols.morpho_blue.math import WAD, max_borrow, mul_div_down, mul_div_up, to_assets_down, to_assets_up
from marginlab.protocols.world import World
from marginlab.scenario.fields import SECONDS_PER_YEAR
from marginlab.timeline import MarketState, PairState, SubAccountState

VIRTUAL_SHARES = 10**6


@dataclass(frozen=True)
class PairNow:
    pair: Pair
    supply_assets: int
    supply_shares: int
    borrow_assets: int
    borrow_shares: int
    fee: int
    price: int | None
    price_error: bytes


@dataclass(frozen=True)
class PositionNow:
    supply_shares: int
    borrow_shares: int
    collateral: int


@dataclass
class Snapshot:
    pairs: list[PairNow]
    positions: list[PositionNow]
    usd: dict[str, int]  # asset → USD per whole token (WAD) from its feed; 0 when the feed has no usable answer

    def borrowed(self, m: int, p: PositionNow) -> int:
        s = self.pairs[m]
        return to_assets_up(p.borrow_shares, s.borrow_assets, s.borrow_shares)

    def supplied(self, m: int, p: PositionNow) -> int:
        s = self.pairs[m]
        return to_assets_down(p.supply_shares, s.supply_assets, s.supply_shares)


def usd_price(answer: int, feed_decimals: int) -> int:
    """A feed answer as USD per whole token in WAD, as the vault's router normalises it (0 for no usable answer)."""
    if answer <= 0:
        return 0
    return answer * 10 ** (18 - feed_decimals) if feed_decimals <= 18 else answer // 10 ** (feed_decimals - 18)


class MorphoReads:
    def __init__(self, world: World, morpho: Contract, reader: Contract, layout: Layout,
                 params: list[tuple[str, str, str, str, int]], fee_recipient: str) -> None:
        self.world = world
        self.chain = world.chain
        self.morpho = morpho
        self.reader = reader
        self.layout = layout
        self.params = params
        self.fee_recipient = fee_recipient
        self._seen: tuple[tuple[int, int], Snapshot] | None = None

    def snapshot(self, queries: list[tuple[int, str]]) -> Snapshot:
        """Markets, the asked (market index, address) positions, and every market's fee recipient, in one call."""
        symbols = list(self.world.markets)
        fee_queries = [(m, self.fee_recipient) for m in range(len(self.params))]
        feeds = [self.world.feeds[s].address for s in symbols]
        _ts, markets, positions, answers = self.chain.call(self.reader, "snapshot", self.morpho.address, self.params,
                                                           queries + fee_queries, feeds)
        pairs = [PairNow(pair, int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[6]),
                         int(m[8]) if m[7] else None, b"" if m[7] else bytes(m[9]))
                 for pair, m in zip(self.layout.pairs, markets, strict=False)]
        usd = {s: usd_price(int(a[1]), self.world.markets[s].feed_decimals) if a[0] else 0
               for s, a in zip(symbols, answers, strict=False)}
        snap = Snapshot(pairs, [PositionNow(int(p[0]), int(p[1]), int(p[2])) for p in positions], usd)
        self._seen = ((self.chain.tx_count, self.chain.last_block), snap)
        return snap

    def latest(self) -> Snapshot:
        """The last snapshot while no transaction or block followed it; a new one otherwise."""
        if self._seen is None or self._seen[0] != (self.chain.tx_count, self.chain.last_block):
            return self.snapshot([])
        return self._seen[1]

    # ------------------------------------------------------------------------------------------------ values
    def value(self, sym: str, units: int, usd: dict[str, int], up: bool = False) -> int:
        unit = 10 ** self.world.markets[sym].decimals
        return mul_div_up(units, usd[sym], unit) if up else mul_div_down(units, usd[sym], unit)

    def borrower_state(self, snap: Snapshot, m: int, p: PositionNow) -> SubAccountState:
        pair = self.layout.pairs[m]
        borrowed = snap.borrowed(m, p)
        balances: dict[str, int] = {}
        for sym in self.world.markets:  # listing order, as the vault writes balances
            if sym == pair.collateral and p.collateral > 0:
                balances[sym] = p.collateral
            elif sym == pair.loan and borrowed > 0:
                balances[sym] = -borrowed
        price = snap.pairs[m].price or 0
        limit = max_borrow(p.collateral, price, pair.lltv)
        unit = 10 ** self.world.markets[pair.loan].decimals
        health = (limit - borrowed) * snap.usd[pair.loan] // unit  # floor: a shortfall stays negative
        hf = None if borrowed == 0 else mul_div_down(limit, WAD, borrowed)
        return SubAccountState(balances, health, health, hf, self.value(pair.collateral, p.collateral, snap.usd),
                               self.value(pair.loan, borrowed, snap.usd, up=True))

    def lender_state(self, snap: Snapshot, supplied: dict[str, int]) -> SubAccountState:
        balances = {s: supplied[s] for s in self.world.markets if supplied.get(s, 0) > 0}
        value = sum(self.value(s, a, snap.usd) for s, a in balances.items())
        return SubAccountState(balances, 0, 0, None, value, 0)

    # ------------------------------------------------------------------------------------------------ markets
    def market_states(self, snap: Snapshot, reserves: dict[str, int]) -> dict[str, MarketState]:
        """Per asset, over the pair markets that lend it: totals, the fee recipient's claim as reserves, an
        aggregate share price as both indexes (WAD at the start), utilisation, and borrow-weighted rates."""
        out: dict[str, MarketState] = {}
        for sym in self.world.markets:
            lent = [(i, s) for i, s in enumerate(snap.pairs) if s.pair.loan == sym]
            dep = sum(s.supply_assets for _, s in lent)
            bor = sum(s.borrow_assets for _, s in lent)
            dep_index = (sum(s.supply_assets for _, s in lent) + len(lent)) * VIRTUAL_SHARES * WAD // max(
                1, sum(s.supply_shares for _, s in lent) + VIRTUAL_SHARES * len(lent)) if lent else WAD
            bor_index = (sum(s.borrow_assets for _, s in lent) + len(lent)) * VIRTUAL_SHARES * WAD // max(
                1, sum(s.borrow_shares for _, s in lent) + VIRTUAL_SHARES * len(lent)) if lent else WAD
            rates = [(s.borrow_assets, self.borrow_rate(sym, s), s) for _, s in lent]
            bor_rate = sum(b * r for b, r, _ in rates) // bor if bor else (rates[0][1] if rates else 0)
            sup_rate = sum(b * r * (WAD - s.fee) // WAD for b, r, s in rates) // dep if dep else 0
            out[sym] = MarketState(dep, bor, reserves.get(sym, 0), dep_index, bor_index, utilization(bor, dep),
                                   bor_rate, sup_rate)
        return out

    def borrow_rate(self, sym: str, s: PairNow) -> int:
        """The loan asset's kinked rate per year at this market's utilisation (KinkedIrm's integer math)."""
        irm = self.world.markets[sym].irm
        model = RateModel(wad(irm.base), wad(irm.slope1), wad(irm.slope2), wad(irm.kink))
        return model.per_second(utilization(s.borrow_assets, s.supply_assets)) * SECONDS_PER_YEAR

    def pair_states(self, snap: Snapshot) -> dict[str, PairState]:
        return {s.pair.name: PairState(s.pair.collateral, s.pair.loan, s.pair.lltv, s.supply_assets, s.supply_shares,
                                       s.borrow_assets, s.borrow_shares, utilization(s.borrow_assets, s.supply_assets),
                                       self.borrow_rate(s.pair.loan, s), s.fee, s.price)
                for s in snap.pairs}

    def reserves(self, snap: Snapshot) -> dict[str, int]:
        """The fee recipient's supply, per loan asset (the fee queries are the snapshot's last positions)."""
        out: dict[str, int] = {}
        fees = snap.positions[len(snap.positions) - len(snap.pairs):]
        for m, p in enumerate(fees):
            sym = snap.pairs[m].pair.loan
            out[sym] = out.get(sym, 0) + snap.supplied(m, p)
        return out


__all__ = ["MorphoReads", "Snapshot", "PositionNow", "PairNow", "usd_price"]
