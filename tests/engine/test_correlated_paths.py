"""The correlated: section. 10,000 generated paths have the model's correlations, volatilities and jump rates
(tolerances stated per test, a few standard errors wide); a pinned asset hits its endpoint exactly; a matrix that
is not a correlation matrix is a file:line error; the same seed gives the same prices."""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from marginlab.errors import ScenarioError
from marginlab.scenario.correlated import correlated_prices, depeg_factor, factor, simulate
from marginlab.scenario.fields import SECONDS_PER_YEAR
from marginlab.scenario.plan import build_plan
from marginlab.scenario.stress import CorrelatedPaths
from marginlab.scenario.validate import load_scenario, parse_scenario_text

PATHS = 10_000
CORR = [[1, 0.85, -0.3], [0.85, 1, -0.2], [-0.3, -0.2, 1]]
SIGMAS = {"WETH": 0.8, "WBTC": 0.6, "SOL": 1.2}
DT = 3600
COUNT = 48


def _spec(**extra) -> CorrelatedPaths:
    fields = {"dt": DT, "count": COUNT, "assets": {s: {"sigma": str(v)} for s, v in SIGMAS.items()},
              "correlation": [[str(x) for x in row] for row in CORR]}
    fields.update(extra)
    return CorrelatedPaths.model_validate(fields)


def _draw(spec: CorrelatedPaths, pin_logs=None):
    return simulate(spec, PATHS, np.random.Generator(np.random.PCG64(12345)), pin_logs)


def _increments(draws) -> np.ndarray:
    growth = draws.log_growth
    return np.diff(np.concatenate([np.zeros_like(growth[:, :1]), growth], axis=1), axis=1).reshape(-1, growth.shape[2])


def test_sample_correlations_match_the_matrix_within_0_01():
    """480,000 increments per asset: the standard error of a sample correlation is below 0.0015."""
    sample = np.corrcoef(_increments(_draw(_spec())), rowvar=False)
    assert np.abs(sample - np.array(CORR)).max() < 0.01


def test_sample_volatilities_match_sigma_within_1_percent():
    """The standard error of a sample volatility from 480,000 increments is 0.1 %."""
    vols = _increments(_draw(_spec())).std(axis=0) / math.sqrt(DT / SECONDS_PER_YEAR)
    for vol, sigma in zip(vols, SIGMAS.values(), strict=True):
        assert vol == pytest.approx(sigma, rel=0.01)


def test_jump_counts_match_the_rate_within_5_percent_and_returns_carry_their_variance():
    """Rate 50 a year over 10,000 two-day paths: ~2,740 jumps expected (Poisson sd ~52, under 2 %). The jump
    variance λ·dt·(mean² + stdev²) adds to σ²·dt: the sample variance of SOL's returns matches within 3 %."""
    clock = {"assets": ["WETH", "SOL"], "rate": "50", "mean": "-0.1", "stdev": "0.05"}
    draws = _draw(_spec(jumps=[clock]))
    expected = 50 * DT / SECONDS_PER_YEAR * PATHS * COUNT
    assert draws.jump_counts.sum() == pytest.approx(expected, rel=0.05)
    dt = DT / SECONDS_PER_YEAR
    variance = SIGMAS["SOL"] ** 2 * dt + 50 * dt * (0.1 ** 2 + 0.05 ** 2)
    assert _increments(draws)[:, 2].var() == pytest.approx(variance, rel=0.03)
    # WBTC is on no clock: its returns stay Gaussian with its own variance
    assert _increments(draws)[:, 1].var() == pytest.approx(SIGMAS["WBTC"] ** 2 * dt, rel=0.02)


def test_a_bridged_path_hits_its_pinned_endpoint_and_correlated_assets_follow_the_conditional_mean():
    spec = _spec(pin={"at": 86400, "prices": {"WETH": "-45%"}})
    target = math.log(0.55)
    draws = _draw(spec, {"WETH": target})
    m = 86400 // DT
    assert np.allclose(draws.log_growth[:, m - 1, 0], target, atol=1e-12)
    # E[X_WBTC(T) | X_WETH(T) = x] = μ_B T + ρ σ_B / σ_E (x − μ_E T), μ = −σ²/2 without drift
    t = 86400 / SECONDS_PER_YEAR
    mu_e, mu_b = -0.5 * 0.8 ** 2 * t, -0.5 * 0.6 ** 2 * t
    conditional = mu_b + 0.85 * 0.6 / 0.8 * (target - mu_e)
    sd = 0.6 * math.sqrt(t * (1 - 0.85 ** 2)) / math.sqrt(PATHS)  # the conditional sd of the sample mean
    assert draws.log_growth[:, m - 1, 1].mean() == pytest.approx(conditional, abs=4 * sd)


