"""How a feed follows the market path (scenario ``oracles:``, issue 17): ``push`` (Chainlink-like deviation and
heartbeat, posted after a delay) and ``pool-twap`` (a pool's time-weighted average price). ``exact`` (the default)
needs no model: the feed posts the path, as it always did.

Each model is asked once per step, after the step's market prices, pool crunches and arbitrage, for the answer the
feed should post now (None: no new round). Delays and windows count steps and scenario seconds, never blocks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from marginlab.numbers import EXACT, quantize_places
from marginlab.scenario.friction import ExactOracle, PushOracle, TwapOracle
from marginlab.sim.pools import Pools


@dataclass
class PushModel:
    spec: PushOracle
    #: the path price that triggered the last round, and when (scenario seconds)
    last: Decimal
    last_time: int = 0
    #: rounds triggered but not yet posted: (due step or due time, price)
    pending: list[tuple[int, Decimal]] = field(default_factory=list)

    def update(self, step: int, now: int, market: Decimal) -> Decimal | None:
        spec = self.spec
        with localcontext(EXACT):
            moved = abs(market - self.last) / self.last > spec.deviation
        if moved or now - self.last_time >= spec.heartbeat:
            due = now + spec.delay_seconds if spec.delay_seconds is not None else step + (spec.delay or 0)
            self.pending.append((due, market))
            self.last, self.last_time = market, now
        clock = now if spec.delay_seconds is not None else step
        ready = [p for due, p in self.pending if due <= clock]
        self.pending = [(due, p) for due, p in self.pending if due > clock]
        return ready[-1] if ready else None


@dataclass
class TwapModel:
    spec: TwapOracle
    pools: Pools
    symbol: str

    def update(self, step: int, now: int, market: dict[str, Decimal], feed_decimals: int) -> Decimal:
        """The pool's TWAP (quote per base) times the quote asset's path price, at the feed's decimals."""
        pool = self.pools.specs[self.spec.pool]
        twap = self.pools.twap(self.spec.pool, now, self.spec.window)
        with localcontext(EXACT):
            return quantize_places(twap * market[pool.quote], feed_decimals)


class OracleModels:
    """Every asset's model other than exact; :meth:`update` gives the new answers of a step."""

    def __init__(self, specs: dict[str, ExactOracle | PushOracle | TwapOracle], initial: dict[str, Decimal],
                 pools: Pools | None) -> None:
        self.push: dict[str, PushModel] = {}
        self.twap: dict[str, TwapModel] = {}
        for sym, spec in specs.items():
            if isinstance(spec, PushOracle):
                self.push[sym] = PushModel(spec, initial[sym])
            elif isinstance(spec, TwapOracle):
                assert pools is not None, "a pool-twap oracle needs its pool"
                self.twap[sym] = TwapModel(spec, pools, sym)

    @property
    def symbols(self) -> set[str]:
        return set(self.push) | set(self.twap)

    def update(self, step: int, now: int, market: dict[str, Decimal],
               feed_decimals: dict[str, int]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for sym, push in sorted(self.push.items()):
            answer = push.update(step, now, market[sym])
            if answer is not None:
                out[sym] = answer
        for sym, twap in sorted(self.twap.items()):
            out[sym] = twap.update(step, now, market, feed_decimals[sym])
        return out


__all__ = ["OracleModels", "PushModel", "TwapModel"]
