"""Cross vs isolated margin: the two plans to replay and the side-by-side numbers (pure; no chain, no text).

The same scenario is planned twice, every account forced to ``margin: cross`` (all positions in one
sub-account) and to ``margin: isolated`` (each position in its own); prices, steps and keeper are identical,
so any difference in the results is the margin mode's doing.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .metrics import owner_summary, owners
from .plan import Mode, Plan, build_plan
from .scenario import Scenario
from .timeline import Timeline
from .yamlsource import SourceDoc

COMPARE_MODES: tuple[Mode, ...] = ("cross", "isolated")


def compare_plans(scenario: Scenario, doc: SourceDoc) -> dict[str, Plan]:
    return {mode: build_plan(scenario, doc, mode) for mode in COMPARE_MODES}


@dataclass(frozen=True)
class CompareRow:
    account: str
    mode: str
    liquidations: int
    collateral_lost: Decimal  # USD value seized by liquidators, at the time of each liquidation
    bad_debt: Decimal
    end_equity: Decimal
    max_leverage: Decimal


def compare_rows(timelines: dict[str, Timeline]) -> list[CompareRow]:
    """One row per (account, mode), accounts in scenario order, modes in the order given."""
    first = next(iter(timelines.values()))
    rows = []
    for owner in owners(first):
        for mode, timeline in timelines.items():
            s = owner_summary(timeline, owner)
            rows.append(CompareRow(owner, mode, s.liquidations, s.collateral_seized, s.bad_debt, s.end_equity,
                                   s.max_leverage))
    return rows
