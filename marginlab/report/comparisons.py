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
from marginlab.report.friction import render_friction_compare
from marginlab.report.metrics import owner_summary, owners, total_bad_debt, usd_value, wad_to_decimal
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
    left_as_debt: Decimal
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
                      - wad_to_decimal(x.repaid_value) for x in t.liquidations if x.absorbed is None), Decimal(0))
        profit += sum((wad_to_decimal(p.bought_value - p.paid_value) for p in t.purchases or []), Decimal(0))
        bad = total_bad_debt(t)  # an absorption's write-off only beyond the collateral the protocol took
        lenders = sum((usd_value(b.socialised, decimals[b.asset], prices[b.step][b.asset]) for b in t.bad_debts),
                      Decimal(0))
        reserves = sum((usd_value(b.covered_by_reserves, decimals[b.asset], prices[b.step][b.asset])
                        for b in t.bad_debts), Decimal(0))
        left = sum((usd_value(b.left_as_debt, decimals[b.asset], prices[b.step][b.asset])
                    for b in t.bad_debts if b.left_as_debt is not None), Decimal(0))
        lenders_names = {s.owner for s in t.sub_accounts if s.margin == "lender"}
        equity = sum((owner_summary(t, o).end_equity for o in owners(t) if o not in lenders_names), Decimal(0))
    gas = {k: (int(statistics.median(v)), len(v)) for k, v in run.gas.items() if v}
    return VariantRow(run.variant, run.mode, t.status, len(t.liquidations), seized, bad, lenders, reserves, left,
                      profit, equity, gas)


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
    "friction": ("run", "The same scenario, seed and price path with its pools, oracle models and keepers "
                        "(friction) and with exact oracles and the frictionless keeper (frictionless), each on a "
                        "fresh chain."),
}


@dataclass(frozen=True)
class PolicyRow:
    """One run of a policy comparison, on the same price path as the others (USD)."""

    variant: str
    mode: str
    status: str
    liquidations: int  # an absorption counts as one
    collateral_lost: Decimal  # what the borrowers gave up: seized by liquidators, or taken over by the protocol
    liquidator_profit: Decimal  # incentives kept by the keeper, and its discount buying absorbed collateral
    reserves_change: Decimal  # every market's reserves at the end less at set-up, at the final prices
    lenders_loss: Decimal  # written-off debt the reserves did not cover: lowered deposit indexes (at the step's prices)
    held: Decimal  # absorbed collateral the protocol still holds at the end (not bought back), at the final prices
    bad_debt: Decimal  # debt written off with no collateral behind it (an absorption's: debt beyond collateral)


def policy_row(run: VariantRun) -> PolicyRow | None:
    t = run.timeline
    if t is None or not t.records:
        return None
    decimals = t.decimals()
    first, last = t.records[0], t.records[-1]
    with localcontext(EXACT):
        lost = sum((wad_to_decimal(x.seized_value) for x in t.liquidations), Decimal(0))
        r = row(run)
        assert r is not None
        profit = r.liquidator_profit
        reserves = sum((usd_value(m.reserves - first.markets[s].reserves, decimals[s], last.prices[s])
                        for s, m in last.markets.items() if s in first.markets), Decimal(0))
        held_units: dict[str, int] = {}
        for x in t.liquidations:
            for s, units in (x.absorbed or {}).items():
                held_units[s] = held_units.get(s, 0) + units
        for p in t.purchases or []:
            held_units[p.collateral] = held_units.get(p.collateral, 0) - p.bought
        held = sum((usd_value(max(u, 0), decimals[s], last.prices[s]) for s, u in held_units.items()), Decimal(0))
    return PolicyRow(run.variant, run.mode, t.status, len(t.liquidations), lost, profit, reserves, r.lenders_loss,
                     held, total_bad_debt(t))


