"""Cross vs isolated margin side by side: the numbers of each (account, mode) row (pure; no chain, no text).
The two plans come from :func:`marginlab.scenario.plan.compare_plans`."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from marginlab.report.metrics import owner_summary, owners
from marginlab.timeline import Timeline


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
