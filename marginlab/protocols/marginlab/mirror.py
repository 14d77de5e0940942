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

from marginlab.model import vault
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


def underlying(scaled: int, deposit_index: int, borrow_index: int) -> int:
    """``VaultBase._underlying``: deposits rounded down, debts rounded up (negative)."""
    return vault.underlying(scaled, deposit_index, borrow_index)


def value_account(scaled: list[int], quotes: list[Quote], symbols: list[str]) -> SubAccountState:
    """Value one sub-account from its scaled balances (one per market, listing order, named by ``symbols``) with
    the vault's integer model (:mod:`marginlab.model.vault`). Raises :class:`PriceUnavailable` where the vault's
    view would revert."""
    balances: dict[str, int] = {}
    positions: list[vault.Position] = []
    for sym, s, q in zip(symbols, scaled, quotes, strict=False):
        if s == 0:
            continue
        amount = vault.underlying(s, q.deposit_index, q.borrow_index)
        if q.price_error:
            raise PriceUnavailable(q.price_error)  # the vault prices every held market, even a zero amount
        balances[sym] = amount
        positions.append(vault.Position(amount, q.price, q.decimals, vault.Params(
            q.asset_weight_init, q.asset_weight_maint, q.liab_weight_init, q.liab_weight_maint)))
    h = vault.health(positions)
    hf = None if h.debt_maint == 0 else h.health_factor
    return SubAccountState(balances, h.health_init, h.health_maint, hf, h.collateral_value, h.debt_value)
