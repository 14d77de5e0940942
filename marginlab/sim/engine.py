"""Replay a plan on a chain through a protocol: deploy, open the book, apply every step, run the keeper and
record a :class:`~marginlab.timeline.Timeline`. The engine never formats reports; it only records numbers.

Public phases, in order: :meth:`Replay.deploy`, :meth:`Replay.setup`, then :meth:`Replay.step` per planned step
(each ends with its record); :meth:`Replay.run` does all of it.

RPC budget per step on marginlab's vault (see ``make bench``): one transaction for all price updates
(``SimBatcher.setAnswers``), the step's own actions, one batch read per keeper round (every sub-account and every
market in one call; one round when nobody is liquidatable) and one keeper transaction per round that
liquidates. A transaction costs three RPCs (send, receipt, nonce check).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from marginlab.chain import Artifacts, Chain, ReadMode
from marginlab.numbers import plain
from marginlab.protocols.base import Protocol, Reading
from marginlab.protocols.registry import ProtocolFactory, default_protocol
from marginlab.protocols.world import KEEPER, World
from marginlab.scenario.actions import names_in
from marginlab.scenario.plan import Plan, PlannedStep
from marginlab.sim.actions import ActionSender
from marginlab.sim.governance import govern
from marginlab.sim.issuer import Issuer
from marginlab.sim.keeper import LiquidationKeeper
from marginlab.sim.keepers import BalanceSheetKeepers
from marginlab.sim.liquidator import Liquidator
from marginlab.sim.oracle import Oracle
from marginlab.sim.oracle_models import OracleModels
from marginlab.sim.pools import Pools
from marginlab.sim.recorder import Recorder, market_info
from marginlab.sim.strategies import StrategyRunner
from marginlab.timeline import ActionRecord, StepRecord, SubAccountRef, Timeline

# Tokens minted to the keeper once per market: it never runs dry, so liquidations are limited only by policy.
KEEPER_FLOAT_WHOLE_TOKENS = 10**15
#: Fast reads (the vault's --reads mirror) are checked against the protocol's own view after set-up, every this
#: many steps and after the last step (a difference stops the replay).
VERIFY_EVERY = 50

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplayOptions:
    """How a replay reads the protocol: ``chain`` (its own batch view) or ``mirror`` (its formulas in Python,
    where the protocol has them), checked every ``verify_every`` steps."""

    reads: ReadMode = "chain"
    verify_every: int = VERIFY_EVERY
    #: set-up and keeper operations one per transaction, each with its own gas (protocol comparisons); the
    #: timeline is the same either way
    per_op_gas: bool = False
    #: record each position's own legs in the timeline (``replay --attribution``; off: the timeline is unchanged)
    attribution: bool = False


def sub_accounts_of(plan: Plan) -> list[SubAccountRef]:
    """Lenders first (sub-account 0), then every account's sub-accounts in order."""
    refs = [SubAccountRef(f"{lp.name}/0", lp.name, 0, "lender", []) for lp in plan.liquidity]
    for acct in plan.accounts:
        for sub in acct.sub_ids:
            positions = [i for i in range(len(acct.positions)) if acct.sub_id(i) == sub]
            refs.append(SubAccountRef(f"{acct.name}/{sub}", acct.name, sub, acct.margin, positions))
    return refs


