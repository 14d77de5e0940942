"""The scenario's oracle guards (``markets[].oracle_guards``, ``sequencer:``, ``oracle: {sequencer: ...}``) exist on
the marginlab router only; a peer protocol refuses each one in one line rather than replay without it (a replay
that silently dropped a guard would show losses the scenario says are guarded against). ``clamp`` and
``misprice`` faults are only what a feed reports, so every protocol replays them."""
from __future__ import annotations

from marginlab.errors import Issue
from marginlab.scenario.actions import Source
from marginlab.scenario.guards import SEQUENCER
from marginlab.scenario.plan import Plan
from marginlab.scenario.source import format_loc


def guard_refusals(plan: Plan, name: str, why: str) -> list[Issue]:
    """One issue per guard the plan sets, each ``file:line: field: NAME: ... WHY``."""
    out: list[Issue] = []
    sources = plan.market_sources or tuple(Source(("markets", i), 0) for i in range(len(plan.markets)))
    for m, source in zip(plan.markets, sources, strict=False):
        if m.oracle_guards is not None:
            out.append(Issue(plan.file, source.line, format_loc((*source.loc, "oracle_guards")),
                             f"{name}: oracle_guards cannot be replayed: {why}"))
    if plan.sequencer is not None:
        out.append(Issue(plan.file, plan.sequencer_line, "sequencer",
                         f"{name}: a sequencer uptime feed cannot be replayed: {why}"))
    for step in plan.steps:
        if SEQUENCER in step.oracle and plan.sequencer is None:
            out.append(Issue(plan.file, 0, f"{step.source}.oracle.{SEQUENCER}",
                             f"{name}: a sequencer fault cannot be replayed: {why}"))
    return out
