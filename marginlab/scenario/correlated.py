"""Joint price paths for the ``correlated:`` section (:mod:`marginlab.scenario.stress`): correlated GBM through a
semi-definite Cholesky factor, Poisson jumps with log-normal sizes, a depeg window, and stress endpoints pinned
with a Brownian bridge.

:func:`simulate` draws many paths at once as floats (the statistics tests and ``marginlab calibrate`` use it);
:func:`correlated_prices` takes the first and turns it into exact Decimal prices at each feed's precision, the
same way :mod:`marginlab.scenario.paths` does: every float is rounded to 8 significant digits before it leaves,
and a pinned price is computed from its Decimal target, not from the float walk, so it is hit exactly. The
random stream is numpy's PCG64 seeded from the section's seed (default: the scenario's) and the word
``correlated``; draws come in a fixed order (shocks, then each jump clock's counts and each asset's sizes).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from marginlab.errors import Issue, show_name
from marginlab.scenario.fields import SECONDS_PER_YEAR
from marginlab.scenario.model import Scenario
from marginlab.scenario.paths import MAX_PATH_PRICE, PathError, feed_price
from marginlab.scenario.source import SourceDoc
from marginlab.scenario.stress import CorrelatedPaths, Depeg

#: A pivot below this is a zero column of the semi-definite factor (a perfectly correlated asset).
FACTOR_TOLERANCE = 1e-12
_STREAM = zlib.crc32(b"correlated")


def factor(corr: np.ndarray) -> np.ndarray:
    """Lower-triangular L with L·Lᵀ = corr for a positive semi-definite ``corr``: Cholesky that sets a column to
    zero where the pivot vanishes (numpy's refuses singular matrices, e.g. a correlation of 1). Plain Python
    arithmetic in a fixed order, so the factor does not depend on the BLAS the machine has."""
    n = corr.shape[0]
    low = [[0.0] * n for _ in range(n)]
    for j in range(n):
        pivot = float(corr[j, j]) - math.fsum(low[j][k] ** 2 for k in range(j))
        if pivot <= FACTOR_TOLERANCE:
            continue
        low[j][j] = math.sqrt(pivot)
        for i in range(j + 1, n):
            low[i][j] = (float(corr[i, j]) - math.fsum(low[i][k] * low[j][k] for k in range(j))) / low[j][j]
    return np.array(low)


def section_seed(spec: CorrelatedPaths, scenario_seed: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([spec.seed if spec.seed is not None else scenario_seed, _STREAM])


@dataclass(frozen=True)
class Draws:
    """``log_growth[p, k, a]``: log of asset a's price after step k+1 over its start, path p (diffusion, jumps
    and the pin's bridge; no depeg). ``jump_counts[p, k, c]``: jumps of clock c in step k+1. Assets in the
    order of the section's ``assets:``."""

    log_growth: np.ndarray
    jump_counts: np.ndarray
    diffusion: np.ndarray  # the correlated Gaussian increments alone, (paths, count, assets)


def simulate(spec: CorrelatedPaths, n_paths: int, rng: np.random.Generator,
             pin_logs: dict[str, float] | None = None) -> Draws:
    """``n_paths`` joint paths. ``pin_logs``: each pinned asset's log(target / start); without it the pin is
    ignored (an unconditioned draw)."""
    names = list(spec.assets)
    n, count = len(names), spec.count
    dt = spec.dt / SECONDS_PER_YEAR
    sigma = np.array([float(spec.assets[s].sigma) for s in names])
    drift = np.array([float(spec.assets[s].drift) for s in names])
    shocks = np.einsum("ij,pkj->pki", factor(spec.correlation_array()), rng.standard_normal((n_paths, count, n)))
    diffusion = (drift - 0.5 * sigma * sigma) * dt + sigma * math.sqrt(dt) * shocks
    increments = diffusion.copy()
    counts = np.zeros((n_paths, count, len(spec.jumps)), dtype=np.int64)
    for c, clock in enumerate(spec.jumps):
        counts[:, :, c] = rng.poisson(float(clock.rate) * dt, (n_paths, count))
        k = counts[:, :, c]
        for sym in clock.assets:
            sizes = float(clock.mean) * k + float(clock.stdev) * np.sqrt(k) * rng.standard_normal((n_paths, count))
            increments[:, :, names.index(sym)] += sizes
    log_growth = np.cumsum(increments, axis=1)
    if spec.pin is not None and pin_logs:
        _bridge(spec, log_growth, sigma, pin_logs)
    return Draws(log_growth, counts, diffusion)


def _bridge(spec: CorrelatedPaths, log_growth: np.ndarray, sigma: np.ndarray, pin_logs: dict[str, float]) -> None:
    """Condition the paths on the pinned endpoints: each pinned asset's walk becomes a Brownian bridge to its
    target (its deviation at the pin time, spread linearly over time, is taken out); every other asset moves by
    its conditional mean given the pinned ones (covariance Σ_UP·Σ_PP⁺), so correlation holds along the bridge.
    After the pin time the shifts stay constant: later increments are independent of the endpoint."""
    assert spec.pin is not None
    names = list(spec.assets)
    pinned = [names.index(s) for s in spec.pin.prices]
    others = [i for i in range(len(names)) if i not in pinned]
    m = spec.pin.at // spec.dt  # the pinned step (1-based)
    targets = np.array([pin_logs[names[i]] for i in pinned])
    deviation = targets - log_growth[:, m - 1, pinned]  # (paths, pinned)
    steps = np.arange(1, spec.count + 1)
    weight = np.minimum(steps / m, 1.0)[None, :, None]  # (1, count, 1)
    log_growth[:, :, pinned] += weight * deviation[:, None, :]
    if others:
        cov = np.outer(sigma, sigma) * spec.correlation_array()
        beta = cov[np.ix_(others, pinned)] @ np.linalg.pinv(cov[np.ix_(pinned, pinned)])  # (others, pinned)
        shift = np.einsum("op,np->no", beta, deviation)  # (paths, others)
        log_growth[:, :, others] += weight * shift[:, None, :]


def depeg_factor(depeg: Depeg, t: int) -> Decimal:
    """The depegged asset's price over its peg at ``t`` seconds into the section (exact)."""
    start, end = depeg.start, depeg.start + depeg.length
    off = 1 - depeg.depth
    if t < start:
        return Decimal(1)
    if t >= end:
        return Decimal(1) if depeg.recover else off
    if depeg.ramp and t < start + depeg.ramp:
        return 1 - depeg.depth * Decimal(t - start) / depeg.ramp
    if depeg.ramp and depeg.recover and t > end - depeg.ramp:
        return 1 - depeg.depth * Decimal(end - t) / depeg.ramp
    return off


def correlated_prices(spec: CorrelatedPaths, starts: dict[str, Decimal], *, seed: int,
                      feed_decimals: dict[str, int]) -> dict[str, list[Decimal]]:
    """``spec.count`` prices per asset after ``starts`` (the prices the explicit steps left), one every ``spec.dt``
    seconds: the first path of :func:`simulate`, with depeg windows and the exact pinned prices."""
    rng = np.random.Generator(np.random.PCG64(section_seed(spec, seed)))
    targets = {s: feed_price(move.apply(starts[s]), feed_decimals[s]) for s, move in
               (spec.pin.prices.items() if spec.pin is not None else ())}
    pin_logs = {s: math.log(float(p) / float(starts[s])) for s, p in targets.items()}
    growth = simulate(spec, 1, rng, pin_logs).log_growth[0]
    names = list(spec.assets)
    with np.errstate(over="ignore"):
        factors = np.exp(growth)
    if not np.all(np.isfinite(factors)) or any(float(factors[:, i].max()) * float(starts[s]) > MAX_PATH_PRICE
                                               for i, s in enumerate(names)):
        raise PathError(f"a correlated path leaves the range a feed can state (above {MAX_PATH_PRICE:.0e}): lower "
                        f"sigma, drift, jump sizes or count")
    out: dict[str, list[Decimal]] = {}
    for sym in spec.symbols:
        series = []
        for k in range(spec.count):
            t = (k + 1) * spec.dt
            if sym in targets and spec.pin is not None and t == spec.pin.at:
                series.append(targets[sym])
                continue
            value = starts[sym]
            if sym in spec.assets:
                value *= Decimal(repr(float(factors[k, names.index(sym)])))
            if sym in spec.depeg:
                value *= depeg_factor(spec.depeg[sym], t)
            series.append(feed_price(value, feed_decimals[sym]))
        out[sym] = series
    return out


def plan_correlated(scenario: Scenario, doc: SourceDoc, starts: dict[str, Decimal], feed_decimals: dict[str, int],
                    issues: list[Issue]) -> dict[int, dict[str, Decimal]]:
    """The section's prices by time (seconds after the explicit steps), for the plan to merge with ``paths:``.
    Unknown assets, assets that ``paths:`` also drives, and paths out of range become issues."""
    spec = scenario.correlated
    if spec is None:
        return {}
    found = len(issues)
    mentioned: list[tuple[tuple[str | int, ...], str]] = [(("correlated", "assets", s), s) for s in spec.assets]
    mentioned += [(("correlated", "depeg", s), s) for s in spec.depeg]
    mentioned += [(("correlated", "jumps", i, "assets"), s) for i, c in enumerate(spec.jumps) for s in c.assets]
    for loc, sym in mentioned:
        if sym not in starts:
            issues.append(doc.issue(loc, f"unknown asset {show_name(sym)} (markets: "
                                         f"{', '.join(map(show_name, starts))})"))
        elif sym in scenario.paths and loc[1] != "jumps":
            issues.append(doc.issue(loc, f"{sym} is also driven by paths.{sym}: give each asset one path model"))
    if len(issues) > found:
        return {}
    try:
        series = correlated_prices(spec, starts, seed=scenario.seed, feed_decimals=feed_decimals)
    except PathError as exc:
        issues.append(doc.issue(("correlated",), str(exc)))
        return {}
    by_time: dict[int, dict[str, Decimal]] = {}
    for sym, prices in series.items():
        for k, price in enumerate(prices, start=1):
            by_time.setdefault(k * spec.dt, {})[sym] = price
    return by_time
