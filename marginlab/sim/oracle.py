"""The price side of a replay: the market path, the shared Chainlink-style feeds, and the scenario's oracle faults.

All of a step's new rounds go out in one ``SimBatcher.setAnswers`` transaction. A live feed re-posts before half
its heartbeat has passed, as Chainlink does, so time alone never makes a price stale; ``oracle: stale`` does
that on purpose, ``zero`` and ``negative`` post a bad answer, ``ok`` heals the feed. The faults that exercise
the router's guards (docs/oracle-guards.md): ``clamp:P`` makes the feed report at least P (a Chainlink aggregator's
minAnswer) while the market path goes on beneath it, ``misprice:K`` reports the market price × 10^K, both until
``ok``; ``sequencer: down`` / ``up`` write the sequencer uptime feed (its grace period starts when it comes up).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Callable

from marginlab.numbers import to_units, units_floor
from marginlab.protocols.world import World
from marginlab.scenario.guards import SEQUENCER, clamp_floor, misprice_exp
from marginlab.scenario.plan import PlannedStep
from marginlab.sim.oracle_models import OracleModels

# A new uptime round writes fresh storage; the set-up write overwrote round 1, so its learnt gas is too low.
SEQUENCER_GAS = 200_000


class Oracle:
    def __init__(self, world: World, initial: dict[str, Decimal]) -> None:
        self.world = world
        self.chain = world.chain
        #: the market path: the price of each asset now (what the feeds post unless faulted)
        self.prices: dict[str, Decimal] = dict(initial)
        #: symbol → fault in force ("stale", "zero", "negative", "clamp:P", "misprice:K"; "sequencer" → "down")
        self.faults: dict[str, str] = {}
        self.rounds: dict[str, int] = {}
        self.pushed_at: dict[str, int] = {s: 0 for s in world.markets}  # sim time of each feed's last round
        self.sim_time = 0
        self._pending: dict[str, int] = {}  # feed symbol → answer, written by the next flush
        self.sequencer_round = 1  # the uptime feed's latest round (set-up writes round 1: up since long ago)
        #: oracle models other than exact (scenario ``oracles:``): their feeds post :attr:`posted`, not the path
        self.models: OracleModels | None = None
        self.posted: dict[str, Decimal] = {}

    @property
    def feed_prices(self) -> dict[str, Decimal]:
        """What each feed reports (before faults): the path, or a model's last answer (``oracles:``)."""
        return {**self.prices, **self.posted} if self.posted else self.prices

    def _base(self, sym: str) -> Decimal:
        return self.posted.get(sym, self.prices[sym])

    def deployed(self, rounds: dict[str, int]) -> None:
        self.rounds = dict(rounds)

    def answer(self, sym: str, price: Decimal) -> int:
        return to_units(price, self.world.markets[sym].feed_decimals)

    def reported(self, sym: str) -> Decimal:
        """What the feed reports for the market price: clamped at a floor, or mispriced by a power of ten."""
        fault = self.faults.get(sym, "")
        floor, k = clamp_floor(fault), misprice_exp(fault)
        if floor is not None:
            return max(floor, self._base(sym))
        if k is not None:
            return self._base(sym).scaleb(k)
        return self._base(sym)

    def advance(self, seconds: int, step: PlannedStep) -> None:
        """Move the chain's clock and re-post every live feed whose last round is half a heartbeat old."""
        self.chain.advance(seconds)
        self.sim_time += seconds
        for sym, market in self.world.markets.items():
            due = self.sim_time - self.pushed_at[sym] >= market.heartbeat // 2
            if self._live(sym) and sym not in step.prices and due:
                self.push(sym)

    def apply(self, step: PlannedStep, markets_moved: Callable[[], None] | None = None) -> None:
        """The step's faults, then its prices; every round goes out in one transaction. With oracle models
        (``oracles:``), ``markets_moved`` runs once the path has moved (the pools' crunch and arbitrage), then
        each model's new answer is posted in the same transaction."""
        for sym, fault in step.oracle.items():
            self.set_fault(sym, fault)
        modelled = self.models.symbols if self.models is not None else set()
        for sym, price in step.prices.items():
            self.prices[sym] = price
            if self._live(sym) and sym not in modelled:
                self.push(sym)
        if markets_moved is not None:
            markets_moved()
        if self.models is not None:
            feed_decimals = {s: m.feed_decimals for s, m in self.world.markets.items()}
            for sym, answer in self.models.update(step.index, self.sim_time, self.prices, feed_decimals).items():
                if answer != self.posted.get(sym):
                    self.posted[sym] = answer
                    if self._live(sym):
                        self.push(sym)
        self.flush()
        if self.world.after_prices is not None:
            self.world.after_prices()  # circuit breakers: the keeper pokes once the step's rounds are in

    def _live(self, sym: str) -> bool:
        """Whether the feed posts new rounds: healthy, clamped or mispriced (a stale or bad feed does not)."""
        fault = self.faults.get(sym)
        return fault is None or clamp_floor(fault) is not None or misprice_exp(fault) is not None

    def push(self, sym: str) -> None:
        reported = self.reported(sym)
        units = self.answer(sym, reported) if reported == self._base(sym) else \
            max(1, units_floor(reported, self.world.markets[sym].feed_decimals))  # a misprice by 10^-k rounds down
        self._queue(sym, units)
        self.pushed_at[sym] = self.sim_time

    def _queue(self, sym: str, answer: int) -> None:
        """A new round for ``sym``; all queued rounds go out in one transaction (:meth:`flush`). Two rounds for one
        feed in a step are written in order (the first flushed before the second is queued)."""
        if sym in self._pending:
            self.flush()
        self._pending[sym] = answer
        self.rounds[sym] += 1

    def flush(self) -> None:
        if not self._pending:
            return
        world = self.world
        pending, self._pending = self._pending, {}
        data = world.batcher.functions.setAnswers([world.feeds[s].address for s in pending],
                                                  list(pending.values()))._encode_transaction_data()
        # Gas depends on the number of feeds only: learnt per count, like any other function. Nothing reads its
        # receipt: in per-step mining it joins the step's block; a revert is raised when that is mined.
        self.chain.submit_data(world.deployer, world.batcher.address, data, "setAnswers",
                               gas_key=(world.batcher.address, f"setAnswers/{len(pending)}"))

    def set_fault(self, sym: str, fault: str) -> None:
        world = self.world
        if sym == SEQUENCER:
            self.set_sequencer(fault)
            return
        units = self.answer(sym, self._base(sym))
        if fault == "ok":
            self.faults.pop(sym, None)
            self.push(sym)
            return
        self.faults[sym] = fault
        if fault == "stale":
            self.flush()
            heartbeat = world.markets[sym].heartbeat
            updated = max(1, self.chain.latest_timestamp() - heartbeat - 1)
            round_id = self.rounds[sym] + 1
            self.chain.transact(world.deployer, world.batcher, "setRoundData", world.feeds[sym].address, round_id,
                                units, updated, updated, round_id)
            self.rounds[sym] = round_id
        elif clamp_floor(fault) is not None or misprice_exp(fault) is not None:
            self.push(sym)
        else:
            self._queue(sym, 0 if fault == "zero" else -units)

    def set_sequencer(self, state: str) -> None:
        """The uptime feed reports down (1) or up (0) from this block: a new round started now."""
        world = self.world
        assert world.sequencer is not None, "sequencer faults need the scenario's sequencer:"
        self.flush()
        now = self.chain.latest_timestamp()
        self.sequencer_round += 1
        round_id = self.sequencer_round
        self.chain.transact(world.deployer, world.batcher, "setRoundData", world.sequencer.address, round_id,
                            1 if state == "down" else 0, now, now, round_id, gas=SEQUENCER_GAS)
        if state == "down":
            self.faults[SEQUENCER] = "down"
        else:
            self.faults.pop(SEQUENCER, None)
