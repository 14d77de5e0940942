"""compare.html (cross vs isolated margin: compare.md's data) and compare-<what>.html (variants × margins:
compare-<what>.md's data — protocols, a patch's without/with, policies), with charts of each run's outcomes and of
the lowest health factor per step. Pure: reads timelines and the comparison rows, never a chain."""
from __future__ import annotations

from pathlib import Path

from marginlab.numbers import fmt_decimal
from marginlab.report.capital import (
    CAPITAL_COLUMNS,
    CAPITAL_NOTE,
    NETTING_INTRO,
    AccountCapital,
    capital_cells,
    offset_notes,
    refused_notes,
    where_from,
)
from marginlab.report.compare import compare_rows
from marginlab.report.comparisons import DIMENSIONS, GAS_KINDS, VariantRun, policy_row, row
from marginlab.report.html import Chart, Column, Page, Table, bar_chart, line_chart, write_page
from marginlab.report.html_replay import HF_DISPLAY_CAP, lowest, usd
from marginlab.report.metrics import total_bad_debt, wad_to_decimal
from marginlab.timeline import Timeline

N = lambda label: Column(label, numeric=True)  # noqa: E731


def lowest_hf_chart(id: str, timelines: dict[str, Timeline]) -> Chart:
    """The lowest health factor of any sub-account after each step, one line per run (same steps in each)."""
    first = next(iter(timelines.values()))
    xs = [r.index for r in first.records]
    series = []
    for name, t in timelines.items():
        by_step = {r.index: lowest(r)[0] for r in t.records}
        series.append((name, [None if by_step.get(i) is None else min(float(wad_to_decimal(by_step[i])),
                                                                           HF_DISPLAY_CAP) for i in xs]))
    return line_chart(id, f"Lowest health factor per step (drawn at most {HF_DISPLAY_CAP:g})", xs, series,
                      y_title="health factor", y_max=HF_DISPLAY_CAP,
                      extra=[{"label": "liquidation line (1.0)", "data": [1.0] * len(xs), "borderColor": "#000",
                              "borderDash": [6, 4], "borderWidth": 1, "pointRadius": 0}])


def capital_table(rows: list[AccountCapital]) -> Table:
    """compare.md's "Capital efficiency" section as a table; its note says whose rules and where the difference
    comes from."""
    notes = offset_notes(rows)
    note = " ".join([CAPITAL_NOTE, rows[0].rules, *([NETTING_INTRO, *notes] if notes else [where_from(rows)]),
                     *refused_notes(rows)])
    return Table("capital", "Capital efficiency", [Column(CAPITAL_COLUMNS[0]), Column(CAPITAL_COLUMNS[1]),
                                                   *[N(label) for label in CAPITAL_COLUMNS[2:]]],
                 capital_cells(rows), note)


def compare_page(timelines: dict[str, Timeline], refused: dict[str, str] | None = None,
                 capital: list[AccountCapital] | None = None) -> Page:
    first = next(iter(timelines.values()))
    rows = compare_rows(timelines)
    page = Page(f"Compare: {first.scenario} — cross vs isolated margin",
                f"Seed {first.seed}. Each account replayed with all positions in one sub-account (cross) and with each "
                f"position in its own sub-account (isolated); everything else identical.")
    page.cards = [(f"{mode}: liquidations", str(len(t.liquidations)), "bad" if t.liquidations else "")
                  for mode, t in timelines.items()]
    page.cards += [(f"{mode}: bad debt (USD)", usd(total_bad_debt(t)), "bad" if t.bad_debts else "")
                   for mode, t in timelines.items()]
    accounts = list(dict.fromkeys(r.account for r in rows))
    modes = list(timelines)

    def per_mode(field: str) -> list[tuple[str, list[float]]]:
        return [(mode, [float(getattr(next(r for r in rows if r.account == a and r.mode == mode), field))
                        for a in accounts]) for mode in modes]

    page.charts = [
        bar_chart("liquidations", "Liquidations per account", accounts, per_mode("liquidations"), y_title="count"),
        bar_chart("collateral-lost", "Collateral lost to liquidators (USD)", accounts, per_mode("collateral_lost"),
                  y_title="USD"),
        bar_chart("end-equity", "End equity (USD)", accounts, per_mode("end_equity"), y_title="USD"),
        lowest_hf_chart("lowest-hf", timelines)]
    table_rows = [[r.account, r.mode, str(r.liquidations), usd(r.collateral_lost), usd(r.bad_debt),
                   usd(r.end_equity), fmt_decimal(r.max_leverage, 2)] for r in rows]
    table_rows += [["(every account)", mode, f"not expressible: {reason}", "", "", "", ""]
                   for mode, reason in (refused or {}).items()]
    run_rows = [[mode, t.status, str(len(t.liquidations)), usd(total_bad_debt(t)),
                 f"{sum(1 for e in t.expectations if e.passed)}/{sum(1 for e in t.expectations if not e.skipped)}",
                 f"{mode}/report.html"] for mode, t in timelines.items()]
    page.tables = [
        Table("accounts", "Accounts, side by side", [Column("account"), Column("margin"), N("liquidations"),
                                                     N("collateral lost to liquidators (USD)"), N("bad debt (USD)"),
                                                     N("end equity (USD)"), N("max leverage held")], table_rows),
        Table("runs", "Runs", [Column("run"), Column("status"), N("liquidations"), N("bad debt (USD)"),
                               Column("expectations passed"), Column("report")], run_rows)]
    if capital:
        page.tables.insert(1, capital_table(capital))
    page.links = [("compare.md", "compare.md")] + [(f"{m}/report.html", f"{m}/report.html") for m in timelines]
    return page


