"""marginlab calibrate: a price history generated from a known model gives back its volatilities, correlation and
jump rate (tolerances stated per assertion), and the printed section is a valid scenario section."""
from __future__ import annotations

import math

import numpy as np
import pytest

from marginlab.calibrate import drawdown_percentiles, fit, render
from marginlab.cli import main
from marginlab.scenario.correlated import simulate
from marginlab.scenario.stress import CorrelatedPaths
from marginlab.scenario.validate import parse_scenario_text

ROWS = 20_000  # hourly: 2.3 years
MODEL = CorrelatedPaths.model_validate({
    "dt": 3600, "count": ROWS, "assets": {"WETH": {"sigma": "0.8"}, "WBTC": {"sigma": "0.5"}},
    "correlation": [["1", "0.7"], ["0.7", "1"]],
    "jumps": [{"assets": ["WETH"], "rate": "30", "mean": "-0.08", "stdev": "0.02"}]})


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    draws = simulate(MODEL, 1, np.random.Generator(np.random.PCG64(3)))
    prices = np.array([2000.0, 60000.0]) * np.exp(draws.log_growth[0])
    f = tmp_path_factory.mktemp("cal") / "prices.csv"
    rows = ["timestamp,WETH,WBTC", "1700000000,2000,60000"]
    rows += [f"{1700000000 + 3600 * (k + 1)},{p[0]:.6f},{p[1]:.4f}" for k, p in enumerate(prices)]
    f.write_text("\n".join(rows) + "\n")
    return f, int(draws.jump_counts.sum())


def test_calibration_recovers_volatility_correlation_and_jump_rate(history):
    f, true_jumps = history
    cal = fit(f)
    assert cal.dt == 3600 and cal.rows == ROWS + 1
    assert cal.sigma["WETH"] == pytest.approx(0.8, rel=0.03)  # se of a volatility from 20,000 returns: 0.5 %
    assert cal.sigma["WBTC"] == pytest.approx(0.5, rel=0.03)
    assert cal.correlation[0][1] == pytest.approx(0.7, abs=0.03)  # se ≈ (1 − ρ²)/√n ≈ 0.004
    [jump] = cal.jumps
    assert jump.symbol == "WETH"
    assert jump.count == pytest.approx(true_jumps, abs=max(3, 0.1 * true_jumps))  # −8 % jumps vs 0.85 % hourly sd
    assert jump.rate == pytest.approx(30, rel=0.35)  # ~68 jumps expected: Poisson sd 12 %
    assert jump.mean == pytest.approx(-0.08, abs=0.01)


def test_the_printed_section_pastes_into_a_valid_scenario(history):
    f, _ = history
    text = render(fit(f))
    scenario = ("name: pasted\nmarkets:\n"
                "  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, "
                "liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}\n"
                "  - {symbol: WBTC, decimals: 8, price: 60000, asset_weight: {init: 0.75, maint: 0.8}, "
                "liab_weight: {init: 1.1, maint: 1.05}, liquidation_bonus: 0.07}\n") + text
    parsed, _ = parse_scenario_text(scenario, "pasted.yaml")
    assert parsed.correlated is not None and parsed.correlated.dt == 3600 and parsed.correlated.count == 24
    assert "# pin: {at: 86400, prices: {WETH:" in text


def test_drawdown_percentiles_are_the_worst_fall_within_the_window():
    prices = np.array([100.0, 90.0, 95.0, 80.0, 120.0, 110.0])
    # from each row, the lowest of the next 2 rows: 90/100, 80/90, 80/95, 110/80 (no fall)
    falls = sorted([-0.1, 80 / 90 - 1, 80 / 95 - 1, 0.0])
    got = drawdown_percentiles(prices, 2)
    assert got[50] == pytest.approx(float(np.percentile(falls, 50)))
    assert got[99] == pytest.approx(float(np.percentile(falls, 1)))


def test_a_bad_price_is_reported_with_its_file_and_line(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("time,WETH\n2024-01-01T00:00:00Z,2000\n2024-01-01T01:00:00Z,-5\n2024-01-01T02:00:00Z,x\n")
    assert main(["calibrate", str(f)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == [f"{f}:3: WETH: a price must be a finite number above 0, got -5",
                       f"{f}:4: WETH: expected a price, got 'x'"]


def test_iso_timestamps_give_the_interval_in_seconds(tmp_path, capsys):
    f = tmp_path / "iso.csv"
    rows = ["date,USDC"] + [f"2024-01-0{d}T00:00:00Z,{1 + 0.001 * math.sin(d)}" for d in range(1, 8)]
    f.write_text("\n".join(rows) + "\n")
    assert main(["calibrate", str(f), "--horizon", "172800"]) == 0
    out = capsys.readouterr().out
    assert "  dt: 86400\n  count: 2\n" in out and "  correlation:" not in out
