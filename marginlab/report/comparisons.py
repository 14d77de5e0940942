"""Comparison tables (``--compare-protocols``, ``--ab``, and every comparison that adds a dimension): one row per
variant × margin mode on the same price path — liquidations, collateral seized, bad debt and who paid for it,
liquidator profit, end equity — the gas of each operation kind from that run's own receipts, and how each
protocol mapped the scenario's settings. Written as ``compare-<what>.md`` and ``.json``. Pure: reads timelines,
never a chain."""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

from marginlab.numbers import EXACT, fmt_decimal
from marginlab.protocols.base import Mapping
from marginlab.report.metrics import owner_summary, owners, usd_value, wad_to_decimal
from marginlab.timeline import Timeline

#: Operation kinds in the gas table, in this order (others follow alphabetically).
GAS_KINDS = ("deposit", "borrow", "repay", "withdraw", "liquidate", "settle_bad_debt")


@dataclass(frozen=True)
class VariantRun:
    """One run of a comparison: its variant (a protocol, a patch, a policy...), protocol and margin mode."""

    variant: str
    protocol: str
    mode: str
    timeline: Timeline | None  # None: the protocol cannot express this run (the mapping's refusals say why)
    mapping: Mapping
    folder: Path
    gas: dict[str, list[int]]


@dataclass(frozen=True)
class VariantRow:
    variant: str
    mode: str
    status: str
    liquidations: int
    collateral_seized: Decimal
    bad_debt: Decimal
    lenders_loss: Decimal
    reserves_paid: Decimal
    liquidator_profit: Decimal
    end_equity: Decimal
    gas: dict[str, tuple[int, int]]  # kind → (median gas, receipts)


def _prices_at(timeline: Timeline) -> dict[int, dict[str, str]]:
    return {r.index: r.prices for r in timeline.records}


def row(run: VariantRun) -> VariantRow | None:
    t = run.timeline
    if t is None:
        return None
    decimals = t.decimals()
    prices = _prices_at(t)
    with localcontext(EXACT):
        seized = sum((wad_to_decimal(x.seized_value) for x in t.liquidations), Decimal(0))
        profit = sum((usd_value(x.to_liquidator, decimals[x.collateral], prices[x.step][x.collateral])
                      - wad_to_decimal(x.repaid_value) for x in t.liquidations), Decimal(0))
        bad = sum((wad_to_decimal(b.value) for b in t.bad_debts), Decimal(0))
        lenders = sum((usd_value(b.socialised, decimals[b.asset], prices[b.step][b.asset]) for b in t.bad_debts),
                      Decimal(0))
        reserves = sum((usd_value(b.covered_by_reserves, decimals[b.asset], prices[b.step][b.asset])
                        for b in t.bad_debts), Decimal(0))
        lenders_names = {s.owner for s in t.sub_accounts if s.margin == "lender"}
        equity = sum((owner_summary(t, o).end_equity for o in owners(t) if o not in lenders_names), Decimal(0))
    gas = {k: (int(statistics.median(v)), len(v)) for k, v in run.gas.items() if v}
    return VariantRow(run.variant, run.mode, t.status, len(t.liquidations), seized, bad, lenders, reserves, profit,
                       equity, gas)


def _usd(value: Decimal) -> str:
    return fmt_decimal(value.quantize(Decimal("0.01")))


def _kinds(rows: list[VariantRow]) -> list[str]:
    seen = {k for r in rows for k in r.gas}
    return [k for k in GAS_KINDS if k in seen] + sorted(seen - set(GAS_KINDS))


#: Per comparison: the name of its dimension (the first column) and what the sentence under the title says.
DIMENSIONS = {
    "protocols": ("protocol", "The same scenario, seed and price path on each protocol, each on a fresh chain."),
    "ab": ("run", "The same scenario, seed and price path without and with the patch, each on a fresh chain."),
    "policies": ("policy", "The same scenario, seed and price path under each liquidation policy, each on a fresh "
                           "chain."),
}


