"""The validated scenario made concrete: generated accounts, resolved prices, path steps, token units.

A plan is what the engine executes. It depends on the replay *mode*: ``as-written`` keeps each account's
``margin``; ``cross`` and ``isolated`` override it for every account (the compare command runs both).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import ValidationError

from marginlab.errors import Issue, ScenarioError
from marginlab.numbers import UINT256_MAX, from_units, plain, quantize_places, to_units, units_floor
from marginlab.scenario.actions import (
    Borrow,
    Deposit,
    Donate,
    GovernanceAct,
    Liquidate,
    Pause,
    PlannedVerb,
    Repay,
    SetParams,
    SettleBadDebt,
    Source,
    Transfer,
    Withdraw,
)
from marginlab.scenario.correlated import plan_correlated
from marginlab.scenario.fields import ALL
from marginlab.scenario.friction import KeeperGas, KeeperSpec, OracleModel, Pool
from marginlab.scenario.guards import Sequencer
from marginlab.scenario.legs import position_book
from marginlab.scenario.model import Action, CsvPath, Expect, GbmPath, Governance, Market, Scenario, TokenAdmin
from marginlab.scenario.model import Keeper as KeeperPolicy
from marginlab.scenario.model import Liquidation as LiquidationSection
from marginlab.scenario.paths import PathError, csv_prices, gbm_prices
from marginlab.scenario.source import Loc, SourceDoc
from marginlab.scenario.strategy_plan import PlannedStrategy, plan_strategies
from marginlab.scenario.validate import generated_names
from marginlab.timeline import PositionBook

Mode = Literal["as-written", "cross", "isolated"]
MODES: tuple[Mode, ...] = ("as-written", "cross", "isolated")
#: The margin comparison (``--compare``) replays these two plans.
COMPARE_MODES: tuple[Mode, ...] = ("cross", "isolated")


@dataclass(frozen=True)
class PlannedPosition:
    deposit: dict[str, int]
    borrow: dict[str, int]
    source: Source = Source((), 0)


@dataclass(frozen=True)
class PlannedAccount:
    name: str
    margin: Literal["cross", "isolated"]
    positions: tuple[PlannedPosition, ...]
    wallet: dict[str, int]
    source: Source = Source((), 0)

    def sub_id(self, position: int) -> int:
        return 0 if self.margin == "cross" else position

    @property
    def sub_ids(self) -> list[int]:
        return sorted({self.sub_id(i) for i in range(len(self.positions))})


@dataclass(frozen=True)
class PlannedLiquidity:
    name: str
    deposits: dict[str, int]
    source: Source = Source((), 0)


@dataclass(frozen=True)
class PlannedStep:
    index: int
    source: str
    label: str | None
    advance: int
    oracle: dict[str, str]
    prices: dict[str, Decimal]
    actions: tuple[PlannedVerb, ...]
    #: the token issuer's acts this step (``token_admin``), applied before the actions
    token_admin: dict[str, TokenAdmin] = field(default_factory=dict)
    #: the governor's and guardian's acts this step, after the issuer's and before the actions
    governance: tuple[GovernanceAct, ...] = ()
    #: pool pair → share of the pools' LP liquidity withdrawn this step (``liquidity_crunch``)
    crunch: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Everything a replay needs, self-contained: the engine and the reports never look back at the scenario."""

    name: str
    seed: int
    file: str
    mode: Mode
    markets: tuple[Market, ...]
    keeper: KeeperPolicy
    initial_prices: dict[str, Decimal]
    liquidity: tuple[PlannedLiquidity, ...]
    accounts: tuple[PlannedAccount, ...]
    steps: tuple[PlannedStep, ...]
    expect: tuple[Expect, ...]
    #: the line of each expectation, in order
    expect_lines: tuple[int, ...] = ()
    #: where each market was written, in order
    market_sources: tuple[Source, ...] = ()
    #: the protocol the scenario names (``protocol:``), if any; the command line may override it
    protocol: str | None = None
    #: each position's own legs and the actions on them (``replay --attribution`` records them)
    legs: PositionBook | None = None
    #: the vault's liquidation policy, parameters and dust minimums (``liquidation:``), and where it was written
    liquidation: LiquidationSection = LiquidationSection()
    liquidation_source: Source | None = None
    #: the sequencer uptime feed guarding every market (``sequencer:``), if any
    sequencer: Sequencer | None = None
    sequencer_line: int = 0
    #: the accounts' behaviours (``strategies:``), acted on by :mod:`marginlab.sim.strategies`
    strategies: tuple[PlannedStrategy, ...] = ()
    #: Uniswap v2 pools (``pools:``) and each asset's oracle model other than exact (``oracles:``); issue 17
    pools: tuple[Pool, ...] = ()
    oracles: dict[str, OracleModel] = field(default_factory=dict)
    keepers: tuple[KeeperSpec, ...] = ()
    keeper_gas: KeeperGas = KeeperGas()
    keepers_line: int = 0

    @property
    def has_friction(self) -> bool:
        """The file asks for pools, an oracle model other than exact or keepers (the timeline then records them)."""
        return bool(self.pools or self.oracles or self.keepers)

    def account(self, name: str) -> PlannedAccount:
        for acct in self.accounts:
            if acct.name == name:
                return acct
        raise KeyError(name)

    def market(self, symbol: str) -> Market:
        for m in self.markets:
            if m.symbol == symbol:
                return m
        raise KeyError(symbol)

    def decimals(self, symbol: str) -> int:
        return self.market(symbol).decimals


