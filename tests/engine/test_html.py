"""HTML reports (marginlab/report/html*.py) without a browser: one self-contained file whose embedded data are the
timeline's numbers, for a replay, both comparisons and a sweep; and Timeline.to_frame() for notebooks. The browser
side (charts drawn, tables sorted and filtered, no request made) is tests/integration/test_html_report.py."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.protocols.base import Mapping
from marginlab.report.comparisons import VariantRun
from marginlab.report.html import CSP, chart_js, render_page
from marginlab.report.html_compare import compare_page, comparison_page
from marginlab.report.html_replay import timeline_page
from marginlab.report.html_sweep import histogram, sweep_page
from marginlab.timeline import Timeline, timeline_from_json

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"


def golden(name: str) -> Timeline:
    return timeline_from_json((GOLDEN / f"{name}.json").read_text())


def page_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', text, re.S)
    assert m is not None
    return json.loads(m.group(1))


def table(data: dict, id: str) -> list[list[str]]:
    return next(t for t in data["tables"] if t["id"] == id)["rows"]


def test_a_report_is_one_file_that_carries_its_chart_library_and_forbids_every_request():
    text = render_page(timeline_page(golden("gap-crash.isolated")))
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in text
    assert "default-src 'none'" in CSP and "connect-src" not in CSP  # nothing may be fetched, by any means
    assert chart_js()[:200] in text  # Chart.js inline, not linked
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)  # no element loads anything
    links = re.findall(r'<a href="([^"]+)"', text)
    assert links and all(h.startswith("#") or "/" not in h and ":" not in h for h in links)  # siblings or anchors


def test_the_same_timeline_gives_the_same_bytes():
    t = golden("hedged-book.cross")
    assert render_page(timeline_page(t)) == render_page(timeline_page(t))


def test_the_replay_tables_hold_the_timelines_numbers():
    t = golden("gap-crash.isolated")
    data = page_data(render_page(timeline_page(t)))
    assert [c["id"] for c in data["charts"]] == ["prices", "health", "liquidations", "bad-debt"]
    symbols = [m.symbol for m in t.markets]
    steps = table(data, "steps")
    assert [row[0] for row in steps] == [str(r.index) for r in t.records]
    assert [row[4:4 + len(symbols)] for row in steps] == [[r.prices[s] for s in symbols] for r in t.records]
    decimals = t.decimals()
    liqs = table(data, "liquidation-table")
    assert len(liqs) == len(t.liquidations) > 0
    for row, x in zip(liqs, t.liquidations, strict=True):
        assert row[0] == str(x.step) and row[2] == f"{x.account}/{x.sub_id}"
        assert Decimal(row[4]) == round(Decimal(x.repaid).scaleb(-decimals[x.debt]), 6)
        assert Decimal(row[6]) == round(Decimal(x.seized).scaleb(-decimals[x.collateral]), 6)
    bad = table(data, "bad-debt-table")
    assert len(bad) == len(t.bad_debts) > 0
    assert [Decimal(r[6]) for r in bad] == [round(Decimal(b.value).scaleb(-18), 2) for b in t.bad_debts]
    states = table(data, "states")
    assert len(states) == sum(len(r.accounts) for r in t.records)
    last = t.records[-1]
    for key, st in last.accounts.items():
        row = next(r for r in states if r[0] == str(last.index) and r[1] == key)
        shown = row[4 + len(symbols)]
        if st.health_factor is None:
            assert shown == "∞"
        else:
            assert Decimal(shown) == round(Decimal(st.health_factor).scaleb(-18), 4)


def test_the_health_chart_marks_each_liquidation_and_the_liquidation_line():
    t = golden("gap-crash.isolated")
    health = next(c for c in page_data(render_page(timeline_page(t)))["charts"] if c["id"] == "health")
    labels = [d["label"] for d in health["config"]["data"]["datasets"]]
    assert labels[-2:] == ["liquidation (health factor before)", "liquidation line (1.0)"]
    assert len(health["config"]["data"]["datasets"][-2]["data"]) == len(t.liquidations)


def test_the_margin_comparison_page_holds_compare_mds_rows():
    timelines = {"cross": golden("hedged-book.cross"), "isolated": golden("hedged-book.isolated")}
    data = page_data(render_page(compare_page(timelines)))
    rows = table(data, "accounts")
    alice = {r[1]: r for r in rows if r[0] == "alice"}
    # the README's table: alice survives in cross margin, is liquidated twice in isolated margin
    assert alice["cross"][2:] == ["0", "0", "0", "12477.16", "2.76"]
    assert alice["isolated"][2:4] == ["2", "15735"] and alice["isolated"][5:] == ["8402.45", "8.03"]
    assert [c["id"] for c in data["charts"]] == ["liquidations", "collateral-lost", "end-equity", "lowest-hf"]


def test_the_protocol_comparison_page_holds_a_row_per_run_and_says_why_one_cannot_run():
    runs = [VariantRun("marginlab", "marginlab", mode, golden(f"drain.{mode}"), Mapping("marginlab"), Path(mode),
                       {"liquidate": [200_000, 210_000]}) for mode in ("cross", "isolated")]
    from marginlab.errors import Issue
    refused = Mapping("morpho-blue", refusals=(Issue("s.yaml", 3, "accounts[0]", "no cross margin across assets"),))
    runs.append(VariantRun("morpho-blue", "morpho-blue", "cross", None, refused, Path("x"), {}))
    data = page_data(render_page(comparison_page(runs, "protocols")))
    rows = table(data, "runs")
    assert [[r[0], r[2]] for r in rows] == [["marginlab", "cross"], ["marginlab", "isolated"], ["morpho-blue", "cross"]]
    assert rows[2][3] == "not expressible: no cross margin across assets"
    assert ["marginlab", "cross", "liquidate", "205000", "2"] in table(data, "gas")


def test_the_sweep_page_holds_every_replay_and_a_histogram_per_metric():
    results = [{"seed": s, "params": {}, "liquidations": s % 3, "bad_debt": s * 10**18, "worst_health_factor": None
                if s == 2 else (900 + s) * 10**15} for s in range(1, 6)]
    data = page_data(render_page(sweep_page(results, "demo", "5 replays")))
    assert [r[0] for r in table(data, "replays")] == ["1", "2", "3", "4", "5"]
    assert table(data, "replays")[1][4] == ""  # nobody borrowed: no worst health factor
    assert len(data["charts"]) == 3
    assert histogram([1.0, 1.0]) == (["1"], [2])
    assert histogram([0, 2, 2, 3]) == (["0", "1", "2", "3"], [1, 0, 2, 1])  # counts: one bar per value
    labels, counts = histogram([0.0, 0.5, 2.0, 12.5])
    assert sum(counts) == 4 and counts[0] == 2 and counts[-1] == 1 and len(labels) == 12
    assert labels[0] == "0–1.042"


def test_to_frame_gives_one_row_per_record_and_sub_account_with_the_timelines_numbers():
    pd = pytest.importorskip("pandas")
    t = golden("gap-crash.isolated")
    df = t.to_frame()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == sum(len(r.accounts) for r in t.records)
    assert list(df.columns[:8]) == ["step", "source", "label", "time", "sub_account", "owner", "sub_id", "margin"]
    last = t.records[-1]
    key, st = next((k, s) for k, s in last.accounts.items() if s.health_factor is not None)
    row = df[(df.step == last.index) & (df.sub_account == key)].iloc[0]
    assert row.health_factor == pytest.approx(st.health_factor / 1e18)
    exact = t.to_frame(exact=True)
    erow = exact[(exact.step == last.index) & (exact.sub_account == key)].iloc[0]
    sym = t.markets[0].symbol
    assert erow[f"balance_{sym}"] == Decimal(st.balances.get(sym, 0)).scaleb(-t.market(sym).decimals)
    assert df[df.health_factor == float("inf")].shape[0] == exact[exact.health_factor.isna()].shape[0]


def _strategy_runs() -> tuple[list[VariantRun], dict]:
    """drain.yaml's timelines as the run without strategies (the same markets, book and path; drain-stop-loss.yaml
    only adds the wallet and the stop-loss) and drain-stop-loss's as the stop_loss run, in both margin modes."""
    import dataclasses

    from marginlab.scenario.plan import compare_plans
    from marginlab.scenario.validate import load_scenario

    scenario, doc = load_scenario(ROOT / "scenarios" / "drain-stop-loss.yaml")
    plans, runs = {}, []
    for variant, name in (("none", "drain"), ("stop_loss", "drain-stop-loss")):
        for mode, plan in compare_plans(scenario, doc).items():
            plans[(variant, mode)] = plan if variant == "stop_loss" else dataclasses.replace(plan, strategies=())
            runs.append(VariantRun(variant, "marginlab", mode, golden(f"{name}.{mode}"), Mapping("marginlab"),
                                   Path("out") / variant / mode, {}))
    return runs, plans


