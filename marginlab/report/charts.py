"""PNG charts of a timeline (matplotlib, Agg backend: no display needed). Pure: reads only the timeline."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from marginlab.report.metrics import wad_to_decimal  # noqa: E402
from marginlab.timeline import Timeline  # noqa: E402

# Health factors above this are drawn at the cap: "healthy enough", and the 1.0 line stays readable.
HF_DISPLAY_CAP = 3.0
MAX_LEGEND_ENTRIES = 12
_PNG_META = {"Software": None}


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata=_PNG_META)
    plt.close(fig)


def chart_prices(timeline: Timeline, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4))
    records = timeline.records
    xs = [r.index for r in records]
    for m in timeline.markets:
        start = Decimal(m.price)
        ax.plot(xs, [float(Decimal(r.prices[m.symbol]) / start) for r in records], label=m.symbol)
    _finish(fig, ax, path, "Prices relative to the start", "price / initial price", "small")


def _finish(fig, ax, path: Path, title: str, ylabel: str, legend_size: str) -> None:
    """The axes, grid and legend every chart shares, then save."""
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=legend_size)
    _save(fig, path)


def _cumulative(by_step: dict[int, float], steps: list[int]) -> list[float]:
    total, out = 0.0, []
    for i in steps:
        total += by_step.get(i, 0.0)
        out.append(total)
    return out


def chart_health(timeline: Timeline, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    records = timeline.records
    xs = [r.index for r in records]
    indebted = [sub for sub in timeline.sub_accounts
                 if any(r.accounts.get(sub.key) is not None and r.accounts[sub.key].health_factor is not None
                        for r in records)]
    for n, sub in enumerate(indebted):  # a sub-account that never borrowed has no health factor to show
        ys = []
        for r in records:
            state = r.accounts.get(sub.key)
            hf = wad_to_decimal(state.health_factor) if state is not None else Decimal("Infinity")
            ys.append(min(float(hf), HF_DISPLAY_CAP))
        ax.plot(xs, ys, label=sub.key if n < MAX_LEGEND_ENTRIES else None, linewidth=1)
    liq_x = [x.step for x in timeline.liquidations]
    liq_y = [min(float(wad_to_decimal(x.health_factor_before)), HF_DISPLAY_CAP) for x in timeline.liquidations]
    if liq_x:
        ax.scatter(liq_x, liq_y, marker="x", color="red", zorder=5, label="liquidation")
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="liquidation line (1.0)")
    _finish(fig, ax, path, f"Health factor per sub-account (drawn at most {HF_DISPLAY_CAP})", "health factor",
            "x-small")


def chart_seized(timeline: Timeline, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4))
    by_step: dict[int, float] = {}
    for x in timeline.liquidations:
        by_step[x.step] = by_step.get(x.step, 0.0) + float(wad_to_decimal(x.seized_value))
    xs = [r.index for r in timeline.records]
    ax.bar(xs, [by_step.get(i, 0.0) for i in xs], color="tab:red", label="seized this step")
    cumulative = _cumulative(by_step, xs)
    ax.plot(xs, cumulative, color="black", label="cumulative")
    _finish(fig, ax, path, "Collateral seized by liquidators (USD)", "USD", "small")


def chart_bad_debt(timeline: Timeline, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 4))
    records = timeline.records
    xs = [r.index for r in records]
    by_step: dict[int, float] = {}
    for b in timeline.bad_debts:
        by_step[b.step] = by_step.get(b.step, 0.0) + float(wad_to_decimal(b.value))
    cumulative = _cumulative(by_step, xs)
    ax.plot(xs, cumulative, color="tab:red", label="bad debt settled (cumulative)")
    decimals = timeline.decimals()
    reserves = []
    for r in records:
        usd = Decimal(0)
        for sym, m in r.markets.items():
            usd += Decimal(m.reserves).scaleb(-decimals[sym]) * Decimal(r.prices[sym])
        reserves.append(float(usd))
    ax.plot(xs, reserves, color="tab:green", label="reserves (all markets)")
    _finish(fig, ax, path, "Bad debt and reserves (USD)", "USD", "small")


def chart_friction(timeline: Timeline, path: Path) -> None:
    """Market (the path) vs oracle (what the feed posts) vs pool price, per asset a model or a pool prices."""
    fig, ax = plt.subplots(figsize=(9, 4))
    records = timeline.records
    xs = [r.index for r in records]
    modelled = [m.symbol for m in timeline.markets
                if any(r.oracle_prices and r.oracle_prices.get(m.symbol) != r.prices[m.symbol] for r in records)]
    for sym in modelled:
        ax.plot(xs, [float(r.prices[sym]) for r in records], label=f"{sym} market (path)")
        ax.plot(xs, [float((r.oracle_prices or r.prices)[sym]) for r in records], label=f"{sym} oracle")
    pairs = [p for p in (records[-1].pools or {}) if p.split("/")[0] in modelled or not modelled]
    for pair in pairs:
        ax.plot(xs, [float(r.pools[pair].price) if r.pools else float("nan") for r in records], linestyle="--",
                label=f"{pair} pool")
    _finish(fig, ax, path, "Market vs oracle vs pool price", "price", "small")


CHARTS = {
    "prices.png": ("Prices", chart_prices),
    "health_factor.png": ("Health factor per sub-account", chart_health),
    "collateral_seized.png": ("Collateral seized", chart_seized),
    "bad_debt.png": ("Bad debt and reserves", chart_bad_debt),
}


def write_charts(timeline: Timeline, folder: Path) -> list[tuple[str, str]]:
    """Write every chart; return (title, file name) pairs for the report. Empty timelines get no charts."""
    if not timeline.records:
        return []
    out = []
    for name, (title, draw) in CHARTS.items():
        draw(timeline, folder / name)
        out.append((title, name))
    if any(r.oracle_prices or r.pools for r in timeline.records):  # friction (issue 17) only
        chart_friction(timeline, folder / "friction.png")
        out.append(("Market vs oracle vs pool price", "friction.png"))
    return out
