"""An independent integer model of Aave v3.0.2's health and liquidation math, written from Aave's Solidity
(``@aave/core-v3`` 1.19.3: ``GenericLogic.calculateUserAccountData``, ``WadRayMath``, ``PercentageMath``,
``LiquidationLogic._calculateDebt`` / ``_calculateAvailableCollateralToLiquidate``, ``ScaledBalanceTokenBase``,
``ReserveConfiguration``) — never from marginlab's adapter. Inputs are the raw state Aave stores or computes in a
view: scaled balances, normalised income and debt (ray), oracle prices (8 decimals), the packed configuration.
"""
from __future__ import annotations

from dataclasses import dataclass, field

WAD = 10**18
HALF_WAD = WAD // 2
RAY = 10**27
HALF_RAY = RAY // 2
PERCENTAGE_FACTOR = 10**4
HALF_PERCENTAGE_FACTOR = PERCENTAGE_FACTOR // 2
UINT256_MAX = 2**256 - 1
HEALTH_FACTOR_LIQUIDATION_THRESHOLD = WAD
CLOSE_FACTOR_HF_THRESHOLD = 95 * 10**16  # LiquidationLogic: 0.95e18
DEFAULT_LIQUIDATION_CLOSE_FACTOR = 5000
MAX_LIQUIDATION_CLOSE_FACTOR = PERCENTAGE_FACTOR


# WadRayMath / PercentageMath: half-up rounding.
def ray_mul(a: int, b: int) -> int:
    return (a * b + HALF_RAY) // RAY


def ray_div(a: int, b: int) -> int:
    return (a * RAY + b // 2) // b


def wad_div(a: int, b: int) -> int:
    return (a * WAD + b // 2) // b


def percent_mul(value: int, percentage: int) -> int:
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def percent_div(value: int, percentage: int) -> int:
    return (value * PERCENTAGE_FACTOR + percentage // 2) // percentage


@dataclass(frozen=True)
class ReserveConfig:
    """ReserveConfiguration's packed word: LTV bits 0-15, threshold 16-31, bonus 32-47, decimals 48-55,
    liquidation protocol fee 152-167."""

    ltv: int
    threshold: int
    bonus: int
    decimals: int
    protocol_fee: int

    @classmethod
    def unpack(cls, data: int) -> "ReserveConfig":
        return cls(data & 0xFFFF, (data >> 16) & 0xFFFF, (data >> 32) & 0xFFFF, (data >> 48) & 0xFF,
                   (data >> 152) & 0xFFFF)


@dataclass(frozen=True)
class Reserve:
    id: int
    config: ReserveConfig
    price: int  # AaveOracle.getAssetPrice (base currency, 8 decimals)
    normalized_income: int  # ray
    normalized_debt: int  # ray


@dataclass
class User:
    """Scaled aToken and variable-debt balances, and the user configuration bitmap (borrowing bit 2·id,
    collateral bit 2·id + 1)."""

    scaled_supply: dict[str, int] = field(default_factory=dict)
    scaled_debt: dict[str, int] = field(default_factory=dict)
    config: int = 0

    def borrowing(self, r: Reserve) -> bool:
        return (self.config >> (2 * r.id)) & 1 == 1

    def using_as_collateral(self, r: Reserve) -> bool:
        return (self.config >> (2 * r.id + 1)) & 1 == 1


@dataclass(frozen=True)
class AccountData:
    total_collateral: int
    total_debt: int
    avg_ltv: int
    avg_threshold: int
    health_factor: int


def supply_balance(user: User, sym: str, r: Reserve) -> int:
    return ray_mul(user.scaled_supply.get(sym, 0), r.normalized_income)


def debt_balance(user: User, sym: str, r: Reserve) -> int:
    scaled = user.scaled_debt.get(sym, 0)
    return ray_mul(scaled, r.normalized_debt) if scaled else 0


def account_data(reserves: dict[str, Reserve], user: User) -> AccountData:
    """GenericLogic.calculateUserAccountData without e-mode (no stable debt is ever taken here)."""
    if user.config == 0:
        return AccountData(0, 0, 0, 0, UINT256_MAX)
    collateral = debt = avg_ltv = avg_lt = 0
    for sym, r in sorted(reserves.items(), key=lambda kv: kv[1].id):
        if not (user.using_as_collateral(r) or user.borrowing(r)):
            continue
        unit = 10**r.config.decimals
        if r.config.threshold != 0 and user.using_as_collateral(r):
            value = supply_balance(user, sym, r) * r.price // unit
            collateral += value
            avg_ltv += value * r.config.ltv
            avg_lt += value * r.config.threshold
        if user.borrowing(r):
            debt += debt_balance(user, sym, r) * r.price // unit
    avg_ltv = avg_ltv // collateral if collateral else 0
    avg_lt = avg_lt // collateral if collateral else 0
    hf = UINT256_MAX if debt == 0 else wad_div(percent_mul(collateral, avg_lt), debt)
    return AccountData(collateral, debt, avg_ltv, avg_lt, hf)


def liquidatable(reserves: dict[str, Reserve], user: User) -> bool:
    return account_data(reserves, user).health_factor < HEALTH_FACTOR_LIQUIDATION_THRESHOLD


@dataclass(frozen=True)
class Liquidation:
    debt_repaid: int
    collateral_to_liquidator: int
    protocol_fee: int
    #: scaled balances the user is left with (collateral aToken, variable debt)
    scaled_supply_after: int
    scaled_debt_after: int


def liquidate(reserves: dict[str, Reserve], user: User, collateral: str, debt: str,
              debt_to_cover: int = UINT256_MAX) -> Liquidation:
    """LiquidationLogic.executeLiquidationCall's amounts (receiveAToken = true), with ``reserves`` priced and indexed
    as of the liquidation's block (the debt reserve's index is updated in it, the collateral's read as a view)."""
    hf = account_data(reserves, user).health_factor
    c, d = reserves[collateral], reserves[debt]
    total_debt = debt_balance(user, debt, d)
    close_factor = DEFAULT_LIQUIDATION_CLOSE_FACTOR if hf > CLOSE_FACTOR_HF_THRESHOLD else MAX_LIQUIDATION_CLOSE_FACTOR
    actual_debt = min(debt_to_cover, percent_mul(total_debt, close_factor))
    balance = supply_balance(user, collateral, c)
    c_unit, d_unit = 10**c.config.decimals, 10**d.config.decimals
    base_collateral = (d.price * actual_debt * c_unit) // (c.price * d_unit)
    max_collateral = percent_mul(base_collateral, c.config.bonus)
    if max_collateral > balance:
        amount = balance
        actual_debt = percent_div((c.price * amount * d_unit) // (d.price * c_unit), c.config.bonus)
    else:
        amount = max_collateral
    fee = 0
    if c.config.protocol_fee:
        bonus_part = amount - percent_div(amount, c.config.bonus)
        fee = percent_mul(bonus_part, c.config.protocol_fee)
    to_liquidator = amount - fee
    scaled = user.scaled_supply.get(collateral, 0) - ray_div(to_liquidator, c.normalized_income)
    if fee:
        if ray_div(fee, c.normalized_income) > scaled:  # the fee is clamped to what the user still holds
            fee = ray_mul(scaled, c.normalized_income)
        scaled -= ray_div(fee, c.normalized_income)
    scaled_debt = user.scaled_debt.get(debt, 0) - ray_div(actual_debt, d.normalized_debt)
    return Liquidation(actual_debt, to_liquidator, fee, scaled, scaled_debt)