def render_policies(runs: list[VariantRun]) -> str:
    """compare-policies.md: one row per policy (and margin mode), then the runs' reports."""
    first = next((r.timeline for r in runs if r.timeline is not None), None)
    name = first.scenario if first is not None else "scenario"
    variants = list(dict.fromkeys(r.variant for r in runs))
    lines = [f"# Compare: {name} — {', '.join(variants)}", "", DIMENSIONS["policies"][1], "",
             "| policy | margin | status | liquidations | collateral lost by borrowers (USD) | liquidator profit (USD) "
             "| change in protocol reserves (USD) | lenders' loss (USD) | absorbed collateral still held (USD) "
             "| bad debt (USD) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        r = policy_row(run)
        if r is None:
            reason = run.mapping.refusals[0].reason if run.mapping.refusals else "not expressible"
            lines.append(f"| {run.variant} | {run.mode} | not expressible: {reason} | | | | | | | |")
            continue
        lines.append(f"| {r.variant} | {r.mode} | {r.status} | {r.liquidations} | {_usd(r.collateral_lost)} | "
                     f"{_usd(r.liquidator_profit)} | {_usd(r.reserves_change)} | {_usd(r.lenders_loss)} | "
                     f"{_usd(r.held)} | "
                     f"{_usd(r.bad_debt)} |")
    lines += ["", "- An absorption (policy `absorb`) counts as one liquidation: the protocol takes over the whole "
              "account, its collateral (\"collateral lost\") and its debt, written off (reserves first, then lenders); "
              "the keeper then buys the absorbed collateral at the store-front discount, paying into reserves (its "
              "discount is its profit).",
              "- Liquidator profit: collateral credited to the keeper less the debt it repaid, at the step's prices "
              "(and, under `absorb`, collateral bought less what it paid).",
              "- Change in protocol reserves: every market's reserves at the end less after set-up, at the final "
              "prices (interest, protocol cuts, write-offs covered, purchase proceeds). Lenders' loss: written-off "
              "debt the reserves did not cover, taken from lenders by lowering the deposit index (under `absorb` the "
              "whole debt is written off this way, and the purchase proceeds go to reserves).",
              "- Bad debt: debt written off with no collateral behind it (an absorption's: its debt beyond its "
              "collateral's value).", ""]
    lines += ["## Runs", "", "| policy | margin | report |", "|---|---|---|"]
    for run in runs:
        if run.timeline is not None:
            lines.append(f"| {run.variant} | {run.mode} | {run.folder}/report.md |")
    return "\n".join(lines) + "\n"


def _json_entry(run: VariantRun, column: str, expressible: bool) -> dict[str, object]:
    """A run's JSON entry as far as every comparison shares it: which run, and, when it could not be expressed,
    the refusals (a run that ran adds its figures and ``expressible: true``)."""
    entry: dict[str, object] = {column: run.variant, "protocol": run.protocol, "margin": run.mode}
    if not expressible:
        entry["expressible"] = False
        entry["refusals"] = [str(i) for i in run.mapping.refusals]
    return entry


def policies_json(runs: list[VariantRun]) -> str:
    out = []
    for run in runs:
        r = policy_row(run)
        entry = _json_entry(run, "policy", r is not None)
        if r is not None:
            entry.update(expressible=True, status=r.status, liquidations=r.liquidations,
                         collateral_lost_usd=str(r.collateral_lost), liquidator_profit_usd=str(r.liquidator_profit),
                         reserves_change_usd=str(r.reserves_change), lenders_loss_usd=str(r.lenders_loss),
                         absorbed_held_usd=str(r.held),
                         bad_debt_usd=str(r.bad_debt))
        out.append(entry)
    return json.dumps(out, indent=1, sort_keys=True) + "\n"


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
              "(USD) | paid by reserves (USD) | left as debt (USD) | liquidator profit (USD) | borrowers' end equity "
              "(USD) |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run, r in rows:
        if r is None:
            reason = run.mapping.refusals[0].reason if run.mapping.refusals else "not expressible"
            lines.append(f"| {run.variant} | {run.mode} | not expressible: {reason} | | | | | | | | |")
            continue
        lines.append(f"| {r.variant} | {r.mode} | {r.status} | {r.liquidations} | {_usd(r.collateral_seized)} | "
                     f"{_usd(r.bad_debt)} | {_usd(r.lenders_loss)} | {_usd(r.reserves_paid)} | "
                     f"{_usd(r.left_as_debt)} | "
                     f"{_usd(r.liquidator_profit)} | {_usd(r.end_equity)} |")
    done = [r for _, r in rows if r is not None]
    kinds = _kinds(done)
    if kinds:
        lines += ["", "## Gas per operation (median of this run's receipts; receipts in brackets)", "",
                  f"| {column} | margin | " + " | ".join(kinds) + " |", "|---|---|" + "---:|" * len(kinds)]
        for r in done:
            cells = [f"{r.gas[k][0]:,} ({r.gas[k][1]})" if k in r.gas else "–" for k in kinds]
            lines.append(f"| {r.variant} | {r.mode} | " + " | ".join(cells) + " |")
    lines += differences(runs, column)
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


#: The settings whose mapping explains a difference in outcome, with the heading the explanation goes under.
WHY = {"close factor": "close factor", "dust rule": "close factor", "liquidation_bonus": "incentive",
       "protocol_share": "incentive", "liab_weight": "debt weights", "netting": "netting",
       "bad debt": "bad debt", "sub-accounts": "isolation", "asset_weight.maint / liab_weight.maint": "debt weights"}


def differences(runs: list[VariantRun], column: str) -> list[str]:
    """What each run did differently, measured from its timeline (liquidations, the incentive actually paid per
    dollar repaid, how bad debt was dealt with), and why, in each protocol's own words (its mapping decisions on
    the close factor, incentive, debt weights, netting, bad debt and isolation)."""
    done = [r for r in runs if r.timeline is not None]
    if len({r.protocol for r in done}) < 2:
        return []
    lines = ["", "## What differs, and why", "",
             f"| {column} | margin | liquidations | repaid (USD) | seized per USD repaid | bad debt settled by "
             f"reserves / lenders (USD) | left as debt, unabsorbed (USD) |", "|---|---|---:|---:|---:|---:|---:|"]
    for run in done:
        t, r = run.timeline, row(run)
        assert t is not None and r is not None
        with localcontext(EXACT):
            repaid = sum((wad_to_decimal(x.repaid_value) for x in t.liquidations), Decimal(0))
            per = fmt_decimal((r.collateral_seized / repaid).quantize(Decimal("0.0001"))) if repaid else "–"
        lines.append(f"| {run.variant} | {run.mode} | {r.liquidations} | {_usd(repaid)} | {per} | "
                     f"{_usd(r.reserves_paid)} / {_usd(r.lenders_loss)} | {_usd(r.left_as_debt)} |")
    lines.append("")
    for variant in dict.fromkeys(r.variant for r in done):
        run = next(r for r in done if r.variant == variant)
        why: dict[str, list[str]] = {}
        for d in run.mapping.decisions:
            topic = WHY.get(d.setting)
            if topic is not None and (d.outcome != "mapped" or d.scope == "protocol"):
                text = f"{d.detail} ({d.scope})" if d.scope != "protocol" else d.detail
                if text not in why.setdefault(topic, []):
                    why[topic].append(text)
        if not why:
            lines.append(f"- **{variant}**: the reference: every setting has its exact counterpart.")
            continue
        lines.append(f"- **{variant}**:")
        lines += [f"  - {topic}: " + "; ".join(texts) for topic, texts in why.items()]
    return lines


def comparison_json(runs: list[VariantRun], what: str) -> str:
    column = DIMENSIONS.get(what, (what, ""))[0]
    out = []
    for run in runs:
        r = row(run)
        entry = _json_entry(run, column, r is not None)
        entry["not_honoured"] = [f"{d.scope}: {d.setting}: {d.detail}" for d in run.mapping.not_honoured]
        if r is not None:
            entry.update(expressible=True, status=r.status, liquidations=r.liquidations,
                         collateral_seized_usd=str(r.collateral_seized), bad_debt_usd=str(r.bad_debt),
                         lenders_loss_usd=str(r.lenders_loss), reserves_paid_usd=str(r.reserves_paid),
                         left_as_debt_usd=str(r.left_as_debt),
                         liquidator_profit_usd=str(r.liquidator_profit), end_equity_usd=str(r.end_equity),
                         gas={k: {"median": g, "receipts": n} for k, (g, n) in sorted(r.gas.items())})
        out.append(entry)
    return json.dumps(out, indent=1, sort_keys=True) + "\n"


def write_comparison(runs: list[VariantRun], out: Path, what: str) -> Path:
    """``compare-<what>.md`` and ``.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    policies = what == "policies"
    (out / f"compare-{what}.json").write_text(policies_json(runs) if policies else comparison_json(runs, what),
                                              encoding="utf-8")
    path = out / f"compare-{what}.md"
    text = render_policies(runs) if policies else render_comparison(runs, what)
    if what == "friction":
        text += "\n".join(render_friction_compare({f"{r.variant} ({r.mode})": r.timeline for r in runs
                                                   if r.timeline is not None})) + "\n"
    path.write_text(text, encoding="utf-8")
    return path
