"""WadMath and MarketMath (contracts/libraries/), interest accrual and the rate model (InterestRateModel.sol)."""
from __future__ import annotations

from dataclasses import dataclass

WAD = 10**18
MAX_UINT256 = 2**256 - 1
SECONDS_PER_YEAR = 365 * 86400
CLOSE_FACTOR = WAD // 2  # LiquidationParams' default closeFactor
FULL_CLOSE_HEALTH_FACTOR = 95 * WAD // 100  # and fullCloseHealthFactor
#: The dust minimums a fresh vault starts with (USD WAD): VaultCore._minDebtLeftValue / _minCollateralLeftValue.
DEFAULT_MIN_DEBT_LEFT_VALUE = WAD
DEFAULT_MIN_COLLATERAL_LEFT_VALUE = WAD
#: VaultGovernance's bounds.
MAX_INCENTIVE = 25 * WAD // 100
MAX_DISCOUNT = 20 * WAD // 100
MIN_TARGET_HEALTH_FACTOR = 101 * WAD // 100
MAX_TARGET_HEALTH_FACTOR = 15 * WAD // 10
MAX_DUST_VALUE = 1_000 * WAD


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


#: VaultCore.MIN_DEPOSIT_INDEX: a loss that would push the deposit index lower is the market's deficit (I24).
MIN_DEPOSIT_INDEX = 10**12


def socialise_floored(deposit_index: int, total_deposit_scale: int, loss: int,
                      floor: int = MIN_DEPOSIT_INDEX) -> tuple[int, int]:
    """MarketMath.socialiseFloored: (the new deposit index, the part of ``loss`` the depositors bear)."""
    if total_deposit_scale == 0:
        return deposit_index, 0
    drop = mul_div_up(loss, WAD, total_deposit_scale)
    if deposit_index >= floor and drop <= deposit_index - floor:
        return deposit_index - drop, loss
    if deposit_index <= floor:
        return deposit_index, 0
    return floor, mul_div_down(total_deposit_scale, deposit_index - floor, WAD)


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
