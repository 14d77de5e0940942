"""The price side of a replay: the market path, the shared Chainlink-style feeds, and the scenario's oracle faults.

All of a step's new rounds go out in one ``SimBatcher.setAnswers`` transaction. A live feed re-posts before half
its heartbeat has passed, as Chainlink does, so time alone never makes a price stale; ``oracle: stale`` does
that on purpose, ``zero`` and ``negative`` post a bad answer, ``ok`` heals the feed.
"""
from __future__ import annotations

from decimal import Decimal

from marginlab.numbers import to_units
from marginlab.protocols.world import World
from marginlab.scenario.plan import PlannedStep


class Oracle:
    def __init__(self, world: World, initial: dict[str, Decimal]) -> None:
        self.world = world
        self.chain = world.chain
        #: the market path: the price of each asset now (what the feeds post unless faulted)
        self.prices: dict[str, Decimal] = dict(initial)
        #: symbol → fault in force ("stale", "zero", "negative")
        self.faults: dict[str, str] = {}
        self.rounds: dict[str, int] = {}
        self.pushed_at: dict[str, int] = {s: 0 for s in world.markets}  # sim time of each feed's last round
        self.sim_time = 0
        self._pending: dict[str, int] = {}  # feed symbol → answer, written by the next flush

    def deployed(self, rounds: dict[str, int]) -> None:
        self.rounds = dict(rounds)

    def answer(self, sym: str, price: Decimal) -> int:
        return to_units(price, self.world.markets[sym].feed_decimals)

    def advance(self, seconds: int, step: PlannedStep) -> None:
        """Move the chain's clock and re-post every live feed whose last round is half a heartbeat old."""
        self.chain.advance(seconds)
        self.sim_time += seconds
        for sym, market in self.world.markets.items():
            due = self.sim_time - self.pushed_at[sym] >= market.heartbeat // 2
            if sym not in self.faults and sym not in step.prices and due:
                self.push(sym)

    def apply(self, step: PlannedStep) -> None:
        """The step's faults, then its prices; every round goes out in one transaction."""
        for sym, fault in step.oracle.items():
            self.set_fault(sym, fault)
        for sym, price in step.prices.items():
            self.prices[sym] = price
            if sym not in self.faults:
                self.push(sym)
        self.flush()

    def push(self, sym: str) -> None:
        self._queue(sym, self.answer(sym, self.prices[sym]))
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
        units = self.answer(sym, self.prices[sym])
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
        else:
            self._queue(sym, 0 if fault == "zero" else -units)
