"""Off-chain valuation of sub-accounts with the vault's own integer formulas (``VaultBase._accountState``).

Reading every sub-account through the vault's batch view costs the node ~24k gas of EVM work per sub-account
and step; Ganache executes ~1.5M gas/s here, so 500 sub-accounts cost ~8 s a step. The mirror instead reads,
once per keeper round and in one call (``SimBatcher.mirror``), every market's accrued indexes and price and the
scaled balances of the sub-accounts whose balances may have changed (the engine marks them), and values all
sub-accounts in Python, exactly: the same mulDiv roundings in the same order, so results equal the vault's to
the wei. The engine checks that against the vault's batch view every ``verify_every`` steps and at the end of
a replay, and stops with an error on any difference.
"""
from __future__ import annotations

from dataclasses import dataclass

from marginlab.numbers import WAD
from marginlab.timeline import SubAccountState


@dataclass(frozen=True)
class Quote:
    """One market as the vault sees it this block: accrued indexes, decimals, weights (WAD), and the router's
    price (WAD per whole token) or, when the router reverts, its revert data."""
    decimals: int
    deposit_index: int
    borrow_index: int
    asset_weight_init: int
    asset_weight_maint: int
    liab_weight_init: int
    liab_weight_maint: int
    price: int
    price_error: bytes = b""


class PriceUnavailable(Exception):
    """A held market has no price: the vault's view would revert with ``data`` (the router's revert data)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data.hex())
        self.data = data


def _div_down(x: int, y: int, d: int) -> int:
    return x * y // d


def _div_up(x: int, y: int, d: int) -> int:
    return -(-(x * y) // d)


def underlying(scaled: int, deposit_index: int, borrow_index: int) -> int:
    """``VaultBase._underlying``: deposits rounded down, debts rounded up (negative)."""
    if scaled >= 0:
        return _div_down(scaled, deposit_index, WAD)
    return -_div_up(-scaled, borrow_index, WAD)


def value_account(scaled: list[int], quotes: list[Quote], symbols: list[str]) -> SubAccountState:
    """Value one sub-account from its scaled balances (one per market, listing order, named by ``symbols``).
    Raises :class:`PriceUnavailable` where the vault's view would revert."""
    balances: dict[str, int] = {}
    coll_value = debt_value = coll_init = coll_maint = debt_init = debt_maint = 0
    for sym, s, q in zip(symbols, scaled, quotes):
        if s == 0:
            continue
        amount = underlying(s, q.deposit_index, q.borrow_index)
        if q.price_error:
            raise PriceUnavailable(q.price_error)  # the vault prices every held market, even a zero amount
        balances[sym] = amount
        unit = 10 ** q.decimals
        if amount > 0:
            value = _div_down(amount, q.price, unit)
            coll_value += value
            coll_init += _div_down(value, q.asset_weight_init, WAD)
            coll_maint += _div_down(value, q.asset_weight_maint, WAD)
        elif amount < 0:
            value = _div_up(-amount, q.price, unit)
            debt_value += value
            debt_init += _div_up(value, q.liab_weight_init, WAD)
            debt_maint += _div_up(value, q.liab_weight_maint, WAD)
    hf = None if debt_maint == 0 else _div_down(coll_maint, WAD, debt_maint)
    return SubAccountState(balances, coll_init - debt_init, coll_maint - debt_maint, hf, coll_value, debt_value)
