"""Render a timeline into files an auditor reads: timeline.json, timeline.csv, report.md, charts and report.html.

Everything here is a pure function of the timeline (plus file writing): the report never queries the chain.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Sequence

from marginlab.numbers import fmt_decimal, from_units
from marginlab.report.attribution import render_attribution, render_compare_attribution
from marginlab.report.charts import write_charts
from marginlab.report.compare import compare_rows
from marginlab.report.friction import render_friction
from marginlab.report.html_replay import write_timeline_html
from marginlab.report.metrics import (
    OwnerSummary,
    owner_summary,
    owners,
    state_equity,
    total_bad_debt,
    usd_value,
    wad_to_decimal,
)
from marginlab.timeline import ActionRecord, StepRecord, Timeline, write_timeline_json

SECONDS_PER_YEAR = 365 * 24 * 3600
# Step tables wider than this many sub-accounts list only the lowest health factor per step.
MAX_HF_COLUMNS = 8


def _d(value: Decimal, places: int = 6) -> str:
    return fmt_decimal(value, places)


def _usd(value: Decimal) -> str:
    return fmt_decimal(value, 2)


def _pct(wad: int) -> str:
    return fmt_decimal(wad_to_decimal(wad) * 100, 2) + " %"


def _hf(value: int | None) -> str:
    return "∞" if value is None else fmt_decimal(wad_to_decimal(value), 4)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def _duration(seconds: int) -> str:
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [f"{days}d"] if days else []
    parts.append(f"{hours:02d}:{minutes:02d}:{secs:02d}")
    return " ".join(parts)


def _outcome(a: ActionRecord) -> str:
    if a.ok:
        return ""
    return f" ⟂ {a.revert}" + (" (expected)" if a.expected_revert else " (allowed)" if a.may_revert else "")


def _balances(record: StepRecord, key: str, decimals: dict[str, int]) -> str:
    state = record.accounts.get(key)
    if state is None or not state.balances:
        return "—"
    return ", ".join(f"{_d(from_units(b, decimals[s]))} {s}" for s, b in state.balances.items() if b != 0) or "—"


def _absorbed_note(timeline: Timeline) -> str:
    """Under absorb: the debt absorptions wrote off, which counts as bad debt only beyond the collateral taken."""
    written = [b for b in timeline.bad_debts if b.in_absorb]
    if not written:
        return ""
    total = sum((wad_to_decimal(b.value) for b in written), Decimal(0))
    return (f" (absorptions also wrote off {_usd(total)} USD of debt, against the collateral the protocol took: "
            f"see Liquidations and Bad debt)")


def _policy(timeline: Timeline) -> str:
    """The liquidation policy the run was under, in words."""
    if timeline.liquidation_policy is not None:
        return f"policy {timeline.liquidation_policy}"
    protocol = (timeline.provenance or {}).get("protocol", "marginlab")
    if protocol != "marginlab":
        return f"{protocol}'s own rules"
    return "policy close-factor (the vault's default)"


def render_markdown(timeline: Timeline, charts: list[tuple[str, str]] | None = None,
                    extra: Sequence[str] = ()) -> str:
    """The run's report; ``extra``: sections computed from the plan rather than the timeline (capital
    efficiency, strategies), placed before the charts."""
    decimals = timeline.decimals()
    records = timeline.records
    lines: list[str] = [f"# Replay: {timeline.scenario} ({timeline.mode})", ""]

    # ---- summary
    passed = sum(1 for e in timeline.expectations if e.passed)
    failed = sum(1 for e in timeline.expectations if e.failed)
    skipped = sum(1 for e in timeline.expectations if e.skipped)
    lines += ["## Summary", ""]
    lines += [f"- Scenario: **{timeline.scenario}**, seed {timeline.seed}, margin mode: {timeline.mode}",
              f"- Status: **{timeline.status}**" + (f" — {timeline.error}" if timeline.error else ""),
              f"- Steps replayed: {len(timeline.steps)}"
              + (f", simulated time {_duration(records[-1].time)}" if records else ""),
              f"- Sub-accounts: {len(timeline.sub_accounts)}; liquidations: {len(timeline.liquidations)}; "
              + (f"bad debt settled: {_usd(total_bad_debt(timeline))} USD"
                 if not any(b.left_as_debt is not None for b in timeline.bad_debts)
                 else f"bad debt: {_usd(total_bad_debt(timeline))} USD, left as debt that nobody has absorbed")
              + _absorbed_note(timeline),
              f"- Expectations: {passed} passed, {failed} failed" + (f", {skipped} skipped (not for this run)"
                                                                    if skipped else ""),
              f"- Liquidation: {_policy(timeline)}; keeper rule: {timeline.keeper_rule or 'most-value'}", ""]
    if timeline.provenance:
        lines += ["## Provenance", ""]
        lines += [f"- {k}: {v}" for k, v in timeline.provenance.items()]
        lines.append("")

    # ---- parameters
    lines += ["## Markets", ""]
    # A token column only when some market is not a plain ERC-20 (the reports of plain books stay as they were).
    hostile = any(m.token is not None for m in timeline.markets)
    lines += _table(
        ["asset", "decimals", "feed decimals", "initial price", "asset weight init / maint",
         "liability weight init / maint", "liquidation bonus", "protocol share", "reserve factor"]
        + (["token"] if hostile else []),
        [[m.symbol, str(m.decimals), str(m.feed_decimals), m.price, f"{m.asset_weight_init} / {m.asset_weight_maint}",
          f"{m.liab_weight_init} / {m.liab_weight_maint}", m.liquidation_bonus, m.protocol_share, m.reserve_factor]
         + ([m.token or "plain"] if hostile else []) for m in timeline.markets])
    lines += ["", "## Sub-accounts", ""]
    first = records[0] if records else None
    lines += _table(["sub-account", "owner", "sub id", "margin", "positions", "balances after setup"],
                    [[s.key, s.owner, str(s.sub_id), s.margin, ", ".join(map(str, s.positions)),
                      _balances(first, s.key, decimals) if first else "—"] for s in timeline.sub_accounts])

    # ---- steps
    lines += ["", "## Steps", ""]
    symbols = [m.symbol for m in timeline.markets]
    wide = len(timeline.sub_accounts) > MAX_HF_COLUMNS
    liq_by_step: dict[int, int] = {}
    for x in timeline.liquidations:
        liq_by_step[x.step] = liq_by_step.get(x.step, 0) + 1
    hf_header = ["lowest HF (sub-account)"] if wide else [f"HF {s.key}" for s in timeline.sub_accounts]
    rows = []
    for r in records:
        acts = "; ".join(f"{a.account}: {a.call}" + _outcome(a) for a in r.actions)
        if r.oracle:
            acts = "; ".join([f"oracle {s} {v}" for s, v in r.oracle.items()] + ([acts] if acts else []))
        token_notes = [f"token {s} {v}" for s, v in (r.tokens or {}).items() if v != "live"]
        if token_notes:
            acts = "; ".join(token_notes + ([acts] if acts else []))
        if r.note:
            acts = "; ".join(([acts] if acts else []) + [r.note])
        if wide:
            lowest = min(((st.health_factor is None, st.health_factor or 0, k) for k, st in r.accounts.items()),
                         default=None)
            hf_cells = [f"{_hf(None if lowest[0] else lowest[1])} ({lowest[2]})" if lowest else "—"]
        else:
            hf_cells = [_hf(r.accounts[s.key].health_factor) if s.key in r.accounts else "—"
                        for s in timeline.sub_accounts]
        rows.append([str(r.index), r.label or r.source, _duration(r.time), *[r.prices[s] for s in symbols],
                     *hf_cells, str(liq_by_step.get(r.index, 0)) if r.index >= 0 else "", acts or ""])
    lines += _table(["step", "source", "time", *symbols, *hf_header, "liquidations", "actions"], rows)

    # ---- liquidations
    lines += ["", "## Liquidations", ""]
    if timeline.liquidations:
        lines += _table(
            ["step", "liquidator", "sub-account", "debt repaid", "collateral seized", "to liquidator",
             "protocol cut", "repaid (USD)", "seized (USD)", "HF before → after"],
            [[str(x.step), x.liquidator, f"{x.account}/{x.sub_id}",
              f"{_d(from_units(x.repaid, decimals[x.debt]))} {x.debt}",
              f"{_d(from_units(x.seized, decimals[x.collateral]))} {x.collateral}",
              f"{_d(from_units(x.to_liquidator, decimals[x.collateral]))} {x.collateral}",
              f"{_d(from_units(x.protocol_cut, decimals[x.collateral]))} {x.collateral}",
              _usd(wad_to_decimal(x.repaid_value)), _usd(wad_to_decimal(x.seized_value)),
              f"{_hf(x.health_factor_before)} → {_hf(x.health_factor_after)}"] if x.absorbed is None else
             [str(x.step), x.liquidator, f"{x.account}/{x.sub_id}", f"absorbed: all {x.debt} written off",
              "absorbed: " + ", ".join(f"{_d(from_units(u, decimals[sym]))} {sym}" for sym, u in x.absorbed.items()),
              "—", "all (to the protocol)", _usd(wad_to_decimal(x.repaid_value)),
              _usd(wad_to_decimal(x.seized_value)), f"{_hf(x.health_factor_before)} → —"]
             for x in timeline.liquidations])
    else:
        lines.append("None.")
    if timeline.purchases:
        lines += ["", "## Absorbed collateral bought", ""]
        lines += _table(["step", "buyer", "bought", "paid", "incentive", "bought (USD)", "paid (USD)"],
                        [[str(p.step), p.buyer, f"{_d(from_units(p.bought, decimals[p.collateral]))} {p.collateral}",
                          f"{_d(from_units(p.paid, decimals[p.pay]))} {p.pay}",
                          fmt_decimal(wad_to_decimal(p.incentive)), _usd(wad_to_decimal(p.bought_value)),
                          _usd(wad_to_decimal(p.paid_value))] for p in timeline.purchases])

    # ---- bad debt
    lines += ["", "## Bad debt", ""]
    if timeline.bad_debts:
        lines += _table(["step", "sub-account", "asset", "debt written off", "covered by reserves",
                         "socialised to depositors", "value (USD)"],
                        [[str(b.step), f"{b.account}/{b.sub_id}", b.asset,
                          _d(from_units(b.debt, decimals[b.asset])),
                          _d(from_units(b.covered_by_reserves, decimals[b.asset])),
                          _d(from_units(b.socialised, decimals[b.asset])), _usd(wad_to_decimal(b.value))]
                         for b in timeline.bad_debts])
        deficits: dict[str, int] = {}
        for b in timeline.bad_debts:
            if b.deficit:
                deficits[b.asset] = deficits.get(b.asset, 0) + b.deficit
        if deficits:
            lines += ["", "Recorded deficit (no depositor was left to bear it; owed until reserves or a payment cover "
                          "it): " + ", ".join(f"{_d(from_units(v, decimals[s]))} {s}" for s, v in deficits.items())
                      + "."]
        if any(b.left_as_debt is not None for b in timeline.bad_debts):
            lines += ["", "Left as debt: the protocol writes nothing off (Aave 3.0.x has no deficit accounting). The "
                          "amount above is what the account still owed when its last collateral was seized; it stays "
                          "its debt and keeps accruing, no reserve or depositor has absorbed it, and the lenders' "
                          "deposits still count it as a loan."]
    else:
        lines.append("None.")

    # ---- end state
    last = records[-1] if records else None
    if last is not None:
        lines += ["", "## End state", ""]
        lines += _table(["asset", "deposits", "borrows", "utilisation", "borrow APR", "supply APR", "reserves",
                         "deposit index", "borrow index"],
                        [[s, _d(from_units(m.total_deposits, decimals[s])),
                          _d(from_units(m.total_borrows, decimals[s])),
                          _pct(m.utilisation), _pct(m.borrow_rate), _pct(m.supply_rate),
                          _d(from_units(m.reserves, decimals[s])), _d(wad_to_decimal(m.deposit_index), 9),
                          _d(wad_to_decimal(m.borrow_index), 9)] for s, m in last.markets.items()])
        lines += [""]
        summaries = [owner_summary(timeline, o) for o in owners(timeline)]
        lines += _table(["owner", "liquidations", "collateral seized (USD)", "bad debt (USD)", "end equity (USD)",
                         "max leverage", "lowest HF"], [_summary_row(s) for s in summaries])
        lines += [""]
        lines += _table(["sub-account", "balances", "equity (USD)", "health factor"],
                        [[s.key, _balances(last, s.key, decimals),
                          _usd(state_equity(last.accounts[s.key], last, decimals)) if s.key in last.accounts else "—",
                          _hf(last.accounts[s.key].health_factor) if s.key in last.accounts else "—"]
                         for s in timeline.sub_accounts])

    # ---- expectations
    lines += render_friction(timeline)  # pools, oracle models or keepers only
    lines += ["", "## Expectations", ""]
    if timeline.expectations:
        lines += _table(["", "line", "check", "actual"],
                        [["PASS" if e.passed else "skipped" if e.skipped else "**FAIL**", str(e.line), e.description,
                          e.actual]
                         for e in timeline.expectations])
    else:
        lines.append("None apply to this run.")

    lines += render_attribution(timeline)  # with replay --attribution only
    lines += extra

    # ---- charts
    if charts:
        lines += ["", "## Charts", ""]
        for title, name in charts:
            lines += [f"### {title}", "", f"![{title}]({name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _summary_row(s: OwnerSummary) -> list[str]:
    return [s.owner, str(s.liquidations), _usd(s.collateral_seized), _usd(s.bad_debt), _usd(s.end_equity),
            _d(s.max_leverage, 2), _d(s.min_health_factor, 4)]


def render_csv(timeline: Timeline) -> str:
    """One row per (step, sub-account): prices, balances in token units as decimals, health."""
    symbols = [m.symbol for m in timeline.markets]
    decimals = timeline.decimals()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["step", "source", "time", "sub_account", "owner", "sub_id",
                     *[f"price_{s}" for s in symbols], *[f"balance_{s}" for s in symbols],
                     "health_init", "health_maint", "health_factor", "equity_usd"])
    subs = {s.key: s for s in timeline.sub_accounts}
    for r in timeline.records:
        for key, state in r.accounts.items():
            sub = subs[key]
            writer.writerow([r.index, r.source, r.time, key, sub.owner, sub.sub_id, *[r.prices[s] for s in symbols],
                             *[fmt_decimal(from_units(state.balances.get(s, 0), decimals[s]), 36) for s in symbols],
                             fmt_decimal(wad_to_decimal(state.health_init), 18),
                             fmt_decimal(wad_to_decimal(state.health_maint), 18),
                             "inf" if state.health_factor is None
                             else fmt_decimal(wad_to_decimal(state.health_factor), 18),
                             fmt_decimal(state_equity(state, r, decimals), 18)])
    return buf.getvalue()


def write_report(timeline: Timeline, folder: Path, *, charts: bool = True, extra: Sequence[str] = ()) -> None:
    """Write timeline.json, timeline.csv, the charts, report.md and report.html (interactive, self-contained)
    into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_timeline_json(timeline, folder / "timeline.json")
    (folder / "timeline.csv").write_text(render_csv(timeline), encoding="utf-8")
    drawn = write_charts(timeline, folder) if charts else []
    (folder / "report.md").write_text(render_markdown(timeline, drawn, extra), encoding="utf-8")
    write_timeline_html(timeline, folder)


