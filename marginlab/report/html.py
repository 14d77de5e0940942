"""Self-contained HTML reports: one file that opens anywhere with no network — the chart library (Chart.js, from
npm, pinned in package-lock.json), the page's script and styles and its data are all inside it, and a Content
Security Policy forbids every request (no fonts, images, scripts or connections from elsewhere).

A page is data: cards (headline numbers), charts (Chart.js configurations: plain JSON) and tables (columns and
rows of text, numbers written exactly as in the Markdown reports); ``assets/report.js`` draws the charts and makes
each table sortable (click a header) and filterable (type words), 100 rows a page. The pages themselves are built
in html_replay.py, html_compare.py and html_sweep.py. Pure: no chain; the same data gives the same bytes.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from marginlab.errors import MarginlabError

ASSETS = Path(__file__).resolve().parent / "assets"
CHART_JS = Path("node_modules") / "chart.js" / "dist" / "chart.umd.min.js"
# Nothing may be fetched: no default source; inline scripts and styles only; images only as data: URIs.
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
PALETTE = ("#2457c5", "#d1495b", "#edae49", "#00798c", "#6a4c93", "#3b8b3b", "#c55d24", "#8c564b", "#e377c2",
           "#7f7f7f", "#17becf", "#bcbd22")


class ReportAssetMissing(MarginlabError):
    """The chart library is not installed (npm): the HTML report cannot be made self-contained."""

    exit_code = 3


@lru_cache(maxsize=1)
def chart_js() -> str:
    """Chart.js's UMD build from node_modules (the checkout's, or one above the working directory)."""
    for base in [Path(__file__).resolve().parents[2], Path.cwd(), *Path.cwd().parents]:
        path = base / CHART_JS
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise ReportAssetMissing(f"{CHART_JS} not found: run `make setup` (npm ci installs chart.js, which the HTML "
                             f"reports carry inside them)")


def color(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False
    wrap: bool = False  # long text (actions, checks): wrapped instead of one line


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Chart:
    id: str
    title: str
    config: dict[str, Any]
    note: str = ""
    #: name at most this many datasets in the legend (plus those marked "reference": true)
    legend_limit: int | None = None


@dataclass
class Page:
    title: str
    subtitle: str
    cards: list[tuple[str, str, str]] = field(default_factory=list)  # (label, value, "ok" | "bad" | "")
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (text, relative href): sibling files only


def line_chart(id: str, title: str, labels: list[Any], series: list[tuple[str, list[Any]]], *, y_title: str,
               x_title: str = "step", note: str = "", extra: list[dict[str, Any]] | None = None,
               y_max: float | None = None) -> Chart:
    datasets = [{"label": name, "data": values, "borderColor": color(n), "backgroundColor": color(n),
                 "borderWidth": 1.5, "pointRadius": 0, "tension": 0} for n, (name, values) in enumerate(series)]
    scales: dict[str, Any] = {"x": {"title": {"display": True, "text": x_title}},
                              "y": {"title": {"display": True, "text": y_title}}}
    if y_max is not None:
        scales["y"]["max"] = y_max
    return Chart(id, title, {"type": "line", "data": {"labels": labels, "datasets": datasets + (extra or [])},
                             "options": {"interaction": {"mode": "nearest", "intersect": False},
                                         "plugins": {"legend": {"position": "bottom"}}, "scales": scales}}, note)


def bar_chart(id: str, title: str, labels: list[Any], series: list[tuple[str, list[Any]]], *, y_title: str,
              x_title: str = "", note: str = "", extra: list[dict[str, Any]] | None = None) -> Chart:
    datasets = [{"type": "bar", "label": name, "data": values, "backgroundColor": color(n)}
                for n, (name, values) in enumerate(series)]
    return Chart(id, title, {"type": "bar", "data": {"labels": labels, "datasets": datasets + (extra or [])},
                             "options": {"plugins": {"legend": {"position": "bottom"}},
                                         "scales": {"x": {"title": {"display": bool(x_title), "text": x_title}},
                                                    "y": {"title": {"display": True, "text": y_title},
                                                          "grace": "5%"}}}}, note)


def _json_for_script(data: Any) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _table_html(t: Table) -> str:
    e = html.escape
    head = "".join(f'<th scope="col"{" class=num" if c.numeric else ""}>{e(c.label)}</th>' for c in t.columns)
    note = f'<p class="empty">{e(t.note)}</p>' if t.note else ""
    return (f'<section id="{e(t.id)}"><h2>{e(t.title)}</h2>{note}'
            f'<div class="tablebar"><input id="filter-{e(t.id)}" type="search" placeholder="filter: type words" '
            f'aria-label="filter {e(t.title)}"><span id="info-{e(t.id)}"></span>'
            f'<button id="prev-{e(t.id)}" type="button">previous</button>'
            f'<button id="next-{e(t.id)}" type="button">next</button></div>'
            f'<div class="tablewrap"><table id="table-{e(t.id)}"><thead><tr>{head}</tr></thead><tbody></tbody>'
            f'</table></div></section>')


def render_page(page: Page) -> str:
    e = html.escape
    cards = "".join(f'<div class="card {e(kind)}"><div class="k">{e(k)}</div><div class="v">{e(v)}</div></div>'
                    for k, v, kind in page.cards)
    charts = "".join(f'<figure id="{e(c.id)}"><figcaption>{e(c.title)}</figcaption><div class="chart-box">'
                     f'<canvas id="chart-{e(c.id)}" role="img" aria-label="{e(c.title)}"></canvas></div>'
                     + (f'<div class="note">{e(c.note)}</div>' if c.note else "") + "</figure>" for c in page.charts)
    nav = "".join(f'<a href="#{e(t.id)}">{e(t.title)}</a>' for t in page.tables)
    nav += "".join(f'<a href="{e(href)}">{e(text)}</a>' for text, href in page.links)
    library = chart_js().replace("</script", "<\\/script")
    data = {"charts": [{"id": c.id, "config": c.config, "legendLimit": c.legend_limit} for c in page.charts],
            "tables": [{"id": t.id, "columns": [{"label": c.label, "numeric": c.numeric, "wrap": c.wrap}
                                                for c in t.columns], "rows": t.rows} for t in page.tables]}
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(page.title)}</title>",
        f"<style>{(ASSETS / 'report.css').read_text(encoding='utf-8')}</style></head><body>",
        f"<header><h1>{e(page.title)}</h1><p>{e(page.subtitle)}</p></header>",
        f"<nav>{nav}</nav><main>",
        f'<div class="cards">{cards}</div>',
        (f'<h2>Charts</h2><div class="charts">{charts}</div>' if page.charts else ""),
        "".join(_table_html(t) for t in page.tables),
        "</main><footer>Written by marginlab. One file: its chart library (Chart.js, MIT) and data are inside; "
        "it fetches nothing. Click a column to sort, type in a box to filter.</footer>",
        f'<script type="application/json" id="page-data">{_json_for_script(data)}</script>',
        f"<script>{library}</script>",
        f"<script>{(ASSETS / 'report.js').read_text(encoding='utf-8')}</script>",
        "</body></html>", ""])


def write_page(page: Page, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(page), encoding="utf-8")
    return path
