"""Tail statistics of a sample of replays, with seeded percentile-bootstrap confidence intervals.

- ``quantile(values, q)``: the empirical q-quantile, the smallest value at least a share q of the sample is not
  above (``sorted[ceil(q·n) − 1]``, numpy's ``inverted_cdf``): a value some replay actually produced.
- ``shortfall(values, q)``: expected shortfall, the mean of the worst ``ceil((1 − q)·n)`` values (at least one):
  ES99 of 200 paths is the mean of the worst 2.
- ``bootstrap``: resample the replays with replacement ``BOOTSTRAP_SAMPLES`` times and take the 2.5th and 97.5th
  percentiles of the statistic (a 95 % interval); the generator is seeded, so the interval is reproducible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 2000
CONFIDENCE = 0.95


def quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q, method="inverted_cdf"))


def shortfall(values: np.ndarray, q: float) -> float:
    worst = max(1, math.ceil((1 - q) * len(values) - 1e-9))
    return float(np.sort(values)[-worst:].mean())


def _rows_quantile(samples: np.ndarray, q: float) -> np.ndarray:
    return np.quantile(samples, q, axis=1, method="inverted_cdf")


def _rows_shortfall(samples: np.ndarray, q: float) -> np.ndarray:
    worst = max(1, math.ceil((1 - q) * samples.shape[1] - 1e-9))
    return np.sort(samples, axis=1)[:, -worst:].mean(axis=1)


@dataclass(frozen=True)
class Estimate:
    """A statistic of the sample and its bootstrap interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "ci_low": self.low, "ci_high": self.high}


def bootstrap(values: np.ndarray, kind: str, q: float, rng: np.random.Generator,
              samples: int = BOOTSTRAP_SAMPLES) -> Estimate:
    """``kind`` "quantile" or "shortfall" at level ``q``, with its 95 % percentile-bootstrap interval."""
    values = np.asarray(values, dtype=float)
    point = quantile(values, q) if kind == "quantile" else shortfall(values, q)
    draws = values[rng.integers(0, len(values), size=(samples, len(values)))]
    stats = _rows_quantile(draws, q) if kind == "quantile" else _rows_shortfall(draws, q)
    tail = (1 - CONFIDENCE) / 2
    return Estimate(point, float(np.quantile(stats, tail)), float(np.quantile(stats, 1 - tail)))
