"""A sub-account's health (VaultCore._health) and balance moves (VaultCore._credit / _debit)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from marginlab.model.vault.math import (
    MAX_UINT256,
    WAD,
    debt_amount_up,
    deposit_amount_down,
    to_scale_down,
    to_scale_up,
    value_down,
    value_up,
    w_div_down,
    w_mul_down,
    w_mul_up,
)


# ------------------------------------------------------------------ health
@dataclass(frozen=True)
class Params:
    """A market's risk parameters (IVault.MarketParams without caps and irm)."""

    asset_weight_init: int
    asset_weight_maint: int
    liab_weight_init: int
    liab_weight_maint: int
    liquidation_bonus: int = 5 * WAD // 100
    protocol_share: int = 10 * WAD // 100
    reserve_factor: int = 10 * WAD // 100

    @classmethod
    def from_chain(cls, raw: Sequence[int]) -> "Params":
        """From `vault.marketParams(token)` (a 10-tuple in IVault.MarketParams order)."""
        return cls(*(int(x) for x in raw[:7]))


@dataclass(frozen=True)
class Position:
    """One balance of a sub-account: signed underlying amount (deposits rounded down, debts up)."""

    amount: int
    price: int
    decimals: int
    params: Params


@dataclass
class Health:
    collateral_value: int = 0
    debt_value: int = 0
    coll_init: int = 0
    coll_maint: int = 0
    debt_init: int = 0
    debt_maint: int = 0

    @property
    def health_init(self) -> int:
        return self.coll_init - self.debt_init

    @property
    def health_maint(self) -> int:
        return self.coll_maint - self.debt_maint

    @property
    def health_factor(self) -> int:
        return MAX_UINT256 if self.debt_maint == 0 else w_div_down(self.coll_maint, self.debt_maint)


def health(positions: Iterable[Position]) -> Health:
    """VaultCore._health / _accumulate: per-asset rounding, then sums."""
    h = Health()
    for p in positions:
        if p.amount > 0:
            v = value_down(p.amount, p.price, p.decimals)
            h.collateral_value += v
            h.coll_init += w_mul_down(v, p.params.asset_weight_init)
            h.coll_maint += w_mul_down(v, p.params.asset_weight_maint)
        elif p.amount < 0:
            v = value_up(-p.amount, p.price, p.decimals)
            h.debt_value += v
            h.debt_init += w_mul_up(v, p.params.liab_weight_init)
            h.debt_maint += w_mul_up(v, p.params.liab_weight_maint)
    return h


def underlying(scaled: int, deposit_index: int, borrow_index: int) -> int:
    if scaled >= 0:
        return deposit_amount_down(scaled, deposit_index)
    return -debt_amount_up(-scaled, borrow_index)


# ------------------------------------------------------------------ balances (Vault._credit / _debit)
@dataclass(frozen=True)
class BalanceChange:
    scaled: int  # the account's new signed scale
    deposit_scale_delta: int  # change of the market's total deposit scale
    borrow_scale_delta: int  # change of the market's total borrow scale
    debt_repaid: int = 0
    from_deposit: int = 0
    borrowed: int = 0


def credit(scaled: int, amount: int, deposit_index: int, borrow_index: int) -> BalanceChange:
    dds = dbs = repaid = 0
    if scaled < 0:
        debt = debt_amount_up(-scaled, borrow_index)
        if amount >= debt:
            dbs, scaled, repaid, amount = scaled, 0, debt, amount - debt
        else:
            s = to_scale_down(amount, borrow_index)
            if s > 0:  # below one scale unit nothing burns and nothing counts as repaid (VaultCore._credit)
                dbs, scaled, repaid = -s, scaled + s, amount
            amount = 0
    if amount > 0:
        s = to_scale_down(amount, deposit_index)
        dds, scaled = s, scaled + s
    return BalanceChange(scaled, dds, dbs, debt_repaid=repaid)


def debit(scaled: int, amount: int, deposit_index: int, borrow_index: int) -> BalanceChange:
    dds = dbs = taken = borrowed = 0
    if scaled > 0:
        held = deposit_amount_down(scaled, deposit_index)
        if amount >= held:
            dds, scaled, taken, amount = -scaled, 0, held, amount - held
        else:
            s = to_scale_up(amount, deposit_index)
            dds, scaled, taken, amount = -s, scaled - s, amount, 0
    if amount > 0:
        s = to_scale_up(amount, borrow_index)
        dbs, scaled, borrowed = s, scaled - s, amount
    return BalanceChange(scaled, dds, dbs, from_deposit=taken, borrowed=borrowed)