def render_comparison(runs: list[VariantRun], what: str) -> str:
    first = next((r.timeline for r in runs if r.timeline is not None), None)
    name = first.scenario if first is not None else "scenario"
    variants = list(dict.fromkeys(r.variant for r in runs))
    column, sentence = DIMENSIONS.get(what, (what, "Each variant on a fresh chain."))
    lines = [f"# Compare: {name} — {', '.join(variants)}", "",
             f"{sentence} Gas is the median of this run's own receipts per operation (set-up and keeper operations "
             f"sent one per transaction).", ""]
    rows = [(run, row(run)) for run in runs]
    lines += [f"| {column} | margin | status | liquidations | collateral seized (USD) | bad debt (USD) | lenders' loss "
              "(USD) | paid by reserves (USD) | liquidator profit (USD) | borrowers' end equity (USD) |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run, r in rows:
        if r is None:
            reason = run.mapping.refusals[0].reason if run.mapping.refusals else "not expressible"
            lines.append(f"| {run.variant} | {run.mode} | not expressible: {reason} | | | | | | | |")
            continue
        lines.append(f"| {r.variant} | {r.mode} | {r.status} | {r.liquidations} | {_usd(r.collateral_seized)} | "
                     f"{_usd(r.bad_debt)} | {_usd(r.lenders_loss)} | {_usd(r.reserves_paid)} | "
                     f"{_usd(r.liquidator_profit)} | {_usd(r.end_equity)} |")
    done = [r for _, r in rows if r is not None]
    kinds = _kinds(done)
    if kinds:
        lines += ["", "## Gas per operation (median of this run's receipts; receipts in brackets)", "",
                  f"| {column} | margin | " + " | ".join(kinds) + " |", "|---|---|" + "---:|" * len(kinds)]
        for r in done:
            cells = [f"{r.gas[k][0]:,} ({r.gas[k][1]})" if k in r.gas else "–" for k in kinds]
            lines.append(f"| {r.variant} | {r.mode} | " + " | ".join(cells) + " |")
    lines += ["", "## How each run carried the scenario's settings", ""]
    for variant in variants:
        protocol = next(r.protocol for r in runs if r.variant == variant)
        lines += [f"### {variant}" + (f" ({protocol})" if protocol != variant else ""), ""]
        groups: dict[tuple[str, ...], list[str]] = {}
        for run in (r for r in runs if r.variant == variant):
            if run.mapping.refusals:
                text = tuple([f"not expressible ({len(run.mapping.refusals)} problem(s)):"]
                             + [f"  - {issue}" for issue in run.mapping.refusals])
            else:
                text = tuple(f"{d.scope}: `{d.setting}` {d.outcome.replace('-', ' ')}: {d.detail}"
                             for d in run.mapping.decisions if d.outcome != "mapped") \
                    or ("every setting maps to an exact counterpart",)
            groups.setdefault(text, []).append(run.mode)
        for text, modes in groups.items():
            lines.append(f"- {', '.join(modes)}:")
            lines += [f"  - {t}" if not t.startswith("  - ") else f"    {t[2:]}" for t in text]
        lines.append("")
    lines += ["## Runs", "", f"| {column} | margin | report |", "|---|---|---|"]
    for run in runs:
        if run.timeline is not None:
            lines.append(f"| {run.variant} | {run.mode} | {run.folder}/report.md |")
    return "\n".join(lines) + "\n"


def comparison_json(runs: list[VariantRun], what: str) -> str:
    column = DIMENSIONS.get(what, (what, ""))[0]
    out = []
    for run in runs:
        r = row(run)
        entry: dict[str, object] = {column: run.variant, "protocol": run.protocol, "margin": run.mode,
                                    "not_honoured": [f"{d.scope}: {d.setting}: {d.detail}"
                                                     for d in run.mapping.not_honoured]}
        if r is None:
            entry["expressible"] = False
            entry["refusals"] = [str(i) for i in run.mapping.refusals]
        else:
            entry.update(expressible=True, status=r.status, liquidations=r.liquidations,
                         collateral_seized_usd=str(r.collateral_seized), bad_debt_usd=str(r.bad_debt),
                         lenders_loss_usd=str(r.lenders_loss), reserves_paid_usd=str(r.reserves_paid),
                         liquidator_profit_usd=str(r.liquidator_profit), end_equity_usd=str(r.end_equity),
                         gas={k: {"median": g, "receipts": n} for k, (g, n) in sorted(r.gas.items())})
        out.append(entry)
    return json.dumps(out, indent=1, sort_keys=True) + "\n"


def write_comparison(runs: list[VariantRun], out: Path, what: str) -> Path:
    """``compare-<what>.md`` and ``.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"compare-{what}.json").write_text(comparison_json(runs, what), encoding="utf-8")
    path = out / f"compare-{what}.md"
    path.write_text(render_comparison(runs, what), encoding="utf-8")
    return path