def expect_applies(exp: Expect, plan: Plan, protocol: str | None = None) -> bool:
    """An expectation with ``margin:`` holds for that margin's run (or an as-written run that is all of it); one
    with ``protocol:`` for that protocol's runs (``protocol`` None: the run's protocol is not known, so only
    expectations without the qualifier apply); one with ``policy:`` for runs under that liquidation policy."""
    if exp.protocol is not None and exp.protocol != protocol:
        return False
    if exp.policy is not None and exp.policy != plan.liquidation.policy:
        return False
    if exp.margin is None:
        return True
    if plan.mode != "as-written":
        return exp.margin == plan.mode
    return all(a.margin == exp.margin for a in plan.accounts)


def build_plan(scenario: Scenario, doc: SourceDoc, mode: Mode = "as-written") -> Plan:
    issues = []
    decimals = {m.symbol: m.decimals for m in scenario.markets}
    feed = {m.symbol: m.feed_decimals for m in scenario.markets}

    def units(amounts: Mapping[str, Decimal | str]) -> dict[str, int]:
        return {s: amount_units(a, decimals[s]) for s, a in amounts.items()}

    def source(*loc: str | int) -> Source:
        return Source(loc, doc.line_of(loc))

    liquidity = tuple(PlannedLiquidity(lp.name, units(lp.deposits), source("liquidity", i))
                      for i, lp in enumerate(scenario.liquidity))
    accounts: list[PlannedAccount] = []
    for t, tmpl in enumerate(scenario.accounts):
        margin = tmpl.margin if mode == "as-written" else mode
        names = generated_names(tmpl.name, tmpl.count) if tmpl.count is not None else [tmpl.name]
        for k, name in enumerate(names):
            scale = Decimal(1)
            if tmpl.borrow_scale is not None and tmpl.count is not None:
                span = tmpl.borrow_scale.last - tmpl.borrow_scale.first
                scale = tmpl.borrow_scale.first + (span * k / (tmpl.count - 1) if tmpl.count > 1 else 0)
            positions = tuple(
                PlannedPosition(units(p.deposit),
                                {s: units_floor(a * scale, decimals[s]) for s, a in p.borrow.items()},
                                source("accounts", t, "positions", j))
                for j, p in enumerate(tmpl.positions))
            accounts.append(PlannedAccount(name, margin, positions, units(tmpl.wallet), source("accounts", t)))
    by_name = {a.name: a for a in accounts}

    def sub_of(name: str, position: int) -> int:
        acct = by_name.get(name)
        return acct.sub_id(position) if acct is not None else 0  # liquidity providers use sub-account 0

    def plan_action(act: Action, loc: Loc) -> PlannedVerb:
        verb = act.verb
        common: dict[str, Any] = dict(account=act.account, source=Source(loc, doc.line_of(loc)),
                                      expect_revert=act.expect_revert, may_revert=act.may_revert)
        if verb in ("deposit", "repay"):
            kind = Deposit if verb == "deposit" else Repay
            owner = act.owner if act.owner is not None else act.account  # owner: pays into someone else's
            return kind(owner=owner, sub_id=sub_of(owner, act.position), amounts=units(getattr(act, verb)),
                        for_other=act.owner is not None, **common)
        sub = sub_of(act.account, act.position)
        if verb == "withdraw":
            return Withdraw(sub_id=sub, amounts=units(act.withdraw or {}), **common)
        if verb == "borrow":
            return Borrow(sub_id=sub, amounts=units(act.borrow or {}), **common)
        if verb == "donate":
            return Donate(amounts=units(act.donate or {}), **common)
        if verb == "settle_bad_debt":
            assert act.settle_bad_debt is not None
            ref = act.settle_bad_debt
            return SettleBadDebt(target=ref.account, target_sub_id=sub_of(ref.account, ref.position), **common)
        if verb == "transfer":
            assert act.transfer is not None
            return Transfer(sub_id=sub, to_sub_id=sub_of(act.account, act.transfer.to_position),
                            amounts=units(act.transfer.amounts), **common)
        assert act.liquidate is not None
        liq = act.liquidate
        return Liquidate(sub_id=sub_of(act.account, liq.to_position), target=liq.account,
                         target_sub_id=sub_of(liq.account, liq.position), debt=liq.debt, collateral=liq.collateral,
                         amount=amount_units(liq.amount, decimals[liq.debt]), **common)

    prices = {m.symbol: m.price for m in scenario.markets}
    initial = dict(prices)
    steps: list[PlannedStep] = []
    current = {m.symbol: m for m in scenario.markets}  # each market's parameters as governance leaves them
    for i, step in enumerate(scenario.steps):
        resolved: dict[str, Decimal] = {}
        for sym, move in (step.prices or {}).items():
            value = quantize_places(move.apply(prices[sym]), feed[sym])
            if value <= 0:
                issues.append(doc.issue(("steps", i, "prices", sym),
                                        f"{move} takes {sym} from {plain(prices[sym])} to {plain(value)} at the "
                                        f"feed's {feed[sym]} decimals; a price must stay above 0"))
                continue
            resolved[sym] = prices[sym] = value
        actions: list[PlannedVerb] = []
        if step.action is not None:
            actions.append(plan_action(step.action, ("steps", i, "action")))
        for j, act in enumerate(step.actions or []):
            actions.append(plan_action(act, ("steps", i, "actions", j)))
        governance = plan_governance(step.governance, ("steps", i, "governance"), current, doc, issues) \
            if step.governance is not None else ()
        steps.append(PlannedStep(i, f"steps[{i}]", step.label, step.advance or 0, dict(step.oracle or {}),
                                 resolved, tuple(actions), dict(step.token_admin or {}), governance,
                                 dict(step.liquidity_crunch or {})))

    # Paths start from the prices the explicit steps left and are merged on one clock.
    timeline: dict[int, dict[str, Decimal]] = {}
    base_dir = Path(doc.file).parent
    for sym, spec in scenario.paths.items():
        try:
            if isinstance(spec, GbmPath):
                series = gbm_prices(prices[sym], spec, seed=scenario.seed, symbol=sym, feed_decimals=feed[sym])
            else:
                assert isinstance(spec, CsvPath)
                series = csv_prices(base_dir / spec.file, spec, feed_decimals=feed[sym])
        except PathError as exc:
            issues.append(doc.issue(("paths", sym), str(exc)))
            continue
        for k, price in enumerate(series, start=1):
            timeline.setdefault(k * spec.dt, {})[sym] = price
    for t, moves in plan_correlated(scenario, doc, prices, feed, issues).items():  # the correlated: section
        timeline.setdefault(t, {}).update(moves)
    now = 0
    for t in sorted(timeline):
        index = len(steps)
        steps.append(PlannedStep(index, f"paths@{t}s", None, t - now, {}, dict(sorted(timeline[t].items())), ()))
        now = t
    if issues:
        raise ScenarioError(issues)
    return Plan(scenario.name, scenario.seed, doc.file, mode, tuple(scenario.markets), scenario.keeper, initial,
                liquidity, tuple(accounts), tuple(steps), tuple(scenario.expect),
                tuple(doc.line_of(("expect", i)) for i in range(len(scenario.expect))),
                tuple(source("markets", i) for i in range(len(scenario.markets))), scenario.protocol,
                position_book(scenario, accounts, decimals), scenario.liquidation,
                Source(("liquidation",), doc.line_of(("liquidation",))) if "liquidation" in doc.data else None,
                scenario.sequencer, doc.line_of(("sequencer",)) if scenario.sequencer is not None else 0,
                plan_strategies(scenario, doc, {**{lp.name: [0] for lp in liquidity},
                                                **{a.name: [a.sub_id(i) for i in range(len(a.positions))]
                                                   for a in accounts}}, decimals),
                tuple(scenario.pools), {s: o for s, o in scenario.oracles.items() if o.model != "exact"},
                tuple(scenario.keepers), scenario.keeper_gas,
                doc.line_of(("keepers",)) if scenario.keepers else 0)


