"""sweep.html: every replay of a sweep in one sortable, filterable table, each metric's distribution per parameter
combination as a histogram, and the summary statistics of sweep.md. Pure: reads the sweep's results (the
dictionaries sweep.json holds), never a chain."""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from marginlab.report.html import Chart, Column, Page, Table, bar_chart, write_page

#: (key in a result, label, scale): the figures each replay of a sweep keeps
METRICS = (("liquidations", "liquidation count", 1), ("bad_debt", "bad debt (USD)", 10**18),
           ("worst_health_factor", "worst health factor", 10**18))
BINS = 12
#: whole-number metrics (liquidation counts) spanning at most this many values get one bar per value
MAX_INTEGER_BARS = 30


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _edge(value: float) -> str:
    return f"{value:.4g}"


def histogram(values: list[float], bins: int = BINS) -> tuple[list[str], list[int]]:
    """Labels and counts: one bar per value for whole numbers over a short range, else equal-width bins over
    [min, max] (one bin when every value is the same)."""
    if not values:
        return [], []
    low, high = min(values), max(values)
    if all(float(v).is_integer() for v in values) and high - low < MAX_INTEGER_BARS:
        span = range(int(low), int(high) + 1)
        return [str(i) for i in span], [sum(1 for v in values if v == i) for i in span]
    if low == high:
        return [_fmt(low)], [len(values)]
    width = (high - low) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    return [f"{_edge(low + i * width)}–{_edge(low + (i + 1) * width)}" for i in range(bins)], counts


def sweep_page(results: list[dict[str, Any]], title: str, summary: str) -> Page:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(json.dumps(r["params"], sort_keys=True), []).append(r)
    page = Page(f"Sweep: {title}", summary)
    page.cards = [("replays", str(len(results)), ""), ("parameter combinations", str(len(groups)), "")]
    charts: list[Chart] = []
    stats_rows = []
    for metric, label, scale in METRICS:
        for g, (key, rows) in enumerate(groups.items()):
            values = [r[metric] / scale for r in rows if r[metric] is not None]
            labels, counts = histogram(values)
            name = f"{label}, parameters {key}" if len(groups) > 1 else label
            charts.append(bar_chart(f"hist-{metric}-{g}", name, labels, [("replays", counts)], y_title="replays",
                                    x_title=label))
            stats_rows.append([key, label, str(len(values))] + ([_fmt(min(values)), _fmt(statistics.median(values)),
                                                                 _fmt(statistics.fmean(values)), _fmt(max(values))]
                                                                if values else ["", "", "", ""]))
    page.charts = charts
    result_rows = [[str(r["seed"]), json.dumps(r["params"], sort_keys=True), str(r["liquidations"]),
                    _fmt(r["bad_debt"] / 10**18),
                    "" if r["worst_health_factor"] is None else _fmt(r["worst_health_factor"] / 10**18)]
                   for r in results]
    n = lambda label: Column(label, numeric=True)  # noqa: E731
    page.tables = [
        Table("replays", "Every replay", [n("seed"), Column("parameters"), n("liquidations"), n("bad debt (USD)"),
                                          n("worst health factor")], result_rows),
        Table("summary", "Distributions", [Column("parameters"), Column("metric"), n("replays"), n("min"),
                                           n("median"), n("mean"), n("max")], stats_rows)]
    page.links = [("sweep.md", "sweep.md"), ("sweep.json", "sweep.json")]
    return page


def write_sweep_html(results: list[dict[str, Any]], title: str, summary: str, out: Path) -> Path:
    return write_page(sweep_page(results, title, summary), out / "sweep.html")
