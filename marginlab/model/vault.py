"""Integer-exact model of the Vault's math (contracts/libraries/*.sol, VaultBase.sol, Vault.sol).

Every function mirrors one Solidity helper to the wei, with the same rounding, so tests assert
`contract == model` instead of approximate numbers (the Curve `simulation.py` pattern). Pure Python: no chain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

WAD = 10**18
MAX_UINT256 = 2**256 - 1
SECONDS_PER_YEAR = 365 * 86400
CLOSE_FACTOR = WAD // 2
FULL_CLOSE_HEALTH_FACTOR = 95 * WAD // 100
DEFAULT_DUST_VALUE = WAD


# ------------------------------------------------------------------ WadMath
def mul_div_down(x: int, y: int, d: int) -> int:
    return x * y // d


def mul_div_up(x: int, y: int, d: int) -> int:
    return -(-(x * y) // d)


def w_mul_down(x: int, y: int) -> int:
    return mul_div_down(x, y, WAD)


def w_mul_up(x: int, y: int) -> int:
    return mul_div_up(x, y, WAD)


def w_div_down(x: int, y: int) -> int:
    return mul_div_down(x, WAD, y)


def w_div_up(x: int, y: int) -> int:
    return mul_div_up(x, WAD, y)


# ------------------------------------------------------------------ MarketMath
def deposit_amount_down(scale: int, deposit_index: int) -> int:
    return mul_div_down(scale, deposit_index, WAD)


def debt_amount_up(scale: int, borrow_index: int) -> int:
    return mul_div_up(scale, borrow_index, WAD)


def to_scale_down(amount: int, index: int) -> int:
    return mul_div_down(amount, WAD, index)


def to_scale_up(amount: int, index: int) -> int:
    return mul_div_up(amount, WAD, index)


def value_down(amount: int, price: int, decimals: int) -> int:
    return mul_div_down(amount, price, 10**decimals)


def value_up(amount: int, price: int, decimals: int) -> int:
    return mul_div_up(amount, price, 10**decimals)


def utilization(total_borrows: int, total_deposits: int) -> int:
    if total_deposits == 0:
        return 0
    return min(WAD, w_div_down(total_borrows, total_deposits))


@dataclass(frozen=True)
class Accrual:
    borrow_index: int
    deposit_index: int
    interest: int
    reserve_cut: int


def accrue(
    borrow_index: int,
    deposit_index: int,
    total_borrow_scale: int,
    total_deposit_scale: int,
    rate_per_second: int,
    elapsed: int,
    reserve_factor: int,
) -> Accrual:
    """MarketMath.accrue (the Vault skips the call, and the rate-model query, when the borrow scale is 0)."""
    if total_borrow_scale == 0 or elapsed == 0:
        return Accrual(borrow_index, deposit_index, 0, 0)
    new_borrow_index = borrow_index + mul_div_up(borrow_index, rate_per_second * elapsed, WAD)
    interest = debt_amount_up(total_borrow_scale, new_borrow_index) - debt_amount_up(total_borrow_scale, borrow_index)
    if total_deposit_scale == 0:
        return Accrual(new_borrow_index, deposit_index, interest, interest)
    cut = w_mul_up(interest, reserve_factor)
    new_deposit_index = deposit_index + mul_div_down(interest - cut, WAD, total_deposit_scale)
    return Accrual(new_borrow_index, new_deposit_index, interest, cut)


def socialise(deposit_index: int, total_deposit_scale: int, loss: int) -> int:
    drop = mul_div_up(loss, WAD, total_deposit_scale)
    return deposit_index - drop if drop < deposit_index else 1


# ------------------------------------------------------------------ InterestRateModel
@dataclass(frozen=True)
class RateModel:
    base: int
    slope1: int
    slope2: int
    kink: int

    def per_year(self, u: int) -> int:
        if u <= self.kink or self.kink == WAD:
            return self.base + mul_div_down(self.slope1, u, self.kink)
        return self.base + self.slope1 + mul_div_down(self.slope2, u - self.kink, WAD - self.kink)

    def per_second(self, u: int) -> int:
        return self.per_year(u) // SECONDS_PER_YEAR


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
    """VaultBase._health / _accumulate: per-asset rounding, then sums."""
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
            dbs, scaled, repaid, amount = -s, scaled + s, amount, 0
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


# ------------------------------------------------------------------ liquidation (LiquidationMath + Vault)
@dataclass(frozen=True)
class Pair:
    price_debt: int
    decimals_debt: int
    price_coll: int
    decimals_coll: int
    bonus: int


def seize_for_repay_down(repaid: int, p: Pair) -> int:
    value = mul_div_down(repaid, p.price_debt, 10**p.decimals_debt)
    return mul_div_down(w_mul_down(value, WAD + p.bonus), 10**p.decimals_coll, p.price_coll)


def repay_for_seize_up(seized: int, p: Pair) -> int:
    value = mul_div_up(seized, p.price_coll, 10**p.decimals_coll)
    return mul_div_up(w_div_up(value, WAD + p.bonus), 10**p.decimals_debt, p.price_debt)


def split_seized(seized: int, bonus: int, protocol_share: int) -> tuple[int, int]:
    """(to the liquidator, protocol cut)."""
    bonus_part = seized - w_div_down(seized, WAD + bonus)
    cut = w_mul_up(bonus_part, protocol_share)
    return seized - cut, cut


def close_factor_cap(
    debt: int, requested: int, health_factor: int, p: Pair, dust_value: int = DEFAULT_DUST_VALUE
) -> int:
    full = health_factor < FULL_CLOSE_HEALTH_FACTOR or value_up(debt, p.price_debt, p.decimals_debt) <= dust_value
    max_repay = debt if full else w_mul_down(debt, CLOSE_FACTOR)
    repaid = min(requested, max_repay)
    left = debt - repaid
    if left > 0 and value_up(left, p.price_debt, p.decimals_debt) < dust_value:
        repaid = debt
    return repaid


@dataclass(frozen=True)
class LiquidationQuote:
    repaid: int
    seized: int
    to_liquidator: int
    protocol_cut: int


def quote_liquidation(
    debt: int,
    collateral: int,
    requested: int,
    health_factor: int,
    p: Pair,
    protocol_share: int,
    dust_value: int = DEFAULT_DUST_VALUE,
) -> LiquidationQuote:
    """Vault._quoteLiquidation + splitSeized: `debt` and `collateral` are the account's accrued amounts."""
    repaid = close_factor_cap(debt, requested, health_factor, p, dust_value)
    seized = seize_for_repay_down(repaid, p)
    if seized > collateral:
        seized = collateral
        repaid = min(repaid, repay_for_seize_up(collateral, p))
    to_liq, cut = split_seized(seized, p.bonus, protocol_share)
    return LiquidationQuote(repaid, seized, to_liq, cut)


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

    @property
    def total_deposits(self) -> int:
        return deposit_amount_down(self.total_deposit_scale, self.deposit_index)

    @property
    def total_borrows(self) -> int:
        return debt_amount_up(self.total_borrow_scale, self.borrow_index)

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
