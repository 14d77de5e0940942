"""Risk figures over sweeps: the tail statistics' definitions, the seeded bootstrap, the figures read from a
replay and from a book (collateral at risk, capital efficiency), and the sweep report's tables, data and charts."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from marginlab.numbers import WAD
from marginlab.risk.book import DROPS, capital_efficiency, collateral_at_risk, path_figures
from marginlab.risk.stats import bootstrap, quantile, shortfall
from marginlab.risk.tables import risk_row
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import load_scenario
from marginlab.sweep import write_report
from marginlab.timeline import timeline_from_json

ROOT = Path(__file__).resolve().parents[2]


def test_var_is_a_sampled_value_and_es_the_mean_of_the_worst_one_percent():
    values = np.arange(1, 201, dtype=float)  # 200 paths losing 1 … 200
    assert quantile(values, 0.95) == 190  # 95 % of the paths lose at most 190
    assert shortfall(values, 0.99) == 199.5  # the worst 2 of 200
    assert shortfall(values[:100], 0.99) == 100  # the worst 1 of 100
    assert shortfall(values[:10], 0.99) == 10  # never fewer than one path


def test_the_bootstrap_is_seeded_and_brackets_the_estimate():
    values = np.random.Generator(np.random.PCG64(1)).lognormal(8, 1.5, 300)
    a = bootstrap(values, "quantile", 0.95, np.random.Generator(np.random.PCG64(9)))
    b = bootstrap(values, "quantile", 0.95, np.random.Generator(np.random.PCG64(9)))
    assert a == b and a.low <= a.value <= a.high and a.low < a.high
    flat = bootstrap(np.full(50, 7.0), "shortfall", 0.99, np.random.Generator(np.random.PCG64(9)))
    assert (flat.value, flat.low, flat.high) == (7.0, 7.0, 7.0)


def _drain_plan():
    return build_plan(*load_scenario(ROOT / "scenarios" / "drain.yaml"), "cross")


def test_collateral_at_risk_is_the_collateral_of_accounts_a_fall_makes_liquidatable():
    """bob (cross) holds 1 WBTC against 25,000 USDC and 3,000 MEME owed: 48,000 × (1 − x) < 25,000 + 3,600 once
    WBTC falls more than 40.4 %; then his 60,000 × (1 − x) of WBTC is at risk. A MEME fall only helps."""
    curves = collateral_at_risk(_drain_plan())
    wbtc = dict(zip(DROPS, curves["WBTC"], strict=True))
    assert wbtc[40] == 0 and wbtc[42] == pytest.approx(60000 * 0.58)
    assert set(curves["MEME"]) == {0.0}


def test_capital_efficiency_is_borrowing_power_per_dollar_of_collateral():
    """hedged-book, cross: 10 WETH (20,000) and a net 8,000 USDC deposit back 0.25 WBTC (15,000) owed:
    (20,000 × 0.80 + 8,000 × 0.90 − 15,000 × 0.10) / 28,000 = 0.775."""
    plan = build_plan(*load_scenario(ROOT / "scenarios" / "hedged-book.yaml"), "cross")
    assert capital_efficiency(plan) == pytest.approx(21700 / 28000)


def test_path_figures_are_the_seized_value_and_the_peak_borrowing_power_used():
    timeline = timeline_from_json((ROOT / "tests" / "golden" / "drain.cross.json").read_text())
    figures = path_figures(timeline)
    assert figures["liquidated"] == sum(x.seized_value for x in timeline.liquidations)
    # the peak is MEME ×4: (25,000 + 4 × 3,000 × 1.3) / (60,000 × 0.75) = 40,600 / 45,000
    assert Decimal(figures["borrowing_power_used"]) / WAD == pytest.approx(Decimal(40600) / Decimal(45000))


def _results(n: int = 40) -> list[dict]:
    rng = np.random.Generator(np.random.PCG64(2))
    return [{"seed": 11 + i, "params": {}, "liquidations": int(rng.integers(0, 3)),
             "bad_debt": int(max(0.0, rng.normal(0, 500)) * WAD), "worst_health_factor": int(0.9 * WAD),
             "liquidated": int(rng.uniform(0, 5e4) * WAD), "borrowing_power_used": int(rng.uniform(0.5, 1.2) * WAD)}
            for i in range(n)]


def test_risk_row_gives_the_four_figures_with_intervals_and_is_reproducible():
    rows = _results()
    a, b = risk_row(rows, 11), risk_row(rows, 11)
    assert a == b
    bad = sorted(int(r["bad_debt"]) / WAD for r in rows)
    assert a.var95.value == pytest.approx(bad[37])  # ceil(0.95 × 40) − 1
    assert a.es99.value == pytest.approx(bad[-1])
    assert a.bad_debt_paths == sum(1 for x in bad if x > 0)
    assert a.bpu95 is not None and 0.5 <= a.bpu95.low <= a.bpu95.value <= a.bpu95.high <= 1.2


def test_the_sweep_report_has_risk_tables_data_and_charts(tmp_path):
    results = _results()
    for r in results:
        r["seed"] -= 11
    write_report(results, tmp_path, "drain", 1.0, "local", 1, ROOT / "scenarios" / "drain.yaml")
    text = (tmp_path / "sweep.md").read_text()
    assert "| VaR95 of bad debt (USD) |" in text and "| ES99 of bad debt (USD) |" in text
    assert "| liquidations-at-risk LaR95 (USD) |" in text and "| borrowing power used, p95 |" in text
    assert "| WBTC | 0.00 | 0.00 | 0.00 | 0.00 | 30,000.00 | 24,000.00 |" in text  # at −50 %: 60,000 × 0.5
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert len(data["runs"]) == 40 and set(data["risk"][0]) >= {"var95", "es99", "lar95", "bpu95"}
    assert data["collateral_at_risk"]["drops_percent"] == list(DROPS)
    assert {p.name for p in tmp_path.glob("*.png")} >= {"risk-0.png", "car-0.png", "hist-0-bad_debt.png"}