def plan_governance(gov: Governance, loc: Loc, current: dict[str, Market], doc: SourceDoc,
                    issues: list[Issue]) -> tuple[GovernanceAct, ...]:
    """A step's governance: each market's whole parameter set after its change (checked as a listing would be:
    weights in order, bonus within the weight), then the guardian's pauses and the governor's unpauses."""
    acts: list[GovernanceAct] = []
    for sym, change in (gov.set_params or {}).items():
        where = (*loc, "set_params", sym)
        if sym not in current:
            continue  # an unknown asset is reported by the validator
        fields = {k: getattr(change, k) for k in change.model_fields_set}
        merged = {**current[sym].model_dump(), **{k: (v.model_dump() if hasattr(v, "model_dump") else v)
                                                  for k, v in fields.items()}}
        try:
            market = Market.model_validate(merged)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                issues.append(doc.issue((*where, *err["loc"]), f"after the change: {err['msg']}"))
            continue
        current[sym] = market
        acts.append(SetParams(sym, market, tuple(sorted(fields)), Source(where, doc.line_of(where))))
    for key, paused in (("pause", True), ("unpause", False)):
        flags = getattr(gov, key)
        if flags:
            where = (*loc, key)
            acts.append(Pause(tuple(flags), paused, Source(where, doc.line_of(where))))
    return tuple(acts)


def amount_units(amount: Decimal | str, decimals: int) -> int:
    """Token units of a scenario amount; ``all`` is type(uint256).max, which the vault reads as "everything"."""
    return UINT256_MAX if amount == ALL else to_units(Decimal(amount), decimals)


def describe_amounts(amounts: dict[str, int], decimals: dict[str, int]) -> str:
    return ", ".join(f"{plain(from_units(v, decimals[s]))} {s}" for s, v in amounts.items())


def compare_plans(scenario: Scenario, doc: SourceDoc) -> dict[str, Plan]:
    """The same scenario planned with every account in cross margin, then in isolated margin: prices, steps
    and keeper are identical, so any difference in the results is the margin mode's doing."""
    return {mode: build_plan(scenario, doc, mode) for mode in COMPARE_MODES}
