"""Generated and recorded price paths, turned into exact Decimal prices.

GBM uses numpy's PCG64 seeded from the scenario seed and the asset's symbol, so adding a path for one asset
never changes another asset's path. Floats exist only inside the random walk: every price is rounded to
:data:`SIGNIFICANT_DIGITS` significant digits and then to the feed's decimals before it leaves this module,
which makes the output independent of the last bits of the platform's ``exp``.
"""
from __future__ import annotations

import csv
import zlib
from decimal import Decimal
from pathlib import Path

import numpy as np

from marginlab.errors import quote
from marginlab.numbers import NumberError, from_units, plain, quantize_places, round_significant, to_decimal
from marginlab.scenario.fields import SECONDS_PER_YEAR
from marginlab.scenario.model import CsvPath, GbmPath

SIGNIFICANT_DIGITS = 8
MAX_PATH_PRICE = 1e30  # USD per token; far beyond any real price, far below a feed's int256 limit


class PathError(ValueError):
    """A path cannot be produced (bad CSV); the message names the CSV row."""


def path_seed(scenario_seed: int, symbol: str, spec_seed: int | None) -> np.random.SeedSequence:
    if spec_seed is not None:
        return np.random.SeedSequence([spec_seed, zlib.crc32(symbol.encode())])
    return np.random.SeedSequence([scenario_seed, zlib.crc32(symbol.encode())])


def feed_price(value: Decimal, feed_decimals: int) -> Decimal:
    """Round a model price to what the feed can state: half-even at the feed's decimals, never below 1 unit."""
    rounded = quantize_places(round_significant(value, SIGNIFICANT_DIGITS), feed_decimals)
    smallest = from_units(1, feed_decimals)
    return rounded if rounded >= smallest else smallest


def gbm_prices(start: Decimal, spec: GbmPath, *, seed: int, symbol: str, feed_decimals: int) -> list[Decimal]:
    """``spec.count`` prices after ``start``, one every ``spec.dt`` seconds (sigma and drift per year)."""
    rng = np.random.Generator(np.random.PCG64(path_seed(seed, symbol, spec.seed)))
    dt_years = spec.dt / SECONDS_PER_YEAR
    sigma = float(spec.sigma)
    drift = float(spec.drift)
    shocks = rng.standard_normal(spec.count)
    log_steps = (drift - 0.5 * sigma * sigma) * dt_years + sigma * np.sqrt(dt_years) * shocks
    cumulative = np.cumsum(log_steps)
    with np.errstate(over="ignore"):
        growth = np.exp(cumulative)
    if not np.all(np.isfinite(growth)) or float(growth.max()) * float(start) > MAX_PATH_PRICE:
        raise PathError(f"the GBM path leaves the range a feed can state (above {MAX_PATH_PRICE:.0e}): "
                        f"lower sigma, drift or count")
    return [feed_price(start * Decimal(repr(float(g))), feed_decimals) for g in growth]


def csv_prices(path: Path, spec: CsvPath, *, feed_decimals: int) -> list[Decimal]:
    """Prices from column ``spec.column`` of a CSV file with a header row."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PathError(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or spec.column not in reader.fieldnames:
        raise PathError(f"{path}: no column {quote(spec.column)} (columns: {', '.join(reader.fieldnames or [])})")
    prices: list[Decimal] = []
    for row in reader:
        line = reader.line_num
        try:
            value = to_decimal(row[spec.column], what="a price")
        except NumberError as exc:
            raise PathError(f"{path}:{line}: {exc}") from None
        if value <= 0:
            raise PathError(f"{path}:{line}: price must be greater than 0, got {plain(value)}")
        if value > Decimal(repr(MAX_PATH_PRICE)):
            raise PathError(f"{path}:{line}: price {plain(value)} is above {MAX_PATH_PRICE:.0e}")
        prices.append(feed_price(value, feed_decimals))
        if spec.limit is not None and len(prices) >= spec.limit:
            break
    if not prices:
        raise PathError(f"{path}: column {quote(spec.column)} has no rows")
    return prices
