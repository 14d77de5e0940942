"""The HTML reports in headless Chromium with the network off: a replay's report.html (written by `marginlab
replay --compare`), compare.html, compare-protocols.html and sweep.html load without a single request beyond
their own file, draw their charts, and hold the timeline's numbers in tables that sort and filter.

Chromium is Debian's package, which `make setup` / `make test` install when it is missing: this test fails, it
never skips, without it. MARGINLAB_SCREENSHOTS=DIR keeps the screenshots it takes."""
from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.cli import main
from marginlab.protocols.base import Mapping
from marginlab.report.comparisons import VariantRun
from marginlab.report.html_compare import write_comparison_html
from marginlab.report.html_sweep import write_sweep_html
from marginlab.timeline import timeline_from_json

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from browser import Browser  # noqa: E402

CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"


@pytest.fixture(autouse=True)
def isolation():
    """marginlab starts its own node; brownie's chain is not needed."""
    yield


@pytest.fixture(scope="module")
def browser():
    with Browser(width=1400, height=1100) as b:
        yield b


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """gap-crash in both margin modes (liquidations and bad debt), as a user runs it."""
    out = tmp_path_factory.mktemp("html") / "gap-crash"
    assert main(["replay", str(ROOT / "scenarios" / "gap-crash.yaml"), "--compare", "--chain", CHAIN, "--out",
                 str(out), "--quiet", "--no-charts"]) == 0
    return out


