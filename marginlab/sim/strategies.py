"""Accounts following their ``strategies:`` (issue 21, item 2), once per step after the step's own actions and
before the keeper: stop-loss, take-profit, top-up and deleverage, and a liquidity provider's withdraw (a run after
socialised bad debt, or utilisation held above a level), each with a reaction delay and a seeded chance of missing
a step (its own ``random.Random`` per strategy, seeded from the scenario's seed and its index).

A strategy acts through the same planned verbs as any scenario action (repay, withdraw, deposit), encoded by the
protocol, so every protocol marginlab drives sees them. Its tokens are the account's own: the sender approves but
never mints, and a call the wallet cannot pay reverts on chain and is recorded as a failed action with its
reason. Nothing here runs for a scenario without ``strategies:`` (the engine does not build a runner).

A position's loss is the change in value of its own legs since opening (the plan keeps them apart even where
the vault nets them), less what was paid into them since (deposits and repayments add, withdrawals and borrows
take away, each at the price of its step). Its margin is its deposits' USD value at opening.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Callable

from marginlab.numbers import EXACT, UINT256_MAX, from_units, plain
from marginlab.protocols.base import Protocol, Reading
from marginlab.protocols.world import World
from marginlab.scenario.actions import Deposit, PlannedVerb, Repay, Withdraw
from marginlab.scenario.plan import Plan, PlannedStep
from marginlab.scenario.strategy_plan import PlannedStrategy
from marginlab.sim.pool_route import PoolClose
from marginlab.sim.pools import Pools
from marginlab.sim.strategy_calls import ROUTES, CloseRequest, WalletSender
from marginlab.timeline import ActionRecord, BadDebt, MarketState, StrategyAct


@dataclass
class _State:
    legs: dict[str, int]
    paid_in: Decimal = Decimal(0)  # USD paid into the position's legs since opening
    first_seen: int | None = None
    done: bool = False
    spent: dict[str, int] = field(default_factory=dict)
    streak: int = 0  # a lender: consecutive steps with utilisation above its level
    target: dict[str, int] | None = None  # a lender: what it set out to withdraw, per asset
    withdrawn: dict[str, int] = field(default_factory=dict)


class StrategyRunner:
    """Each step: what every strategy sees (its position's loss, its sub-account's health), then what it does."""

    def __init__(self, plan: Plan, world: World, protocol: Protocol, prices: dict[str, Decimal],
                 on_receipt: Callable[[int, dict[str, object]], None], bad_debts: list[BadDebt],
                 pools: Pools | None = None) -> None:
        self.plan = plan
        self.bad_debts = bad_debts  # the timeline's, as the keeper records them
        self.lends = {lp.name: sorted(lp.deposits) for lp in plan.liquidity}
        self._markets: dict[str, MarketState] | None = None
        self.world = world
        self.protocol = protocol
        self.prices = prices  # the oracle's market path, updated in place
        self.sender = WalletSender(world, protocol, protocol.custody_name, on_receipt)
        self.sender.prices = prices
        #: every call sent, in order (the timeline's ``strategy_acts``)
        self.acts: list[StrategyAct] = []
        self.sender.acts = self.acts
        self.decimals = {m.symbol: m.decimals for m in plan.markets}
        opening = {(p.owner, p.position): p.legs for p in plan.legs.positions} if plan.legs else {}
        self.opening = opening
        self.states = [_State(dict(opening.get((s.account, s.position), {}))) for s in plan.strategies]
        self.rngs = [random.Random(f"{plan.seed}/strategies/{s.index}") for s in plan.strategies]
        self.moves = plan.legs.moves if plan.legs else []
        #: ``route: pool`` (validation made sure the scenario has pools for it)
        self.pool_close = PoolClose(world, protocol, pools, self.sender, prices,
                                    {m.symbol: m.asset_weight.init for m in plan.markets}) \
            if pools is not None else None

    def usd(self, legs: dict[str, int], prices: dict[str, Decimal]) -> Decimal:
        with localcontext(EXACT):
            return sum((from_units(v, self.decimals[s]) * prices[s] for s, v in legs.items()), Decimal(0))

    def pnl(self, s: PlannedStrategy, state: _State) -> Decimal:
        opening = self.opening.get((s.account, s.position), {})
        with localcontext(EXACT):
            return self.usd(state.legs, self.prices) - self.usd(opening, self.plan.initial_prices) - state.paid_in

    def margin(self, s: PlannedStrategy) -> Decimal:
        opening = self.opening.get((s.account, s.position), {})
        return self.usd({k: v for k, v in opening.items() if v > 0}, self.plan.initial_prices)

    def _moved(self, state: _State, sym: str, change: int) -> None:
        state.legs[sym] = state.legs.get(sym, 0) + change
        with localcontext(EXACT):
            state.paid_in += from_units(change, self.decimals[sym]) * self.prices[sym]

    # ------------------------------------------------------------------------------------------------ a step
    def act(self, step: PlannedStep, records: list[ActionRecord]) -> None:
        failed = {r.source for r in records if not r.ok}
        for m in self.moves:  # the scenario's own actions on positions, as far as they went through
            if m.step != step.index or m.source in failed or m.closes:
                continue
            for s, state in zip(self.plan.strategies, self.states, strict=True):
                if (s.account, s.position) == (m.owner, m.position):
                    self._moved(state, m.asset, m.change)
        reading: Reading | None = None
        self._markets = None
        for s, state, rng in zip(self.plan.strategies, self.states, self.rngs, strict=True):
            if state.done:
                continue
            if s.below is not None and reading is None:
                reading = self.protocol.read_accounts()
            why = self.trigger(s, state, reading)
            if why is None:
                state.first_seen = None
                continue
            if state.first_seen is None:
                state.first_seen = step.index
            if step.index - state.first_seen < s.delay:
                continue
            if s.miss > 0 and Decimal(repr(rng.random())) < s.miss:
                records.append(ActionRecord(step.index, s.account, f"{s.label}: {why}; missed this step", True,
                                            str(s.source), line=s.source.line))
                continue
            if s.kind in ("stop_loss", "take_profit", "withdraw") and reading is None:
                reading = self.protocol.read_accounts()
            self.do(step.index, s, state, why, reading, records)
            if s.kind != "withdraw":  # a lender that started keeps asking every step until it has it all
                state.first_seen = None
            self._markets = None
            self.protocol.touched({s.account})
            reading = None  # balances moved: read again if another strategy needs them

    def trigger(self, s: PlannedStrategy, state: _State, reading: Reading | None) -> str | None:
        """Why the strategy acts now, or None."""
        if s.kind == "withdraw":
            return self.lender_trigger(s, state)
        if s.price is not None:
            return f"{s.price}" if s.price.crossed(self.prices[s.price.symbol]) else None
        if s.share is not None:
            pnl, margin = self.pnl(s, state), self.margin(s)
            with localcontext(EXACT):
                limit = s.share * margin
                if s.kind == "stop_loss" and -pnl > limit:
                    return f"loss {(-pnl).quantize(Decimal('0.01'))} USD > {plain(limit)} USD"
                if s.kind == "take_profit" and pnl > limit:
                    return f"gain {pnl.quantize(Decimal('0.01'))} USD > {plain(limit)} USD"
            return None
        assert s.below is not None
        accounts = reading.accounts if reading is not None else None
        st = (accounts or {}).get(f"{s.account}/{s.sub_id}")
        if st is None or st.health_factor is None or st.health_factor >= s.below:
            return None
        return f"health factor {from_units(st.health_factor, 18).quantize(Decimal('0.0001'))} < " \
               f"{plain(from_units(s.below, 18))}"

    def markets(self) -> dict[str, MarketState]:
        if self._markets is None:
            self._markets = self.protocol.read_markets()
        return self._markets

    def lender_trigger(self, s: PlannedStrategy, state: _State) -> str | None:
        if state.target is not None:
            return "still withdrawing"
        if s.after_bad_debt:
            lost = [b for b in self.bad_debts if b.socialised > 0]
            return f"bad debt socialised ({len(lost)} write-off(s))" if lost else None
        assert s.utilisation is not None
        markets = self.markets()
        over = [sym for sym in self.lends[s.account] if sym in markets and markets[sym].utilisation > s.utilisation]
        state.streak = state.streak + 1 if over else 0
        if state.streak < s.for_steps:
            return None
        return f"{over[0]} utilisation above {plain(from_units(s.utilisation, 16))} % for {state.streak} step(s)"

    def withdraw(self, s: PlannedStrategy, state: _State, reading: Reading | None) -> list[PlannedVerb]:
        """Ask for the rest of the target in each asset; when the pool holds less than that (deposits less
        borrows, less a hair for the block's interest), the request is refused on chain and the lender takes
        what is there."""
        sub = (reading.accounts or {}).get(f"{s.account}/0") if reading is not None else None
        balances = dict(sub.balances) if sub is not None else {}
        if state.target is None:
            share = s.share if s.share is not None else Decimal(1)
            with localcontext(EXACT):
                state.target = {sym: int(Decimal(balances.get(sym, 0)) * share) for sym in self.lends[s.account]
                                if balances.get(sym, 0) > 0}
        markets = self.markets()
        verbs: list[PlannedVerb] = []
        for sym, target in state.target.items():
            want = min(target - state.withdrawn.get(sym, 0), balances.get(sym, 0))
            if want <= 0:
                continue
            verbs.append(Withdraw(account=s.account, source=s.source, sub_id=0, amounts={sym: want}))
            m = markets.get(sym)
            if m is None:
                continue
            cash = m.total_deposits - m.total_borrows
            can = cash - cash // 10**4 - 1
            if want > can > 0:
                verbs.append(Withdraw(account=s.account, source=s.source, sub_id=0, amounts={sym: can}))
        if not verbs:
            state.done = True
        return verbs

    def do(self, step: int, s: PlannedStrategy, state: _State, why: str, reading: Reading | None,
           records: list[ActionRecord]) -> None:
        self.sender.label_prefix = f"{s.label} ({why}): "
        self.sender.strategy = s.label
        self.sender.on_ok = lambda action: self._applied(s, action)
        verbs: list[PlannedVerb] = []
        notes: list[str] = []
        if s.kind in ("stop_loss", "take_profit"):
            balances = None
            if reading is not None and reading.accounts is not None:
                sub = reading.accounts.get(f"{s.account}/{s.sub_id}")
                balances = dict(sub.balances) if sub is not None else None
            acct = self.plan.account(s.account)
            alone = sum(1 for i in range(len(acct.positions)) if acct.sub_id(i) == s.sub_id) == 1
            if s.route == "pool" and self.pool_close is not None:
                notes = self.pool_close.run(step, s, dict(state.legs), alone, True, records)
            else:
                verbs, notes = ROUTES[s.route](CloseRequest(s, dict(state.legs), balances, alone))
            state.done = True
        elif s.kind == "top_up":
            # Only what went through counts against the budget (see _applied): a deposit the wallet cannot pay
            # fails and is tried again the next step the health is still low.
            amounts = {sym: min(v, s.budget[sym] - state.spent.get(sym, 0)) for sym, v in s.amounts.items()}
            amounts = {sym: v for sym, v in amounts.items() if v > 0}
            if amounts:
                verbs.append(Deposit(account=s.account, source=s.source, owner=s.account, sub_id=s.sub_id,
                                     amounts=amounts))
        elif s.kind == "withdraw":
            verbs = self.withdraw(s, state, reading)
        elif s.route == "pool" and self.pool_close is not None:
            notes = self.pool_close.run(step, s, dict(state.legs), False, False, records)
        else:
            verbs.append(Repay(account=s.account, source=s.source, owner=s.account, sub_id=s.sub_id,
                               amounts=dict(s.amounts)))
        for verb in verbs:
            self.sender.send(step, verb, records)
        for note in notes:
            records.append(ActionRecord(step, s.account, f"{s.label}: {note}", True, str(s.source),
                                        line=s.source.line))
        self.sender.on_ok = None

    def _applied(self, acting: PlannedStrategy, action: PlannedVerb) -> None:
        """A strategy's own deposit or repayment went through: the position's legs moved, for every strategy on
        that position (a closed position needs no further tracking)."""
        if acting.kind == "withdraw" and isinstance(action, Withdraw):
            state = self.states[self.plan.strategies.index(acting)]
            for sym, v in action.amounts.items():
                state.withdrawn[sym] = state.withdrawn.get(sym, 0) + v
            state.done = all(state.withdrawn.get(sym, 0) >= t for sym, t in (state.target or {}).items())
            return
        if not isinstance(action, (Deposit, Repay)):
            return
        if acting.kind == "top_up" and isinstance(action, Deposit):
            state = self.states[self.plan.strategies.index(acting)]
            for sym, v in action.amounts.items():
                state.spent[sym] = state.spent.get(sym, 0) + v
            state.done = all(state.spent.get(sym, 0) >= acting.budget[sym] for sym in acting.amounts)
        for s, state in zip(self.plan.strategies, self.states, strict=True):
            if (s.account, s.position) != (acting.account, acting.position):
                continue
            for sym, v in action.amounts.items():
                if v != UINT256_MAX:
                    self._moved(state, sym, v)