def render_compare(timelines: dict[str, Timeline], refused: dict[str, str] | None = None,
                   extra: Sequence[str] = ()) -> str:
    """Side by side per owner: one row per (owner, margin mode). ``refused``: margin modes the protocol cannot
    express, with the reason (rows that say why instead of numbers)."""
    first = next(iter(timelines.values()))
    lines = [f"# Compare: {first.scenario} — cross vs isolated margin", "",
             f"Seed {first.seed}. Each account replayed with all positions in one sub-account (cross) and with "
             f"each position in its own sub-account (isolated); everything else identical.", ""]
    rows = [[r.account, r.mode, str(r.liquidations), _usd(r.collateral_lost), _usd(r.bad_debt),
             _usd(r.end_equity), _d(r.max_leverage, 2)] for r in compare_rows(timelines)]
    lines += _table(["account", "margin", "liquidations", "collateral lost to liquidators (USD)", "bad debt (USD)",
                     "end equity (USD)", "max leverage held"], rows)
    for mode, reason in (refused or {}).items():
        lines.append(f"| (every account) | {mode} | not expressible: {reason} | | | | |")
    lines += ["", "| run | status | liquidations | bad debt (USD) | expectations | report |",
              "|---|---|---|---|---|---|"]
    for mode, t in timelines.items():
        ok = sum(1 for e in t.expectations if e.passed)
        counted = sum(1 for e in t.expectations if not e.skipped)
        lines.append(f"| {mode} | {t.status} | {len(t.liquidations)} | {_usd(total_bad_debt(t))} | "
                     f"{ok}/{counted} passed | [{mode}/report.md]({mode}/report.md) |")
    lines += render_compare_attribution(timelines)  # with replay --attribution only
    lines += extra
    failed = [(m, e) for m, t in timelines.items() for e in t.expectations if e.failed]
    if failed:
        lines += ["", "## Failed expectations", ""]
        lines += [f"- {m}: line {e.line}: {e.description} (actual {e.actual})" for m, e in failed]
    return "\n".join(lines) + "\n"


__all__ = ["render_markdown", "render_csv", "write_report", "render_compare", "usd_value"]
