"""A market's books across calls, for multi-step checks (accrual, scales, reserves, write-offs)."""
from __future__ import annotations

from dataclasses import dataclass, field

from marginlab.model.vault.accounts import BalanceChange, Params, credit, debit, underlying
from marginlab.model.vault.math import (
    WAD,
    Accrual,
    RateModel,
    accrue,
    debt_amount_up,
    deposit_amount_down,
    socialise_floored,
    utilization,
)


# ------------------------------------------------------------------ a market's books, for multi-step checks
@dataclass
class MarketBooks:
    decimals: int
    params: Params
    rates: RateModel
    deposit_index: int = WAD
    borrow_index: int = WAD
    total_deposit_scale: int = 0
    total_borrow_scale: int = 0
    reserves: int = 0
    balances: dict = field(default_factory=dict)
    #: bad debt no depositor was left to bear (VaultCore.Market.deficit, I24)
    deficit: int = 0

    @property
    def total_deposits(self) -> int:
        return deposit_amount_down(self.total_deposit_scale, self.deposit_index)

    @property
    def total_borrows(self) -> int:
        return debt_amount_up(self.total_borrow_scale, self.borrow_index)

    @property
    def unbacked(self) -> int:
        """What the vault's liquidity check counts against the deposits (Vault._requireLiquidity): the borrows
        and the deficit, deposits no token backs (I3, I24). A borrow or withdrawal must leave it <= total_deposits."""
        return self.total_borrows + self.deficit

    def accrue(self, elapsed: int) -> Accrual:
        rate = self.rates.per_second(utilization(self.total_borrows, self.total_deposits))
        a = accrue(
            self.borrow_index,
            self.deposit_index,
            self.total_borrow_scale,
            self.total_deposit_scale,
            rate,
            elapsed,
            self.params.reserve_factor,
        )
        self.borrow_index, self.deposit_index = a.borrow_index, a.deposit_index
        self.reserves += a.reserve_cut
        return a

    def _apply(self, key, change: BalanceChange) -> BalanceChange:
        self.balances[key] = change.scaled
        self.total_deposit_scale += change.deposit_scale_delta
        self.total_borrow_scale += change.borrow_scale_delta
        return change

    def credit(self, key, amount: int) -> BalanceChange:
        return self._apply(key, credit(self.balances.get(key, 0), amount, self.deposit_index, self.borrow_index))

    def debit(self, key, amount: int) -> BalanceChange:
        return self._apply(key, debit(self.balances.get(key, 0), amount, self.deposit_index, self.borrow_index))

    def amount_of(self, key) -> int:
        return underlying(self.balances.get(key, 0), self.deposit_index, self.borrow_index)

    def write_off(self, key) -> "WriteOff":
        """VaultLiquidation._settleBadDebt for one debt: reserves cover first, the rest lowers the deposit index
        down to its floor; what the depositors cannot bear (none left, or the index at the floor) is the deficit."""
        scale = -self.balances.get(key, 0)
        assert scale > 0, "write_off of a sub-account that does not owe"
        debt = debt_amount_up(scale, self.borrow_index)
        covered = min(debt, self.reserves)
        socialised = debt - covered
        self.reserves -= covered
        self.total_borrow_scale -= scale
        self.balances[key] = 0
        if socialised:
            loss = socialised
            self.deposit_index, socialised = socialise_floored(self.deposit_index, self.total_deposit_scale, loss)
            self.deficit += loss - socialised
        return WriteOff(debt, covered, socialised, self.deposit_index)

    def clear_deposit(self, key) -> None:
        """_settleBadDebt's first loop: deposit scale worth nothing leaves the totals and the account."""
        scale = self.balances.get(key, 0)
        if scale > 0:
            self.total_deposit_scale -= scale
            self.balances[key] = 0

    def move_deposit(self, key, to_key) -> int:
        """VaultLiquidation._absorbDeposits for one market: the deposit scale changes hands, totals unchanged.
        Returns the amount the event reports (the scale's deposit amount, rounded down)."""
        scale = self.balances.get(key, 0)
        assert scale > 0
        self.balances[key] = 0
        self.balances[to_key] = self.balances.get(to_key, 0) + scale
        return deposit_amount_down(scale, self.deposit_index)


@dataclass(frozen=True)
class WriteOff:
    """One BadDebtSettled event."""

    debt: int
    covered: int
    socialised: int
    new_deposit_index: int