def test_the_plan_hits_the_pinned_price_exactly_and_is_the_same_for_the_same_seed():
    spec = _spec(pin={"at": 86400, "prices": {"WETH": "-45%", "WBTC": 41000}})
    starts = {"WETH": Decimal(2000), "WBTC": Decimal(60000), "SOL": Decimal(150)}
    feeds = dict.fromkeys(starts, 8)
    a = correlated_prices(spec, starts, seed=7, feed_decimals=feeds)
    assert a["WETH"][86400 // DT - 1] == Decimal("1100")
    assert a["WBTC"][86400 // DT - 1] == Decimal("41000")
    assert a == correlated_prices(spec, starts, seed=7, feed_decimals=feeds)
    assert a != correlated_prices(spec, starts, seed=8, feed_decimals=feeds)
    assert all(p == p.quantize(Decimal("1e-8")) for series in a.values() for p in series)


def test_the_semi_definite_factor_accepts_a_correlation_of_one():
    corr = np.array([[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]])
    low = factor(corr)
    assert np.allclose(low @ low.T, corr, atol=1e-12)
    assert low[1, 1] == 0.0


def test_depeg_ramps_in_holds_and_ramps_out():
    spec = _spec(depeg={"USDC": {"start": 3600, "length": 36000, "depth": "0.1", "ramp": 7200}})
    depeg = spec.depeg["USDC"]
    assert [depeg_factor(depeg, t) for t in (0, 3600, 7200, 10800, 20000, 36000, 39600)] == \
        [1, 1, Decimal("0.95"), Decimal("0.9"), Decimal("0.9"), Decimal("0.95"), 1]


SCENARIO = """\
name: corr
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85},
     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: WBTC, decimals: 8, price: 60000, asset_weight: {init: 0.75, maint: 0.8},
     liab_weight: {init: 1.1, maint: 1.05}, liquidation_bonus: 0.07}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95},
     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
correlated:
  dt: 3600
  count: 24
  assets: {WETH: {sigma: 0.8}, WBTC: {sigma: 0.6}, USDC: {sigma: 0.01}}
  correlation:
    - [1, 0.9, -0.9]
    - [0.9, 1, 0.9]
    - [-0.9, 0.9, 1]
"""


def _issues(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        scenario, doc = parse_scenario_text(text, "corr.yaml")
        build_plan(scenario, doc)
    return [str(i) for i in err.value.issues]


def test_a_matrix_that_is_not_positive_semi_definite_is_refused_with_its_line():
    [issue] = _issues(SCENARIO)
    assert issue.startswith("corr.yaml:13: correlated.correlation: not positive semi-definite (smallest eigenvalue ")


def test_an_asymmetric_matrix_and_a_wrong_size_are_refused_with_their_line():
    [issue] = _issues(SCENARIO.replace("[0.9, 1, 0.9]", "[0.8, 1, 0.9]"))
    assert issue == "corr.yaml:13: correlated.correlation: not symmetric: (2, 1) is 0.8 but (1, 2) is 0.9"
    [issue] = _issues(SCENARIO.replace("    - [-0.9, 0.9, 1]\n", "").replace(", USDC: {sigma: 0.01}", ""))
    assert issue.startswith("corr.yaml:13: correlated.correlation: row 1 has 3 entries; the matrix is 2 × 2")


def test_an_unknown_asset_and_an_asset_paths_also_drives_are_refused_with_their_lines():
    text = SCENARIO.replace("USDC: {sigma: 0.01}", "DOGE: {sigma: 0.01}").replace("0.9, -0.9]", "0.5, 0]") \
        .replace("[0.9, 1, 0.9]", "[0.5, 1, 0]").replace("[-0.9, 0.9, 1]", "[0, 0, 1]")
    text += "paths:\n  WETH: {model: gbm, sigma: 0.5, dt: 3600, count: 3}\n"
    assert _issues(text) == [
        "corr.yaml:12: correlated.assets.DOGE: unknown asset DOGE (markets: WETH, WBTC, USDC)",
        "corr.yaml:12: correlated.assets.WETH: WETH is also driven by paths.WETH: give each asset one path model"]


def test_a_scenario_with_the_section_plans_its_steps_after_the_written_ones(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text(SCENARIO.replace("0.9, -0.9]", "0.5, 0]").replace("[0.9, 1, 0.9]", "[0.5, 1, 0]")
                 .replace("[-0.9, 0.9, 1]", "[0, 0, 1]") + "steps:\n  - {prices: {WETH: 1900}}\n")
    scenario, doc = load_scenario(f)
    plan = build_plan(scenario, doc)
    assert len(plan.steps) == 25 and plan.steps[1].source == "paths@3600s"
    assert set(plan.steps[1].prices) == {"WETH", "WBTC", "USDC"}
    again = build_plan(*load_scenario(f))
    assert again.steps == plan.steps
