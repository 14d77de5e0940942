"""PNG charts of risk figures (matplotlib, Agg backend): the tail of bad debt and liquidations with VaR, ES and
LaR marked, the collateral-at-risk curves, and the frontier of ``marginlab recommend``."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from marginlab.risk.tables import RiskRow  # noqa: E402

_PNG_META = {"Software": None}


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata=_PNG_META)
    plt.close(fig)


def chart_tails(bad_debt: np.ndarray, liquidated: np.ndarray, row: RiskRow, title: str, path: Path) -> None:
    """Each path's bad debt and liquidated USD, sorted (a loss-exceedance view), with VaR95, ES99 and LaR95."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    share = 100 * (np.arange(1, len(bad_debt) + 1) / len(bad_debt))
    for ax, values, label, marks in (
            (axes[0], bad_debt, "bad debt (USD)", (("VaR95", row.var95.value, "tab:red"),
                                                   ("ES99", row.es99.value, "black"))),
            (axes[1], liquidated, "collateral seized by liquidators (USD)", (("LaR95", row.lar95.value,
                                                                              "tab:red"),))):
        ax.plot(share, np.sort(values), drawstyle="steps-post", color="tab:blue", label="paths, sorted")
        for name, value, colour in marks:
            ax.axhline(value, color=colour, linestyle="--", linewidth=1, label=f"{name} {value:,.0f}")
        ax.set_xlabel("share of paths (%)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


def chart_collateral_at_risk(curves: dict[str, list[float]], drops: Sequence[int], title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for sym, curve in curves.items():
        ax.plot(list(drops), curve, label=sym)
    ax.set_xlabel("fall of one asset's price from its initial price (%)")
    ax.set_ylabel("collateral in liquidatable sub-accounts (USD)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def chart_frontier(points: list[dict[str, Any]], metric: str, limit: float | None, chosen: dict[str, Any] | None,
                   vary: str, path: Path) -> None:
    """Capital efficiency against the budget's risk figure, one point per setting tried, with the budget line and
    bootstrap intervals as error bars."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for ok, colour, label in ((True, "tab:green", "within budget"), (False, "tab:red", "beyond budget")):
        pts = [p for p in points if p["within_budget"] is ok]
        if not pts:
            continue
        xs = np.array([p[metric]["value"] for p in pts])
        err = np.array([[p[metric]["value"] - p[metric]["ci_low"] for p in pts],
                        [p[metric]["ci_high"] - p[metric]["value"] for p in pts]])
        ax.errorbar(xs, [p["capital_efficiency"] for p in pts], xerr=err, fmt="o", color=colour, label=label,
                    capsize=3)
        for p in pts:
            ax.annotate(f"{p['value']:g}", (p[metric]["value"], p["capital_efficiency"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
    ordered = sorted(points, key=lambda p: p["value"])
    ax.plot([p[metric]["value"] for p in ordered], [p["capital_efficiency"] for p in ordered], color="grey",
            linewidth=0.8, zorder=0)
    if limit is not None:
        ax.axvline(limit, color="black", linestyle="--", linewidth=1, label=f"budget {metric} {limit:,.0f}")
    if chosen is not None:
        ax.scatter([chosen[metric]["value"]], [chosen["capital_efficiency"]], s=160, facecolors="none",
                   edgecolors="black", label=f"recommended {vary} = {chosen['value']:g}")
    ax.set_xlabel(f"{metric} (USD)" if metric != "bpu95" else metric)
    ax.set_ylabel("capital efficiency (borrowing power per USD of collateral)")
    ax.set_title(f"Frontier: {vary}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)