class Replay:
    def __init__(self, plan: Plan, chain: Chain, artifacts: Artifacts, progress: ProgressFn | None = None, *,
                 options: ReplayOptions | None = None, protocol: ProtocolFactory | None = None) -> None:
        self.plan = plan
        self.chain = chain
        self.options = options or ReplayOptions()
        self.progress = progress
        self.rng = random.Random(plan.seed)
        self.world = World(chain, artifacts, plan.markets)
        self.world.per_op_gas = self.options.per_op_gas
        self.sub_accounts = sub_accounts_of(plan)
        factory = protocol or default_protocol()
        self.protocol: Protocol = factory(self.world, plan, self.sub_accounts, self.options.reads)
        self.oracle = Oracle(self.world, plan.initial_prices)
        #: friction (issue 17): Uniswap v2 pools and oracle models; None / unset when the scenario has none
        self.pools: Pools | None = Pools(self.world, plan.pools) if plan.pools else None
        if plan.oracles:
            self.oracle.models = OracleModels(plan.oracles, plan.initial_prices, self.pools)
            self.oracle.posted = {s: plan.initial_prices[s] for s in plan.oracles}
        self.timeline = Timeline(scenario=plan.name, seed=plan.seed, mode=plan.mode,
                                 markets=[market_info(m) for m in plan.markets], sub_accounts=self.sub_accounts)
        if self.options.attribution:
            self.timeline.legs = plan.legs
        self.recorder = Recorder(self.world, self.protocol, self.oracle, self.timeline)
        self.keeper = LiquidationKeeper(plan.keeper, self.protocol.capabilities.bad_debt == "settle-call")
        self.keepers = BalanceSheetKeepers(plan, self.world, self.protocol, self.pools, self.oracle, self.rng) \
            if plan.keepers and self.pools is not None else None
        self.liquidator = Liquidator(self.protocol, self.keeper, self.oracle, self.recorder, self.sub_accounts,
                                     self.rng, self.keepers)
        self.sender = ActionSender(self.world, self.protocol, self.protocol.custody_name, self.recorder.events)
        self.issuer: Issuer | None = None
        # The accounts' strategies (``strategies:``); none for a scenario without them, so nothing changes there.
        self.strategies = StrategyRunner(plan, self.world, self.protocol, self.oracle.prices,
                                         self.recorder.events, self.timeline.bad_debts, self.pools) \
            if plan.strategies else None
        if self.strategies is not None:
            self.timeline.strategy_acts = self.strategies.acts
        self._last: Reading | None = None
        self._last_index = plan.steps[-1].index if plan.steps else -1

    @property
    def names(self) -> dict[str, str]:
        """address (lower case) → name, for every actor and contract a timeline names."""
        return self.world.names

    # ------------------------------------------------------------------------------------------------ run
    def run(self) -> Timeline:
        """Replay everything; on failure the timeline so far stays in ``self.timeline`` and the error propagates."""
        self.chain.step = None
        self.deploy()
        self.setup()
        total = len(self.plan.steps)
        for n, step in enumerate(self.plan.steps, start=1):
            self.step(step)
            if self.progress is not None:
                self.progress(n, total)
        self.timeline.status = "complete"
        return self.timeline

    def deploy(self) -> None:
        """The shared tokens and feeds, then the protocol's contracts and markets."""
        self.world.signer("deployer")
        self.oracle.deployed(self.world.deploy_shared(self.oracle.prices))
        self.protocol.deploy()
        if self.pools is not None:
            self.pools.deploy(self.world.artifacts)

    def setup(self) -> None:
        """The keeper's contract and float, then the book; ends with the set-up record."""
        keeper = self.protocol.deploy_keeper()
        self.issuer = Issuer(self.world, self.plan, self.protocol.custody(), keeper)
        if self.keepers is None:  # keepers: hold only their own inventory (the bot then only settles bad debt)
            self.world.mint([(sym, keeper, KEEPER_FLOAT_WHOLE_TOKENS * 10 ** m.decimals)
                             for sym, m in self.world.markets.items()])
        else:
            self.keepers.deploy()
        self.world.signer(KEEPER)
        if self.pools is not None:
            self.pools.seed(self.oracle.prices)
            self.pools.sample(self.oracle.sim_time)
        # Every account's wallet: tokens it holds outside the protocol (a scenario concern, not the protocol's).
        self.world.mint([(sym, self.world.address(a.name), amount) for a in self.plan.accounts
                         for sym, amount in a.wallet.items()])
        self.protocol.open_book()
        self.timeline.setup = self.record(-1, "setup", None, [])

    def step(self, step: PlannedStep) -> StepRecord:
        """Apply one planned step (time, prices, issuer, actions), run the keeper, and record the step."""
        assert self.issuer is not None, "set up first"
        self.chain.step = step.index
        records: list[ActionRecord] = []
        if step.advance:
            self.oracle.advance(step.advance, step)
        self.oracle.apply(step, (lambda: self._move_pools(step)) if self.pools is not None else None)
        for sym, admin in step.token_admin.items():
            self.issuer.act(step.index, sym, admin)
        govern(self.world, self.protocol, step.index, step.governance, records)
        for action in step.actions:
            self.sender.send(step.index, action, records)
        self.protocol.touched(set().union(*(names_in(a) for a in step.actions)) if step.actions else set())
        if self.strategies is not None:  # the accounts react to the step, before the keeper does
            self.strategies.act(step, records)
        self._last = self.liquidator.run(step.index, records)
        self.chain.flush()  # per-step mining: the step's block is mined (no-op when the keeper's read did it)
        record = self.record(step.index, step.source, step.label, records)
        self.timeline.steps.append(record)
        return record

    def _move_pools(self, step: PlannedStep) -> None:
        """After the step's path prices: the pools' LP withdraws (``liquidity_crunch``), the arbitrageur trades
        toward the path, and every pool's price is sampled on the scenario clock (for ``pool-twap`` oracles)."""
        assert self.pools is not None
        for pair, share in step.crunch.items():
            self.pools.crunch(pair, share)
        self.pools.arbitrage(self.oracle.prices)
        self.pools.sample(self.oracle.sim_time)

    def record(self, index: int, source: str, label: str | None, actions: list[ActionRecord]) -> StepRecord:
        """The state after a step (``index`` -1: after set-up), from the keeper's last reading when it has one."""
        last, self._last = self._last, None
        reading = last if last is not None and last.accounts is not None and index >= 0 else \
            self.protocol.read_accounts()
        every = self.options.verify_every
        if index < 0 or index == self._last_index or (index + 1) % every == 0:
            self.protocol.verify("setup" if index < 0 else f"step {index}", reading)
        tokens = self.issuer.status_text() if self.issuer is not None else None
        record = self.recorder.record(index, source, label, reading, actions, tokens)
        if self.plan.has_friction:  # issue 17: only then, so other timelines stay byte-identical
            record.pools = self.pools.states() if self.pools is not None else None
            record.oracle_prices = {s: plain(p) for s, p in self.oracle.feed_prices.items()}
        if self.keepers is not None:
            self.timeline.skipped_liquidations = list(self.keepers.skipped)
            self.timeline.keepers = self.keepers.results()
            self.timeline.pool_impact = self.keepers.pool_impact()
        return record


__all__ = ["Replay", "ReplayOptions", "sub_accounts_of"]
