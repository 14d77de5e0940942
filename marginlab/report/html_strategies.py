"""compare-strategies.html (``replay --compare-strategies``): compare-strategies.md's data as a page. Per account, a
chart of its equity after each step in every run (strategy variant × margin mode), with a marker where one of its
strategies sent a call (mined or reverted) and where it was liquidated; then the table of compare-strategies.md
(liquidations, collateral lost, end equity, capital used, which strategy acted when) and the runs. Pure: reads
timelines and plans, never a chain."""
from __future__ import annotations

from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, Mapping

from marginlab.numbers import EXACT
from marginlab.report.comparisons import VariantRun
from marginlab.report.html import Chart, Column, Page, Table, color, line_chart, write_page
from marginlab.report.html_replay import usd
from marginlab.report.metrics import keys_of, state_equity, total_bad_debt
from marginlab.report.strategies import COLUMNS, accounts_of, strategy_rows
from marginlab.scenario.plan import Plan
from marginlab.timeline import StepRecord, Timeline

MARKERS = (("acted", "strategy call mined", "triangle"), ("reverted", "strategy call reverted", "rectRot"),
           ("liquidated", "liquidation", "crossRot"))


def run_label(run: VariantRun) -> str:
    return f"{run.variant} {run.mode}"


def equity(t: Timeline, account: str, record: StepRecord) -> float:
    """The account's equity in the protocol after a record (USD: all its sub-accounts, deposits less debts)."""
    decimals = t.decimals()
    with localcontext(EXACT):
        total = sum((state_equity(record.accounts[k], record, decimals) for k in keys_of(t, account)
                     if k in record.accounts), Decimal(0))
    return float(total)


def equity_chart(n: int, account: str, runs: list[VariantRun]) -> Chart:
    """One line per run of the account's equity over the steps, and the markers of what happened to it."""
    done = [r for r in runs if r.timeline is not None]
    longest = max((r.timeline for r in done if r.timeline is not None), key=lambda t: len(t.records))
    xs = [rec.index for rec in longest.records]
    series: list[tuple[str, list[Any]]] = []
    markers: list[dict[str, Any]] = []
    for i, run in enumerate(done):
        t = run.timeline
        assert t is not None
        by_step = {rec.index: equity(t, account, rec) for rec in t.records}
        series.append((run_label(run), [by_step.get(x) for x in xs]))
        points: dict[str, list[dict[str, Any]]] = {"acted": [], "reverted": [], "liquidated": []}
        for step in dict.fromkeys(a.step for a in t.strategy_acts or [] if a.account == account and a.ok):
            points["acted"].append({"x": step, "y": by_step.get(step)})
        for step in dict.fromkeys(a.step for a in t.strategy_acts or [] if a.account == account and not a.ok):
            points["reverted"].append({"x": step, "y": by_step.get(step)})
        for step in dict.fromkeys(x.step for x in t.liquidations if x.account == account):
            points["liquidated"].append({"x": step, "y": by_step.get(step)})
        for key, what, style in MARKERS:
            if points[key]:
                markers.append({"type": "scatter", "label": f"{run_label(run)}: {what}", "data": points[key],
                                "backgroundColor": color(i), "borderColor": "#000", "borderWidth": 1,
                                "pointStyle": style, "pointRadius": 7, "reference": True})
    chart = line_chart(f"equity-{n}", f"{account}: equity in the protocol after each step (USD)", xs, series,
                       y_title="USD", extra=markers,
                       note="One line per run (strategies, margin). Markers: ▲ a strategy's call went through, ◆ it "
                            "reverted on chain, ✕ a liquidation; each sits on its run's line at that step. Step -1 is "
                            "the state after set-up.")
    return chart


def _report_link(folder: Path, out: Path | None) -> str:
    """The run's report.html relative to the comparison's folder (where the page is written)."""
    if out is not None and folder.is_relative_to(out):
        return (folder.relative_to(out) / "report.html").as_posix()
    return (folder / "report.html").as_posix()


def strategies_page(runs: list[VariantRun], plans: Mapping[tuple[str, str], Plan], out: Path | None = None) -> Page:
    first = next(iter(plans.values()))
    variants = list(dict.fromkeys(r.variant for r in runs))
    page = Page(f"Compare: {first.name} — strategies {', '.join(variants)}",
                f"Seed {first.seed}. The same scenario and price path with no strategies (none) and with each kind of "
                f"the file's strategies alone, each on a fresh chain. Capital used: the account's deposits at opening "
                f"(initial prices) plus its strategies' deposits that went through (at their step's prices).")
    done = [r for r in runs if r.timeline is not None]
    page.cards = [(f"{run_label(r)}: liquidations", str(len(r.timeline.liquidations)),
                   "bad" if r.timeline.liquidations else "") for r in done if r.timeline is not None]
    page.cards += [(f"{run_label(r)}: bad debt (USD)", usd(total_bad_debt(r.timeline)),
                    "bad" if r.timeline.bad_debts else "") for r in done if r.timeline is not None]
    accounts = accounts_of(plans)
    if done:
        page.charts = [equity_chart(n, account, runs) for n, account in enumerate(accounts)]
    rows = [[account, *[row.get(k, "") for k, _ in COLUMNS]] for account in accounts
            for row in strategy_rows(runs, plans, account)]
    numeric = {"liquidations", "collateral_lost_usd", "end_equity_usd", "capital_used_usd", "withdrawn_usd"}
    columns = [Column("account")] + [Column(h, numeric=k in numeric, wrap=k == "acted") for k, h in COLUMNS]
    run_rows = [[r.variant, r.mode, r.timeline.status, str(len(r.timeline.liquidations)),
                 usd(total_bad_debt(r.timeline)),
                 f"{sum(1 for e in r.timeline.expectations if e.passed)}/"
                 f"{sum(1 for e in r.timeline.expectations if not e.skipped)}",
                 _report_link(r.folder, out)]
                for r in done if r.timeline is not None]
    page.tables = [
        Table("accounts", "Accounts, run by run (as compare-strategies.md)", columns, rows,
              "Acted: each strategy's calls per step, ✓ mined, ✗ reverted on chain (the wallet is never topped up "
              "by minting)."),
        Table("runs", "Runs", [Column("strategies"), Column("margin"), Column("status"),
                               Column("liquidations", numeric=True), Column("bad debt (USD)", numeric=True),
                               Column("expectations passed"), Column("report")], run_rows)]
    page.links = [(file, file) for file in ("compare-strategies.md", "compare-strategies.json")]
    return page


def write_strategies_html(runs: list[VariantRun], plans: Mapping[tuple[str, str], Plan], out: Path) -> Path:
    return write_page(strategies_page(runs, plans, out), out / "compare-strategies.html")
