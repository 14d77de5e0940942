"""marginlab recommend without a chain: the budget and range syntax, a maintenance weight moving its initial weight,
and the search (grid, then bisection toward the budget's boundary) over a stand-in for the sweep's executor whose
bad debt grows with the weight."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import marginlab.sweep
from marginlab.errors import UsageError
from marginlab.numbers import WAD
from marginlab.recommend import Budget, coupled, main_recommend, parse_budget, parse_vary, search

ROOT = Path(__file__).resolve().parents[2]
HEDGED = ROOT / "scenarios" / "hedged-book.yaml"
PATH = "markets.0.asset_weight.maint"


def test_budgets_and_ranges_parse_and_bad_ones_say_how_to_write_them():
    assert parse_budget("var95 <= 10000") == Budget("var95", "<=", 10000.0)
    assert parse_budget(" lar95<2.5e5 ") == Budget("lar95", "<", 250000.0)
    with pytest.raises(UsageError, match="METRIC one of var95, es99, lar95, bpu95"):
        parse_budget("var99 <= 1")
    assert parse_vary("markets.0.asset_weight.maint=0.7..0.9") == (PATH, Decimal("0.7"), Decimal("0.9"))
    with pytest.raises(UsageError, match="LOW must be below HIGH"):
        parse_vary(f"{PATH}=0.9..0.7")


def test_a_maintenance_weight_moves_its_initial_weight_keeping_the_gap():
    data = yaml.safe_load(HEDGED.read_text())
    assert coupled(data, PATH, Decimal("0.9")) == {PATH: 0.9, "markets.0.asset_weight.init": 0.85}
    assert coupled(data, "markets.1.liab_weight.maint", Decimal("1.2")) == \
        {"markets.1.liab_weight.maint": 1.2, "markets.1.liab_weight.init": 1.25}
    assert coupled(data, "markets.0.liquidation_bonus", Decimal("0.07")) == {"markets.0.liquidation_bonus": 0.07}


@pytest.fixture
def fake_sweep(monkeypatch):
    """Bad debt of 1,000,000 USD × (maint − 0.80) on every path (plus a seed's few dollars), nothing below 0.80."""
    calls = []

    def execute(tasks, workers=1, engine="local", scheduler=None):
        calls.append(len(tasks))
        out = []
        for text, seed, params, *_ in tasks:
            loss = max(0.0, params[PATH] - 0.80) * 1e6 + (seed % 3 if params[PATH] > 0.80 else 0)
            out.append({"seed": seed, "params": params, "liquidations": 0, "bad_debt": int(loss * WAD),
                        "worst_health_factor": None, "liquidated": int(2 * loss * WAD), "borrowing_power_used": None})
        return out

    monkeypatch.setattr(marginlab.sweep, "execute", execute)
    return calls


def test_the_search_bisects_toward_the_budgets_boundary(fake_sweep):
    s = search(HEDGED, f"{PATH}=0.70..0.90", ["var95 <= 20000"], points=5, refine=3, seeds=4)
    assert [float(x.value) for x in s.settings] == [0.7, 0.75, 0.8, 0.85, 0.9, 0.825, 0.8125, 0.81875]
    assert fake_sweep == [20, 4, 4, 4]  # one batch for the grid, one per bisection round, 4 seeds each
    best = s.best()
    assert best is not None and best.value == Decimal("0.81875")
    assert best.params == {PATH: 0.81875, "markets.0.asset_weight.init": 0.76875}
    efficiencies = [x.efficiency for x in sorted(s.settings, key=lambda x: x.value)]
    assert efficiencies == sorted(efficiencies)  # a higher asset weight lends more against the same book


def test_a_setting_the_validator_refuses_is_a_row_that_says_why(fake_sweep, tmp_path):
    code = main_recommend(HEDGED, f"{PATH}=0.90..0.96", ["var95 <= 200000"], tmp_path, points=2, refine=0, seeds=2)
    assert code == 0
    data = json.loads((tmp_path / "recommend.json").read_text())
    refused = [p for p in data["settings"] if p["refused"]]
    assert [p["value"] for p in refused] == [0.96]
    assert "asset_weight.maint × (1 + liquidation_bonus) = 1.008 must not exceed 1" in refused[0]["refused"]
    assert data["recommended"]["value"] == 0.9
    text = (tmp_path / "recommend.md").read_text()
    assert "**Recommended: markets.0.asset_weight.maint = 0.9, markets.0.asset_weight.init = 0.85**" in text
    assert (tmp_path / "frontier.png").stat().st_size > 5000


def test_no_setting_within_budget_exits_1(fake_sweep, tmp_path, capsys):
    assert main_recommend(HEDGED, f"{PATH}=0.85..0.90", ["es99 < 1"], tmp_path, points=2, refine=2, seeds=2) == 1
    assert "no setting of markets.0.asset_weight.maint in the range is within es99 < 1" in capsys.readouterr().out
    assert "**No setting tried is within the budget.**" in (tmp_path / "recommend.md").read_text()


def test_conservative_budgets_hold_for_the_intervals_upper_end(monkeypatch):
    """Above 0.80 every path loses 10,000 except one that loses 30,000: VaR95 of 40 paths is 10,000, within a
    20,000 budget, but resamples holding that path three times or more (~8 % of them) put the interval's upper
    end at 30,000, beyond it: --conservative keeps 0.80."""
    def execute(tasks, workers=1, engine="local", scheduler=None):
        return [{"seed": seed, "params": params, "liquidations": 0, "worst_health_factor": None,
                 "bad_debt": (0 if params[PATH] <= 0.8 else 30_000 if seed == 7 else 10_000) * WAD,
                 "liquidated": 0, "borrowing_power_used": None} for _, seed, params, *_ in tasks]

    monkeypatch.setattr(marginlab.sweep, "execute", execute)
    plain = search(HEDGED, f"{PATH}=0.80..0.85", ["var95 <= 20000"], points=2, refine=0, seeds=40)
    strict = search(HEDGED, f"{PATH}=0.80..0.85", ["var95 <= 20000"], points=2, refine=0, seeds=40,
                    conservative=True)
    assert plain.best().value == Decimal("0.85") and plain.best().risk.var95.high == 30_000
    assert strict.best().value == Decimal("0.8")