def comparison_page(runs: list[VariantRun], what: str) -> Page:
    first = next((r.timeline for r in runs if r.timeline is not None), None)
    name = first.scenario if first is not None else "scenario"
    variants = list(dict.fromkeys(r.variant for r in runs))
    column, sentence = DIMENSIONS.get(what, (what, "Each variant on a fresh chain."))
    page = Page(f"Compare: {name} — {', '.join(variants)}",
                f"{sentence} Gas is the median of this run's own receipts per operation.")
    done = [(run, r) for run in runs if (r := row(run)) is not None]
    labels = [f"{r.variant} {r.mode}" for _, r in done]
    page.cards = [(label, f"{r.liquidations} liquidations, {usd(r.bad_debt)} USD bad debt", "bad" if r.bad_debt else "")
                  for label, (_, r) in zip(labels, done, strict=True)]
    money = lambda field: [float(getattr(r, field)) for _, r in done]  # noqa: E731
    page.charts = [
        bar_chart("outcomes", "Liquidations and bad debt per run", labels,
                  [("liquidations", money("liquidations"))], y_title="count",
                  extra=[{"type": "bar", "label": "bad debt (USD)", "data": money("bad_debt"), "yAxisID": "usd",
                          "backgroundColor": "#d1495b"}]),
        bar_chart("who-paid", "Who paid (USD)", labels,
                  [("collateral seized", money("collateral_seized")), ("lenders' loss", money("lenders_loss")),
                   ("paid by reserves", money("reserves_paid")), ("liquidator profit", money("liquidator_profit"))],
                  y_title="USD")]
    page.charts[0].config["options"]["scales"]["usd"] = {"position": "right", "title": {"display": True,
                                                                                        "text": "USD"}}
    timelines = {f"{run.variant} {run.mode}": run.timeline for run, _ in done if run.timeline is not None}
    if timelines and len({len(t.records) for t in timelines.values()}) == 1:
        page.charts.append(lowest_hf_chart("lowest-hf", timelines))
    rows = []
    for run in runs:
        r = row(run)
        if r is None:
            reason = run.mapping.refusals[0].reason if run.mapping.refusals else "not expressible"
            rows.append([run.variant, run.protocol, run.mode, f"not expressible: {reason}", "", "", "", "", "", "",
                         ""])
            continue
        rows.append([r.variant, run.protocol, r.mode, r.status, str(r.liquidations), usd(r.collateral_seized),
                     usd(r.bad_debt), usd(r.lenders_loss), usd(r.reserves_paid), usd(r.liquidator_profit),
                     usd(r.end_equity)])
    seen = {k for _, r in done for k in r.gas}
    kinds = [k for k in GAS_KINDS if k in seen] + sorted(seen - set(GAS_KINDS))
    gas_rows = [[r.variant, r.mode, k, str(r.gas[k][0]), str(r.gas[k][1])] for _, r in done for k in kinds
                if k in r.gas]
    mapping_rows = [[run.variant, run.mode, d.scope, d.setting, d.outcome, d.detail] for run in runs
                    for d in run.mapping.decisions]
    mapping_rows += [[run.variant, run.mode, issue.field, "", "refused", issue.reason] for run in runs
                     for issue in run.mapping.refusals]
    page.tables = [
        Table("runs", "Runs", [Column(column), Column("protocol"), Column("margin"), Column("status"),
                               N("liquidations"), N("collateral seized (USD)"), N("bad debt (USD)"),
                               N("lenders' loss (USD)"), N("paid by reserves (USD)"), N("liquidator profit (USD)"),
                               N("borrowers' end equity (USD)")], rows),
        Table("gas", "Gas per operation (median of this run's receipts)", [Column(column), Column("margin"),
              Column("operation"), N("median gas"), N("receipts")], gas_rows),
        Table("mapping", "How each run carried the scenario's settings",
              [Column(column), Column("margin"), Column("scope"), Column("setting"), Column("outcome"),
               Column("detail", wrap=True)], mapping_rows)]
    if what == "policies":
        policy_rows = [[p.variant, p.mode, p.status, str(p.liquidations), usd(p.collateral_lost),
                        usd(p.liquidator_profit), usd(p.reserves_change), usd(p.lenders_loss), usd(p.held),
                        usd(p.bad_debt)] for run in runs if (p := policy_row(run)) is not None]
        page.tables.insert(0, Table("policies", "Per liquidation policy (as compare-policies.md)", [
            Column("policy"), Column("margin"), Column("status"), N("liquidations"),
            N("collateral lost by borrowers (USD)"), N("liquidator profit (USD)"),
            N("change in protocol reserves (USD)"), N("lenders' loss (USD)"),
            N("absorbed collateral still held (USD)"), N("bad debt (USD)")], policy_rows))
    page.links = [(file, file) for file in (f"compare-{what}.md", f"compare-{what}.json")]
    return page


def write_compare_html(timelines: dict[str, Timeline], refused: dict[str, str] | None, folder: Path,
                       capital: list[AccountCapital] | None = None) -> Path:
    return write_page(compare_page(timelines, refused, capital), folder / "compare.html")


def write_comparison_html(runs: list[VariantRun], out: Path, what: str) -> Path:
    return write_page(comparison_page(runs, what), out / f"compare-{what}.html")