def screenshots(tmp_path: Path) -> Path:
    keep = os.environ.get("MARGINLAB_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rendered_charts(browser: Browser) -> list[dict]:
    """Each canvas: its id, whether Chart.js drew it, and how many of its pixels are not blank."""
    return browser.eval("""Array.from(document.querySelectorAll('canvas')).map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
        return {id: c.id, chart: !!Chart.getChart(c), ink: ink, width: c.width, height: c.height};
    })""")


def cells(browser: Browser, table: str) -> list[list[str]]:
    return browser.eval(f"""Array.from(document.querySelectorAll('#table-{table} tbody tr'))
        .map(tr => Array.from(tr.cells).map(td => td.textContent))""")


def assert_loaded_alone(browser: Browser, page: Path, charts: int) -> None:
    browser.open(page)
    assert browser.eval("document.body.dataset.ready") == "true"
    assert browser.requests() == [page.resolve().as_uri()], "the page asked for something beyond its own file"
    assert browser.problems() == []
    drawn = rendered_charts(browser)
    assert browser.eval("document.body.dataset.chartsRendered") == str(charts) == str(len(drawn))
    for c in drawn:
        assert c["chart"] and c["width"] > 300 and c["ink"] > 2000, c


def test_a_replays_report_draws_its_charts_offline_and_its_tables_hold_the_timelines_numbers(browser, replayed,
                                                                                             tmp_path):
    page = replayed / "isolated" / "report.html"
    timeline = json.loads((replayed / "isolated" / "timeline.json").read_text())
    assert_loaded_alone(browser, page, charts=4)
    browser.screenshot(screenshots(tmp_path) / "report-top.png", full_page=False)

    symbols = [m["symbol"] for m in timeline["markets"]]
    records = [timeline["setup"], *timeline["steps"]]
    steps = cells(browser, "steps")
    assert [r[0] for r in steps] == [str(r["index"]) for r in records]
    assert [r[4:4 + len(symbols)] for r in steps] == [[r["prices"][s] for s in symbols] for r in records]
    decimals = {m["symbol"]: m["decimals"] for m in timeline["markets"]}
    liqs = cells(browser, "liquidation-table")
    assert len(liqs) == len(timeline["liquidations"]) > 0
    for row, x in zip(liqs, timeline["liquidations"], strict=True):
        assert (row[0], row[2], row[3], row[5]) == (str(x["step"]), f"{x['account']}/{x['sub_id']}", x["debt"],
                                                    x["collateral"])
        assert Decimal(row[4]) == round(Decimal(x["repaid"]).scaleb(-decimals[x["debt"]]), 6)
        assert Decimal(row[6]) == round(Decimal(x["seized"]).scaleb(-decimals[x["collateral"]]), 6)
        assert Decimal(row[11]) == round(Decimal(x["health_factor_before"]).scaleb(-18), 4)
    bad = cells(browser, "bad-debt-table")
    assert [Decimal(r[6]) for r in bad] == [round(Decimal(b["value"]).scaleb(-18), 2) for b in timeline["bad_debts"]]
    assert bad, "gap-crash leaves bad debt"

    # sort: the lowest health factor column, ascending, puts the step where it was lowest first
    browser.eval("document.querySelectorAll('#table-steps th')[%d].click()" % (4 + len(symbols)))
    lowest = cells(browser, "steps")[0]
    values = [Decimal(r[4 + len(symbols)]) for r in steps if r[4 + len(symbols)] != "∞"]
    assert Decimal(lowest[4 + len(symbols)]) == min(values)
    assert browser.eval("document.querySelectorAll('#table-steps th')[%d].getAttribute('aria-sort')"
                        % (4 + len(symbols))) == "ascending"
    # filter: one sub-account's rows, one per record, each holding its balances from the timeline
    key = next(s["key"] for s in timeline["sub_accounts"] if s["owner"] == "carol")
    browser.eval(f"""(() => {{ const f = document.getElementById('filter-states'); f.value = '{key}';
                     f.dispatchEvent(new Event('input')); }})()""")
    rows = cells(browser, "states")
    assert [r[1] for r in rows] == [key] * len(records)
    for row, record in zip(rows, records, strict=True):
        st = record["accounts"][key]
        assert [Decimal(v) for v in row[4:4 + len(symbols)]] == \
            [round(Decimal(st["balances"].get(s, "0")).scaleb(-decimals[s]), 6) for s in symbols]
    assert browser.eval("document.getElementById('table-states').dataset.shown") == str(len(records))
    browser.screenshot(screenshots(tmp_path) / "report-full.png")


def test_the_comparison_pages_and_a_sweeps_page_draw_offline(browser, replayed, tmp_path):
    compare = replayed / "compare.html"
    assert_loaded_alone(browser, compare, charts=4)
    accounts = cells(browser, "accounts")
    assert {(r[0], r[1]) for r in accounts} >= {("carol", "cross"), ("carol", "isolated")}
    # the capital each book needs, as compare.md's "Capital efficiency" table says it
    md = [[c.strip() for c in line.strip("|").split("|")] for line in (replayed / "compare.md").read_text()
          .split("## Capital efficiency")[1].splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert cells(browser, "capital") == md and {(r[0], r[1]) for r in md} >= {("carol", "cross"), ("carol", "isolated")}
    browser.screenshot(screenshots(tmp_path) / "compare.png", full_page=False)

    runs = [VariantRun("marginlab", "marginlab", mode,
                       timeline_from_json((replayed / mode / "timeline.json").read_text()), Mapping("marginlab"),
                       Path(mode), {"deposit": [120_000]}) for mode in ("cross", "isolated")]
    page = write_comparison_html(runs, tmp_path / "protocols", "protocols")
    assert page.name == "compare-protocols.html"
    assert_loaded_alone(browser, page, charts=3)
    assert [[r[0], r[2]] for r in cells(browser, "runs")] == [["marginlab", "cross"], ["marginlab", "isolated"]]

    results = [{"seed": s, "params": {"markets.0.liquidation_bonus": b}, "liquidations": s % 4,
                "bad_debt": s * 10**17, "worst_health_factor": (800 + 17 * s) * 10**15}
               for b in (0.05, 0.1) for s in range(1, 9)]
    page = write_sweep_html(results, "demo", "16 replays", tmp_path / "sweep")
    assert_loaded_alone(browser, page, charts=6)
    assert len(cells(browser, "replays")) == 16
    browser.screenshot(screenshots(tmp_path) / "sweep.png", full_page=False)


def test_the_strategies_page_draws_each_accounts_equity_with_its_markers_offline(browser, tmp_path):
    # revm, in process: the page is about the report, and the strategies' runs are checked on CHAIN elsewhere
    out = tmp_path / "strategies"
    assert main(["replay", str(ROOT / "scenarios" / "drain-stop-loss.yaml"), "--compare", "--compare-strategies",
                 "none,stop_loss", "--chain", "revm", "--out", str(out), "--quiet", "--no-charts"]) == 1  # none fails
    page = out / "compare-strategies.html"
    assert_loaded_alone(browser, page, charts=1)
    data = json.loads((out / "compare-strategies.json").read_text())
    rows = cells(browser, "accounts")
    assert [r[:4] for r in rows] == [["bob", d["strategies"], d["margin"], d["status"]] for d in data["bob"]]
    assert [r[4] for r in rows] == [d["liquidations"] for d in data["bob"]] == ["2", "1", "0", "0"]
    # what Chart.js drew: a line per run, the stop-loss's calls in step 0, the liquidations without it
    drawn = browser.eval("""Chart.getChart(document.getElementById('chart-equity-0')).data.datasets
        .map(d => [d.label, d.data.length, d.data.map(p => (p && p.x !== undefined) ? p.x : null)[0]])""")
    labels = [d[0] for d in drawn]
    assert labels[:4] == ["none cross", "none isolated", "stop_loss cross", "stop_loss isolated"]
    assert all(d[1] == 5 for d in drawn[:4])  # step -1 (set-up) and the four steps
    assert ["stop_loss cross: strategy call mined", 1, 0] in drawn
    assert any(d[0] == "none cross: liquidation" for d in drawn)
    # sort by end equity, descending: the stop-loss in cross margin ends richest
    header = [c[0] for c in browser.eval("Array.from(document.querySelectorAll('#table-accounts th'))"
                                         ".map(th => [th.textContent])")].index("end equity in the protocol (USD)")
    browser.eval("document.querySelectorAll('#table-accounts th')[%d].click()" % header)
    browser.eval("document.querySelectorAll('#table-accounts th')[%d].click()" % header)
    assert cells(browser, "accounts")[0][1:3] == ["stop_loss", "cross"]
    browser.screenshot(screenshots(tmp_path) / "compare-strategies.png")
