"""The scenario's ``correlated:`` section: one model that moves several assets together — correlated GBM, Poisson
jumps, a depeg window, and stress endpoints pinned with a Brownian bridge (generation:
:mod:`marginlab.scenario.correlated`).

Structure, ranges and the correlation matrix (square, symmetric, unit diagonal, positive semi-definite) are
checked here, so a bad matrix is a ``file:line: correlated.correlation: reason`` line before any chain work.
Which assets exist, and that none is also driven by ``paths:``, is checked when the plan is built.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import numpy as np
from pydantic import Field, field_validator, model_validator
from pydantic.functional_validators import BeforeValidator

from marginlab.numbers import plain
from marginlab.scenario.fields import (
    MAX_PATH_POINTS,
    Amount,
    Int,
    NonNegInt,
    Price,
    Signed,
    Strict,
    Symbol,
    _err,
    _number,
)
from marginlab.scenario.sections import MAX_DT, MAX_SIGMA

#: An eigenvalue of the correlation matrix above this (in absolute value) but negative fails the check: rounding
#: in a written matrix (three decimals) leaves eigenvalues of about -1e-16, a wrong matrix about -0.1.
PSD_TOLERANCE = 1e-9
MAX_JUMP_RATE = 10_000  # per year: more than one an hour is a diffusion, not jumps
MAX_LOG_JUMP = 5  # e^5 ≈ 148×: a larger single jump leaves any feed's sensible range


class AssetDiffusion(Strict):
    """One asset's diffusion: volatility and drift per year (as ``paths:``' gbm)."""

    sigma: Annotated[Amount, Field(le=MAX_SIGMA)]
    drift: Annotated[Signed, Field(ge=-MAX_SIGMA, le=MAX_SIGMA)] = Decimal(0)


class JumpClock(Strict):
    """One Poisson clock (``rate`` jumps per year); at each jump every listed asset's log-price moves by its own
    draw from Normal(``mean``, ``stdev``) — Merton's log-normal jump sizes. ``stdev: 0`` makes every jump
    ``mean``."""

    assets: Annotated[list[Symbol], Field(min_length=1)]
    rate: Annotated[Amount, Field(le=MAX_JUMP_RATE)]
    mean: Annotated[Signed, Field(ge=-MAX_LOG_JUMP, le=MAX_LOG_JUMP)]
    stdev: Annotated[Amount, Field(le=MAX_LOG_JUMP)] = Decimal(0)


def _depth(value: Any) -> Decimal:
    dec = _number(value, "a depth between 0 and 1")
    if not 0 < dec < 1:
        raise _err("depeg", f"depth is the share of the peg lost, strictly between 0 and 1; got {plain(dec)}")
    return dec


class Depeg(Strict):
    """The asset leaves its peg (its price when the section starts) by ``depth`` from ``start`` seconds for
    ``length`` seconds, ramping linearly in and out over ``ramp`` seconds; ``recover: false`` stays off peg."""

    start: NonNegInt
    length: Annotated[Int, Field(gt=0, le=MAX_DT)]
    depth: Annotated[Decimal, BeforeValidator(_depth)]
    ramp: NonNegInt = 0
    recover: bool = True

    @model_validator(mode="after")
    def _ramp_fits(self) -> Depeg:
        if 2 * self.ramp > self.length:
            raise _err("depeg", f"ramp ({self.ramp} s) in and out must fit in length ({self.length} s)")
        return self


class Pin(Strict):
    """Stress endpoints: each listed asset reaches exactly this price (absolute, or "-45%" from the section's
    start) ``at`` seconds in, along a Brownian bridge; correlated assets follow their conditional mean."""

    at: Annotated[Int, Field(gt=0)]
    prices: Annotated[dict[Symbol, Price], Field(min_length=1)]


def _matrix(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise _err("correlation", "expected a list of rows, one per asset in the order of assets:, "
                                  "like [[1, 0.8], [0.8, 1]]")
    return [[_number(x, "a correlation between -1 and 1") for x in row] for row in value]


class CorrelatedPaths(Strict):
    """Prices of several assets from one joint model, appended after the steps on the same clock as ``paths:``."""

    dt: Annotated[Int, Field(gt=0, le=MAX_DT)]
    count: Annotated[Int, Field(ge=1, le=MAX_PATH_POINTS)]
    seed: NonNegInt | None = None
    assets: Annotated[dict[Symbol, AssetDiffusion], Field(min_length=1)]
    #: rows and columns in the order of ``assets``; omitted: independent assets (the identity)
    correlation: Annotated[list[list[Decimal]], BeforeValidator(_matrix)] | None = None
    jumps: list[JumpClock] = []
    depeg: dict[Symbol, Depeg] = {}
    pin: Pin | None = None

    @field_validator("correlation")
    @classmethod
    def _valid_correlation(cls, rows: list[list[Decimal]] | None) -> list[list[Decimal]] | None:
        if rows is not None:
            check_correlation(rows)
        return rows

    @model_validator(mode="after")
    def _consistent(self) -> CorrelatedPaths:
        names = list(self.assets)
        if self.correlation is not None and len(self.correlation) != len(names):
            raise _err("correlation", f"the correlation matrix has {len(self.correlation)} rows; assets: lists "
                                      f"{len(names)} ({', '.join(names)}), one row and column each, in that order")
        for clock in self.jumps:
            stray = [s for s in clock.assets if s not in self.assets]
            if stray:
                raise _err("jumps", f"jumps move assets listed under assets: only; not {', '.join(stray)}")
        if self.pin is not None:
            stray = [s for s in self.pin.prices if s not in self.assets]
            if stray:
                raise _err("pin", f"a pinned asset needs its diffusion under assets: ({', '.join(stray)} is not)")
            if self.pin.at % self.dt != 0 or self.pin.at > self.dt * self.count:
                raise _err("pin", f"at ({self.pin.at} s) must be a multiple of dt ({self.dt} s) within the "
                                  f"section's {self.dt * self.count} s")
            both = [s for s in self.pin.prices if s in self.depeg]
            if both:
                raise _err("pin", f"{', '.join(both)} is both pinned and depegged: give it one of the two")
        return self

    @property
    def symbols(self) -> list[str]:
        """Every asset the section moves: the diffusions in order, then depegged assets that have none."""
        return list(self.assets) + [s for s in self.depeg if s not in self.assets]

    def correlation_array(self) -> np.ndarray:
        n = len(self.assets)
        if self.correlation is None:
            return np.eye(n)
        return np.array([[float(x) for x in row] for row in self.correlation])


def check_correlation(rows: list[list[Decimal]]) -> None:
    """Square, symmetric, ones on the diagonal, entries in [-1, 1], positive semi-definite (else it is no
    correlation matrix: no Cholesky factor exists and the model could not draw from it)."""
    n = len(rows)
    if n == 0:
        raise _err("correlation", "the correlation matrix is empty")
    for i, row in enumerate(rows):
        if len(row) != n:
            raise _err("correlation", f"row {i + 1} has {len(row)} entries; the matrix is {n} × {n}")
        for j, x in enumerate(row):
            if not -1 <= x <= 1:
                raise _err("correlation", f"entry ({i + 1}, {j + 1}) is {plain(x)}; correlations lie in [-1, 1]")
        if row[i] != 1:
            raise _err("correlation", f"diagonal entry ({i + 1}, {i + 1}) is {plain(row[i])}; it must be 1")
    for i in range(n):
        for j in range(i):
            if rows[i][j] != rows[j][i]:
                raise _err("correlation", f"not symmetric: ({i + 1}, {j + 1}) is {plain(rows[i][j])} but "
                                          f"({j + 1}, {i + 1}) is {plain(rows[j][i])}")
    smallest = float(np.linalg.eigvalsh(np.array([[float(x) for x in row] for row in rows])).min())
    if smallest < -PSD_TOLERANCE:
        raise _err("correlation", f"not positive semi-definite (smallest eigenvalue {smallest:.4g}): these "
                                  f"pairwise correlations cannot hold together; lower the ones that contradict "
                                  f"each other")