def test_the_strategies_page_charts_each_accounts_equity_per_run_with_markers_and_holds_the_md_table():
    from marginlab.report.html_strategies import strategies_page
    from marginlab.report.metrics import state_equity
    from marginlab.report.strategies import COLUMNS, strategy_rows

    runs, plans = _strategy_runs()
    text = render_page(strategies_page(runs, plans, Path("out")))
    assert text == render_page(strategies_page(runs, plans, Path("out")))  # same data, same bytes
    data = page_data(text)
    assert [c["id"] for c in data["charts"]] == ["equity-0"]  # one account (bob); the lp follows no strategy
    sets = {d["label"]: d for d in data["charts"][0]["config"]["data"]["datasets"]}
    # one line per run: bob's equity after each record, exactly as the timeline's balances at its prices
    for run in runs:
        t = run.timeline
        line = sets[f"{run.variant} {run.mode}"]["data"]
        decimals = t.decimals()
        assert line == [float(sum(state_equity(r.accounts[k], r, decimals) for k in r.accounts
                                  if k.startswith("bob/"))) for r in t.records]
    # the stop-loss acted in step 0, in both modes; without it bob is liquidated, where the timeline says
    assert [p["x"] for p in sets["stop_loss cross: strategy call mined"]["data"]] == [0]
    assert [p["x"] for p in sets["stop_loss isolated: strategy call mined"]["data"]] == [0]
    assert not any("stop_loss" in k and "liquidation" in k for k in sets)
    for mode in ("cross", "isolated"):
        steps = sorted({x.step for x in golden(f"drain.{mode}").liquidations if x.account == "bob"})
        assert steps and [p["x"] for p in sets[f"none {mode}: liquidation"]["data"]] == steps
        point = sets[f"none {mode}: liquidation"]["data"][0]
        assert point["y"] == sets[f"none {mode}"]["data"][[r.index for r in runs[0].timeline.records].index(steps[0])]
    # the table is compare-strategies.md's rows, with the account in front
    expected = [["bob", *[r.get(k, "") for k, _ in COLUMNS]] for r in strategy_rows(runs, plans, "bob")]
    assert table(data, "accounts") == expected
    assert [r[1:4] for r in expected] == [["none", "cross", "complete"], ["none", "isolated", "complete"],
                                          ["stop_loss", "cross", "complete"], ["stop_loss", "isolated", "complete"]]
    assert expected[2][4] == "0" and expected[0][4] != "0"  # the stop-loss keeps bob from liquidation in cross
    assert [r[-1] for r in table(data, "runs")] == ["none/cross/report.html", "none/isolated/report.html",
                                                    "stop_loss/cross/report.html", "stop_loss/isolated/report.html"]


