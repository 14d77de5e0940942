"""Figures read from a book (a plan's accounts at opening) or from one replay's timeline.

- :func:`path_figures`: per replay, the USD value liquidators seized and the peak *borrowing power used* — the
  book's debt at initial liability weights over its collateral at initial asset weights, summed over every
  borrower's sub-accounts (1 = every borrower at its initial-margin limit), the highest any step reached;
- :func:`collateral_at_risk`: per asset, the USD of collateral held by sub-accounts that become liquidatable
  (maintenance health below 0) when that asset alone falls by x % from its initial price, everything else as
  opened; a stress curve from the book itself, no replay needed;
- :func:`capital_efficiency`: borrowing power per USD of collateral, the book-weighted loan-to-value the markets'
  initial weights grant: (Σ collateral × initial asset weight − Σ debt × (initial liability weight − 1)) ÷
  Σ collateral, at initial prices. Higher asset weights or lower liability weights lend more against the same
  book.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np

from marginlab.numbers import EXACT, WAD, from_units
from marginlab.scenario.plan import Plan
from marginlab.timeline import Timeline

#: Falls of one asset's price (per cent) at which the collateral-at-risk curve is evaluated.
DROPS = tuple(range(0, 91, 2))


def path_figures(timeline: Timeline) -> dict[str, int | None]:
    """``liquidated``: USD (WAD) seized by liquidators; ``borrowing_power_used``: the peak ratio (WAD), None when
    nobody ever borrowed."""
    decimals = timeline.decimals()
    aw = {m.symbol: Decimal(m.asset_weight_init) for m in timeline.markets}
    lw = {m.symbol: Decimal(m.liab_weight_init) for m in timeline.markets}
    borrowers = {s.key for s in timeline.sub_accounts if s.margin != "lender"}
    peak: Decimal | None = None
    with localcontext(EXACT):
        for record in timeline.records:
            coll = debt = Decimal(0)
            for key, state in record.accounts.items():
                if key not in borrowers:
                    continue
                for sym, units in state.balances.items():
                    usd = from_units(units, decimals[sym]) * Decimal(record.prices[sym])
                    if units > 0:
                        coll += usd * aw[sym]
                    elif units < 0:
                        debt -= usd * lw[sym]
            if debt > 0:
                used = debt / coll if coll > 0 else Decimal(10)  # no collateral left: far beyond the limit
                peak = used if peak is None else max(peak, used)
        liquidated = sum(x.seized_value for x in timeline.liquidations)
        return {"liquidated": liquidated, "borrowing_power_used": None if peak is None else int(peak * WAD)}


@dataclass(frozen=True)
class BookMatrix:
    """The book at opening: one row per borrower sub-account, one column per market (token amounts as floats)."""

    symbols: list[str]
    balances: np.ndarray
    prices: np.ndarray
    asset_maint: np.ndarray
    liab_maint: np.ndarray


def book_matrix(plan: Plan) -> BookMatrix:
    symbols = [m.symbol for m in plan.markets]
    rows = []
    for acct in plan.accounts:
        for sub in acct.sub_ids:
            row = np.zeros(len(symbols))
            for i, pos in enumerate(acct.positions):
                if acct.sub_id(i) != sub:
                    continue
                for sym, units in pos.deposit.items():
                    row[symbols.index(sym)] += float(from_units(units, plan.decimals(sym)))
                for sym, units in pos.borrow.items():
                    row[symbols.index(sym)] -= float(from_units(units, plan.decimals(sym)))
            rows.append(row)
    return BookMatrix(symbols, np.array(rows).reshape(len(rows), len(symbols)),
                      np.array([float(plan.initial_prices[s]) for s in symbols]),
                      np.array([float(m.asset_weight.maint) for m in plan.markets]),
                      np.array([float(m.liab_weight.maint) for m in plan.markets]))


def collateral_at_risk(plan: Plan, drops: tuple[int, ...] = DROPS) -> dict[str, list[float]]:
    """Asset → USD of collateral in liquidatable sub-accounts at each fall in ``drops`` (per cent) of that asset.
    Assets nobody holds or owes are left out (their curve is flat)."""
    book = book_matrix(plan)
    out: dict[str, list[float]] = {}
    for a, sym in enumerate(book.symbols):
        if not np.any(book.balances[:, a]):
            continue
        curve = []
        for drop in drops:
            prices = book.prices.copy()
            prices[a] *= 1 - drop / 100
            values = book.balances * prices
            health = np.where(values > 0, values * book.asset_maint, values * book.liab_maint).sum(axis=1)
            collateral = np.clip(values, 0, None).sum(axis=1)
            curve.append(float(collateral[health < 0].sum()))
        out[sym] = curve
    return out


def capital_efficiency(plan: Plan) -> float:
    """Borrowing power per USD of the book's collateral at initial prices (see the module's docstring)."""
    book = book_matrix(plan)
    aw = np.array([float(m.asset_weight.init) for m in plan.markets])
    lw = np.array([float(m.liab_weight.init) for m in plan.markets])
    values = book.balances * book.prices
    collateral = float(np.clip(values, 0, None).sum())
    if collateral == 0:
        return 0.0
    power = float((np.clip(values, 0, None) * aw).sum() - (np.clip(-values, 0, None) * (lw - 1)).sum())
    return power / collateral
