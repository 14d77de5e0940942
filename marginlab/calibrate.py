"""``marginlab calibrate FILE.csv``: fit the ``correlated:`` section to a price history and print it to paste.

The CSV has a timestamp column (``timestamp``, ``time`` or ``date``, else the first column; Unix seconds or ISO
8601) and one price column per asset, one row per observation at a regular interval. From log returns it fits:

- **jumps**: a return further than ``threshold`` robust standard deviations (1.4826 × the median absolute
  deviation) from the median is a jump; per asset, the rate (jumps per year), and the mean and standard deviation
  of the jump returns — one Poisson clock per asset that jumped;
- **volatility** (per year) from the other returns, and **correlations** from the rows where no asset jumped
  (rounded to three decimals, then shrunk toward the identity if rounding broke positive semi-definiteness);
- **drawdown percentiles** over ``horizon`` seconds: from every row, the worst fall to any price within the next
  ``horizon``; the 50th, 95th and 99th percentiles go in comments, the 99th as a suggested ``pin:``.

Drift is written as 0 (the sample drift of a year or two is noise for a stress model) with the sample value in a
comment.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from marginlab.errors import Issue, ScenarioError, quote
from marginlab.scenario.fields import SECONDS_PER_YEAR

TIMESTAMP_COLUMNS = ("timestamp", "time", "date", "datetime")
DEFAULT_THRESHOLD = 4.0
DEFAULT_HORIZON = 86400
MAD_TO_SD = 1.4826
PERCENTILES = (50, 95, 99)
#: Rounded correlations are shrunk toward the identity by this factor until the matrix is PSD again.
SHRINK = 0.995


@dataclass(frozen=True)
class JumpFit:
    symbol: str
    count: int
    rate: float  # per year
    mean: float
    stdev: float


@dataclass(frozen=True)
class Calibration:
    file: str
    rows: int
    dt: int
    symbols: list[str]
    sigma: dict[str, float]
    sample_drift: dict[str, float]
    correlation: list[list[float]]
    jumps: list[JumpFit]
    horizon: int
    drawdowns: dict[str, dict[int, float]]  # symbol → percentile → fall (a fraction, ≤ 0)
    irregular: int  # rows whose interval differs from dt by more than 10 %


def _seconds(text: str, file: str, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ScenarioError([Issue(file, line, column, f"expected Unix seconds or an ISO 8601 time, got "
                                                       f"{quote(text)}")]) from None


def read_prices(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Timestamps (seconds) and each asset's prices; every problem as a ``file:line: column: reason`` issue."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Issue(file, 1, "(file)", f"cannot read: {exc}")]) from None
    reader = csv.DictReader(text.splitlines())
    names = list(reader.fieldnames or [])
    stamp = next((c for c in names if c.strip().lower() in TIMESTAMP_COLUMNS), names[0] if names else None)
    assets = [c for c in names if c != stamp]
    if stamp is None or not assets:
        raise ScenarioError([Issue(file, 1, "(header)", "expected a timestamp column and one price column per "
                                                        "asset, like: timestamp,WETH,WBTC")])
    times: list[float] = []
    prices: dict[str, list[float]] = {a: [] for a in assets}
    issues: list[Issue] = []
    for row in reader:
        line = reader.line_num
        times.append(_seconds(row[stamp] or "", file, line, stamp))
        for a in assets:
            try:
                value = float(row[a] or "")
            except ValueError:
                issues.append(Issue(file, line, a, f"expected a price, got {quote(row[a])}"))
                continue
            if not value > 0 or not math.isfinite(value):
                issues.append(Issue(file, line, a, f"a price must be a finite number above 0, got {row[a]}"))
            prices[a].append(value)
    if issues:
        raise ScenarioError(issues)
    if len(times) < 3:
        raise ScenarioError([Issue(file, 1, "(file)", f"needs at least 3 rows to fit returns, has {len(times)}")])
    t = np.array(times)
    if np.any(np.diff(t) <= 0):
        bad = int(np.argmax(np.diff(t) <= 0)) + 3  # header + 1-based + the later row of the pair
        raise ScenarioError([Issue(file, bad, stamp, "timestamps must increase from row to row")])
    return t, {a: np.array(v) for a, v in prices.items()}


def _psd(corr: np.ndarray) -> np.ndarray:
    out = np.round(corr, 3)
    while float(np.linalg.eigvalsh(out).min()) < 0:
        out = np.round(np.eye(len(out)) + SHRINK * (out - np.eye(len(out))), 3)
    return out


def fit(path: Path, threshold: float = DEFAULT_THRESHOLD, horizon: int = DEFAULT_HORIZON) -> Calibration:
    times, prices = read_prices(path)
    steps = np.diff(times)
    dt = int(round(float(np.median(steps))))
    irregular = int(np.sum(np.abs(steps - dt) > 0.1 * dt))
    dt_years = dt / SECONDS_PER_YEAR
    symbols = list(prices)
    returns = np.column_stack([np.diff(np.log(prices[s])) for s in symbols])
    years = len(returns) * dt_years
    jumped = np.zeros_like(returns, dtype=bool)
    sigma, drift, jumps = {}, {}, []
    for i, sym in enumerate(symbols):
        r = returns[:, i]
        med = float(np.median(r))
        robust = MAD_TO_SD * float(np.median(np.abs(r - med)))
        jumped[:, i] = np.abs(r - med) > threshold * robust if robust > 0 else np.zeros(len(r), dtype=bool)
        calm = r[~jumped[:, i]]
        sd = float(calm.std(ddof=1)) if len(calm) > 1 else 0.0
        sigma[sym] = sd / math.sqrt(dt_years)
        drift[sym] = float(calm.mean()) / dt_years + 0.5 * sigma[sym] ** 2
        big = r[jumped[:, i]]
        if len(big):
            jumps.append(JumpFit(sym, len(big), len(big) / years, float(big.mean()), float(big.std())))
    calm_rows = returns[~jumped.any(axis=1)]
    corr = np.nan_to_num(np.atleast_2d(np.corrcoef(calm_rows, rowvar=False)), nan=0.0)  # a flat asset: 0
    np.fill_diagonal(corr, 1.0)
    corr = _psd(corr)
    return Calibration(str(path), len(times), dt, symbols, sigma, drift, corr.tolist(), jumps, horizon,
                       {s: drawdown_percentiles(prices[s], max(1, round(horizon / dt))) for s in symbols}, irregular)


def drawdown_percentiles(prices: np.ndarray, window: int) -> dict[int, float]:
    """From every row, the worst fall to a price within the next ``window`` rows (≤ 0); its percentiles of loss."""
    if len(prices) <= window:
        window = len(prices) - 1
    ahead = np.lib.stride_tricks.sliding_window_view(prices[1:], window)  # rows i+1 … i+window
    falls = np.minimum(ahead.min(axis=1) / prices[:len(ahead)] - 1, 0.0)
    return {p: float(np.percentile(falls, 100 - p)) for p in PERCENTILES}


def _num(x: float, digits: int = 4) -> str:
    """A YAML number with ``digits`` significant digits, never in exponent form."""
    if x == 0:
        return "0"
    text = np.format_float_positional(x, precision=digits, unique=False, fractional=False, trim="-")
    return text.rstrip(".")


def render(cal: Calibration) -> str:
    """The ``correlated:`` section, with the fit's evidence in comments."""
    hours = cal.horizon / 3600
    lines = [f"# marginlab calibrate {cal.file}: {cal.rows} rows, dt {cal.dt} s"
             + (f" ({cal.irregular} intervals differ from dt by more than 10 %)" if cal.irregular else ""),
             "# jumps: returns beyond the threshold in robust standard deviations; volatility and correlation "
             "from the rest",
             "correlated:", f"  dt: {cal.dt}", f"  count: {max(1, round(cal.horizon / cal.dt))}", "  assets:"]
    for s in cal.symbols:
        lines.append(f"    {s}: {{sigma: {_num(cal.sigma[s])}, drift: 0}}   # sample drift "
                     f"{_num(cal.sample_drift[s], 3)} a year")
    if len(cal.symbols) > 1:
        lines.append(f"  correlation:   # {', '.join(cal.symbols)}")
        lines += ["    - [" + ", ".join(_num(x, 3) if i != j else "1" for j, x in enumerate(row)) + "]"
                  for i, row in enumerate(cal.correlation)]
    if cal.jumps:
        lines.append("  jumps:")
        lines += [f"    - {{assets: [{j.symbol}], rate: {_num(j.rate)}, mean: {_num(j.mean)}, stdev: "
                  f"{_num(j.stdev)}}}   # {j.count} jump(s)" for j in cal.jumps]
    lines.append(f"  # {hours:g} h drawdown percentiles (from every row, the worst fall within the next {hours:g} h):")
    for s in cal.symbols:
        d = cal.drawdowns[s]
        lines.append("  #   " + s + ": " + ", ".join(f"p{p} {100 * d[p]:.1f} %" for p in PERCENTILES))
    worst = min(cal.symbols, key=lambda s: cal.drawdowns[s][99])
    lines.append(f"  # pin: {{at: {cal.horizon}, prices: {{{worst}: \"{100 * cal.drawdowns[worst][99]:.1f}%\"}}}}"
                 f"   # the 99th percentile fall as a stress endpoint")
    return "\n".join(lines) + "\n"


def main_calibrate(file: Path, threshold: float, horizon: int) -> int:
    print(render(fit(file, threshold, horizon)), end="")
    return 0