def test_the_margin_comparison_page_shows_the_books_capital_efficiency():
    from marginlab.report.capital import capital_efficiency
    from marginlab.scenario.plan import build_plan
    from marginlab.scenario.validate import load_scenario

    scenario, doc = load_scenario(ROOT / "scenarios" / "hedged-book.yaml")
    capital = capital_efficiency(build_plan(scenario, doc))
    timelines = {"cross": golden("hedged-book.cross"), "isolated": golden("hedged-book.isolated")}
    data = page_data(render_page(compare_page(timelines, None, capital)))
    # the hand computation of tests/engine/test_capital.py: k = 273/340 in cross, 11/12 isolated
    assert table(data, "capital") == [["alice", "cross", "40000", "0.802942", "32117.65", "1.2454", "4549.01"],
                                      ["alice", "isolated", "40000", "0.916667", "36666.67", "1.0909", ""]]
    assert [t["id"] for t in data["tables"]] == ["accounts", "capital", "runs"]
    text = render_page(compare_page(timelines, None, capital))
    assert "USDC deposited by position 1 nets against the USDC borrowed by position 0" in text
    # without the figures (a caller that has no plan) the page is as before
    assert [t["id"] for t in page_data(render_page(compare_page(timelines)))["tables"]] == ["accounts", "runs"]
