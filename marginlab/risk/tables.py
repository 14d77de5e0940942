"""The sweep's risk tables: per parameter set, VaR95 and ES99 of bad debt, liquidations-at-risk, borrowing power
used (each with a seeded bootstrap interval), and the book's collateral-at-risk curve; as Markdown lines for
``sweep.md``, plain data for ``sweep.json``, and PNGs beside them (:mod:`marginlab.risk.charts`)."""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from marginlab.numbers import WAD
from marginlab.risk.stats import Estimate, bootstrap

_STREAM = zlib.crc32(b"bootstrap")
VAR_LEVEL, ES_LEVEL, LAR_LEVEL, BPU_LEVEL = 0.95, 0.99, 0.95, 0.95
#: The figures a risk budget may name (marginlab recommend --budget), in table order.
METRICS = ("var95", "es99", "lar95", "bpu95")


@dataclass(frozen=True)
class RiskRow:
    params: dict[str, Any]
    paths: int
    var95: Estimate  # USD of bad debt
    es99: Estimate
    lar95: Estimate  # USD seized by liquidators
    bpu95: Estimate | None  # peak borrowing power used (1 = at the initial-margin limit); None: nobody borrowed
    bad_debt_paths: int

    def figure(self, metric: str) -> float | None:
        est = getattr(self, metric)
        return None if est is None else est.value

    def upper(self, metric: str) -> float | None:
        """The upper end of the figure's bootstrap interval."""
        est = getattr(self, metric)
        return None if est is None else est.high

    def as_dict(self) -> dict[str, Any]:
        return {"params": self.params, "paths": self.paths, "bad_debt_paths": self.bad_debt_paths,
                **{m: (getattr(self, m).as_dict() if getattr(self, m) is not None else None) for m in METRICS}}


def group_runs(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(json.dumps(r["params"], sort_keys=True), []).append(r)
    return groups


def usd(values: list[Any]) -> np.ndarray:
    return np.array([int(v) / WAD for v in values], dtype=float)


def risk_row(rows: list[dict[str, Any]], seed: int) -> RiskRow:
    """The risk figures of one parameter set's replays; the bootstrap is seeded by ``seed``."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM])))
    bad = usd([r["bad_debt"] for r in rows])
    liquidated = usd([r.get("liquidated", 0) for r in rows])
    bpu_values = [r.get("borrowing_power_used") for r in rows]
    bpu = usd([v if v is not None else 0 for v in bpu_values]) if any(v is not None for v in bpu_values) else None
    return RiskRow(rows[0]["params"], len(rows), bootstrap(bad, "quantile", VAR_LEVEL, rng),
                   bootstrap(bad, "shortfall", ES_LEVEL, rng), bootstrap(liquidated, "quantile", LAR_LEVEL, rng),
                   None if bpu is None else bootstrap(bpu, "quantile", BPU_LEVEL, rng), int(np.sum(bad > 0)))


def _usd(x: float) -> str:
    return f"{x:,.2f}"


def _ci(est: Estimate, fmt: Any = _usd) -> str:
    return f"{fmt(est.low)} – {fmt(est.high)}"


def _ratio(x: float) -> str:
    return f"{x:.3f}"


def risk_lines(row: RiskRow) -> list[str]:
    worst = max(1, int(np.ceil((1 - ES_LEVEL) * row.paths - 1e-9)))
    lines = ["", "Risk over the paths (95 % bootstrap intervals, 2,000 resamples, seeded):", "",
             "| figure | value | 95 % CI | what it is |", "|---|---:|---|---|",
             f"| VaR95 of bad debt (USD) | {_usd(row.var95.value)} | {_ci(row.var95)} | the 95th percentile of bad "
             f"debt across the {row.paths} paths |",
             f"| ES99 of bad debt (USD) | {_usd(row.es99.value)} | {_ci(row.es99)} | the mean of the worst {worst} "
             f"path(s) (1 %) |",
             f"| liquidations-at-risk LaR95 (USD) | {_usd(row.lar95.value)} | {_ci(row.lar95)} | collateral "
             f"seized by liquidators in a path, 95th percentile |"]
    if row.bpu95 is not None:
        lines.append(f"| borrowing power used, p95 | {_ratio(row.bpu95.value)} | {_ci(row.bpu95, _ratio)} | the "
                     f"book's peak debt over its borrowing power (initial weights; 1 = at the limit), 95th "
                     f"percentile |")
    lines.append(f"| paths with bad debt | {row.bad_debt_paths} of {row.paths} | | |")
    return lines


def car_lines(curves: dict[str, list[float]], drops: tuple[int, ...]) -> list[str]:
    """The collateral-at-risk curve as a table at a few falls (the chart has every point)."""
    shown = [d for d in (10, 20, 30, 40, 50, 60, 70, 80, 90) if d in drops]
    if not curves:
        return ["", "Collateral at risk: the book holds no collateral."]
    lines = ["", "Collateral at risk from the book (USD of collateral in sub-accounts that become liquidatable when "
                 "one asset alone falls by x %, at opening balances):", "",
             "| asset | " + " | ".join(f"−{d} %" for d in shown) + " |", "|---|" + "---:|" * len(shown)]
    for sym, curve in curves.items():
        lines.append(f"| {sym} | " + " | ".join(_usd(curve[drops.index(d)]) for d in shown) + " |")
    return lines


def summary_lines(rows: list[RiskRow]) -> list[str]:
    """One line per parameter set, to compare them."""
    lines = ["## Risk by parameter set", "", "| parameters | paths | VaR95 bad debt (USD) | ES99 bad debt (USD) | "
             "LaR95 (USD) | borrowing power used p95 | paths with bad debt |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        bpu = f"{_ratio(r.bpu95.value)} ({_ci(r.bpu95, _ratio)})" if r.bpu95 is not None else "–"
        lines.append(f"| {json.dumps(r.params, sort_keys=True)} | {r.paths} | {_usd(r.var95.value)} "
                     f"({_ci(r.var95)}) | {_usd(r.es99.value)} ({_ci(r.es99)}) | {_usd(r.lar95.value)} "
                     f"({_ci(r.lar95)}) | {bpu} | {r.bad_debt_paths} |")
    return lines + [""]


def write_json(path: Path, results: list[dict[str, Any]], rows: list[RiskRow],
               curves: dict[str, dict[str, list[float]]], drops: tuple[int, ...]) -> None:
    data = {"runs": results, "risk": [r.as_dict() for r in rows],
            "collateral_at_risk": {"drops_percent": list(drops), "by_parameters": curves}}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
