"""Cascade metrics of a replay with friction (issue 17), from its timeline alone: cascade depth, how far the
liquidations' own sales moved each pool against how far the path moved, the liquidations keepers skipped and why,
each keeper's PnL, and the bad debt. Pure: reads timelines, never a chain.

Cascade depth: a step is *endogenous* when the market path did not move in it, an oracle price did, and a
liquidation happened in it; the depth is the longest run of consecutive endogenous steps that follows a step with
liquidations (whose sales moved the pools the oracle reads). A frictionless replay has depth 0: its oracle moves
only with the path.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, localcontext

from marginlab.numbers import EXACT
from marginlab.report.metrics import final_record, state_equity, total_bad_debt
from marginlab.timeline import Timeline


@dataclass(frozen=True)
class FrictionSummary:
    cascade_depth: int
    liquidations: int
    skipped: int
    skipped_by_reason: dict[str, int]
    #: pair → (relative move from the liquidations' own sales, relative move of the path's price)
    impact: dict[str, tuple[Decimal, Decimal]]
    bad_debt: Decimal
    #: debt beyond collateral, at the path's last prices, of accounts nobody liquidated or settled (USD)
    shortfall: Decimal

    @property
    def total_bad_debt(self) -> Decimal:
        """Written off, plus what no collateral covers at the end (USD): the bad debt friction leaves."""
        return self.bad_debt + self.shortfall


def cascade_depth(t: Timeline) -> int:
    liquidated = Counter(x.step for x in t.liquidations)
    best = run = 0
    previous = t.setup
    for record in t.steps:
        oracle_moved = previous is not None and record.oracle_prices is not None and \
            previous.oracle_prices is not None and record.oracle_prices != previous.oracle_prices
        path_still = previous is not None and record.prices == previous.prices
        endogenous = oracle_moved and path_still and liquidated[record.index] > 0
        if endogenous and (run > 0 or liquidated[record.index - 1] > 0):
            run += 1
        else:
            run = 0
        best = max(best, run)
        previous = record
    return best


def shortfall(t: Timeline) -> Decimal:
    """Σ over sub-accounts of their negative equity at the last record's path prices (USD)."""
    last = final_record(t)
    if last is None:
        return Decimal(0)
    decimals = t.decimals()
    with localcontext(EXACT):
        return sum((max(-state_equity(s, last, decimals), Decimal(0)) for s in last.accounts.values()), Decimal(0))


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def summary(t: Timeline) -> FrictionSummary:
    skipped = t.skipped_liquidations or []
    impact: dict[str, tuple[Decimal, Decimal]] = {}
    first, last = t.setup, (t.steps[-1] if t.steps else None)
    for pair, move in (t.pool_impact or {}).items():
        base, quote = pair.split("/")
        path = Decimal(0)
        if first is not None and last is not None:
            before = Decimal(first.prices[base]) / Decimal(first.prices[quote])
            after = Decimal(last.prices[base]) / Decimal(last.prices[quote])
            path = after / before - 1
        impact[pair] = (Decimal(move), path)
    return FrictionSummary(cascade_depth(t), len(t.liquidations), len(skipped),
                           dict(sorted(Counter(_reason_kind(s.reason) for s in skipped).items())), impact,
                           total_bad_debt(t), shortfall(t))


def _pct(x: Decimal) -> str:
    return f"{x * 100:+.2f} %"


def render_friction(t: Timeline) -> list[str]:
    """The report's "Friction" section (nothing for a replay without pools, oracle models or keepers)."""
    if t.keepers is None and t.pool_impact is None and not any(r.oracle_prices for r in t.steps):
        return []
    s = summary(t)
    lines = ["", "## Friction", "",
             f"- Cascade depth: **{s.cascade_depth}** (longest run of steps where the path stood still, the oracle "
             f"moved and accounts were liquidated, after a step whose liquidations sold into the pools)",
             f"- Liquidations: {s.liquidations}; skipped by keepers: {s.skipped}"
             + (f" ({', '.join(f'{k}: {n}' for k, n in s.skipped_by_reason.items())})" if s.skipped else ""),
             f"- Bad debt: {s.bad_debt:,.2f} USD written off, {s.shortfall:,.2f} USD of debt no collateral covers "
             f"at the path's last prices (total {s.total_bad_debt:,.2f} USD)"]
    for pair, (sales, path) in s.impact.items():
        lines.append(f"- {pair}: the liquidations' sales moved the pool {_pct(sales)}; the path moved {_pct(path)}")
    if t.keepers:
        lines += ["", "| keeper | liquidations | failed | skipped | repaid (USD) | sale proceeds (USD) | gas (USD) "
                      "| PnL (USD) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for k in t.keepers:
            lines.append(f"| {k.name} | {k.liquidations} | {k.failed} | {k.skipped} | {k.repaid_usd} | "
                         f"{k.proceeds_usd} | {k.gas_usd} | {k.pnl_usd} |")
    if t.skipped_liquidations:
        lines += ["", "Skipped liquidations (first 20):", "", "| step | keeper | account | pair | reason |",
                  "|---:|---|---|---|---|"]
        for x in t.skipped_liquidations[:20]:
            lines.append(f"| {x.step} | {x.keeper} | {x.account} | {x.debt}/{x.collateral} | {x.reason} |")
    return lines


def render_friction_compare(timelines: dict[str, Timeline]) -> list[str]:
    """compare-friction.md's cascade table: one row per run (friction, frictionless)."""
    lines = ["", "## Cascade", "", "| run | cascade depth | liquidations | skipped | bad debt written off (USD) | "
                                   "uncovered debt at the end (USD) | keepers' PnL (USD) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, t in timelines.items():
        s = summary(t)
        pnl = sum((Decimal(k.pnl_usd) for k in t.keepers or []), Decimal(0))
        shown = f"{pnl:,.2f}" if t.keepers else ""
        lines.append(f"| {name} | {s.cascade_depth} | {s.liquidations} | {s.skipped} | {s.bad_debt:,.2f} | "
                     f"{s.shortfall:,.2f} | {shown} |")
    return lines


__all__ = ["FrictionSummary", "cascade_depth", "render_friction", "render_friction_compare", "shortfall", "summary"]
