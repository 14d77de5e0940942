"""Liquidation (LiquidationMath + VaultLiquidation), the policies (libraries/*Policy.sol), absorb and
buyCollateral."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Sequence

from marginlab.model.vault.accounts import Health, Params
from marginlab.model.vault.math import (
    CLOSE_FACTOR,
    DEFAULT_MIN_COLLATERAL_LEFT_VALUE,
    DEFAULT_MIN_DEBT_LEFT_VALUE,
    FULL_CLOSE_HEALTH_FACTOR,
    MAX_DISCOUNT,
    MAX_INCENTIVE,
    MAX_TARGET_HEALTH_FACTOR,
    MIN_TARGET_HEALTH_FACTOR,
    WAD,
    mul_div_down,
    mul_div_up,
    value_down,
    value_up,
    w_div_down,
    w_div_up,
    w_mul_down,
    w_mul_up,
)


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


# ------------------------------------------------------------------ liquidation policies (libraries/*Policy.sol)
class Policy(IntEnum):
    """IVaultBase.LiquidationPolicy."""

    CLOSE_FACTOR = 0
    FIXED_INCENTIVE = 1
    DUTCH = 2
    ABSORB = 3


@dataclass(frozen=True)
class LiquidationParams:
    """IVaultBase.LiquidationParams, with the defaults a fresh vault starts with."""

    close_factor: int = CLOSE_FACTOR
    full_close_health_factor: int = FULL_CLOSE_HEALTH_FACTOR
    incentive_cursor: int = 3 * WAD // 10
    max_incentive: int = 15 * WAD // 100
    max_discount: int = 15 * WAD // 100
    target_health_factor: int = 102 * WAD // 100
    store_front_factor: int = WAD // 2

    @classmethod
    def from_chain(cls, raw: Sequence[int]) -> "LiquidationParams":
        """From `vault.liquidationParams()` (a 7-tuple in IVaultBase.LiquidationParams order)."""
        return cls(*(int(x) for x in raw))

    def as_tuple(self) -> tuple[int, ...]:
        return (self.close_factor, self.full_close_health_factor, self.incentive_cursor, self.max_incentive,
                self.max_discount, self.target_health_factor, self.store_front_factor)

    def error(self) -> str | None:
        """The custom error VaultGovernance.setLiquidationParams reverts with, or None (the bounds, in its order)."""
        if self.close_factor == 0 or self.close_factor > WAD:
            return "CloseFactorOutOfRange"
        if self.full_close_health_factor > WAD:
            return "FullCloseHealthFactorOutOfRange"
        if self.incentive_cursor > WAD:
            return "IncentiveCursorOutOfRange"
        if self.max_incentive > MAX_INCENTIVE:
            return "MaxIncentiveOutOfRange"
        if self.max_discount > MAX_DISCOUNT:
            return "MaxDiscountOutOfRange"
        if not MIN_TARGET_HEALTH_FACTOR <= self.target_health_factor <= MAX_TARGET_HEALTH_FACTOR:
            return "TargetHealthFactorOutOfRange"
        if self.store_front_factor > WAD:
            return "StoreFrontFactorOutOfRange"
        return None


DEFAULT_LIQUIDATION_PARAMS = LiquidationParams()  # a fresh vault's (frozen: safe as a default argument)


def close_factor_max_repay_down(debt: int, health_factor: int, close_factor: int, full_close_health_factor: int) -> int:
    """CloseFactorPolicy.maxRepayDown."""
    return debt if health_factor < full_close_health_factor else w_mul_down(debt, close_factor)


def fixed_incentive_down(asset_weight_maint: int, cursor: int, max_incentive: int) -> int:
    """FixedIncentivePolicy.incentiveDown: min(max, 1 / (1 - cursor (1 - w)) - 1)."""
    incentive = w_div_down(WAD, WAD - w_mul_down(cursor, WAD - asset_weight_maint)) - WAD
    return min(incentive, max_incentive)


def dutch_incentive_down(health_factor: int, max_discount: int) -> int:
    """DutchPolicy.incentiveDown: 1 / max(HF, 1 - maxDiscount) - 1."""
    return w_div_down(WAD, max(health_factor, WAD - max_discount)) - WAD


def dutch_repay_value_to_restore_up(coll_maint: int, debt_maint: int, target: int, incentive: int,
                                    asset_weight_maint: int, liab_weight_maint: int) -> int | None:
    """DutchPolicy.repayValueToRestoreUp; None where the contract returns type(uint256).max (no amount restores)."""
    needed = w_mul_up(debt_maint, target)
    if needed <= coll_maint:
        return 0
    lift = w_mul_down(target, liab_weight_maint)
    loss = w_mul_up(WAD + incentive, asset_weight_maint)
    if lift <= loss:
        return None
    return mul_div_up(needed - coll_maint, WAD, lift - loss)


def liquidation_incentive(policy: Policy, params: LiquidationParams, coll: Params, health_factor: int) -> int:
    """VaultLiquidation._incentive."""
    if policy == Policy.CLOSE_FACTOR:
        return coll.liquidation_bonus
    if policy == Policy.FIXED_INCENTIVE:
        return fixed_incentive_down(coll.asset_weight_maint, params.incentive_cursor, params.max_incentive)
    return dutch_incentive_down(health_factor, params.max_discount)


def liquidation_max_repay(policy: Policy, params: LiquidationParams, debt: int, h: "Health", incentive: int,
                          coll: Params, debt_params: Params, price_debt: int, decimals_debt: int) -> int:
    """VaultLiquidation._maxRepay: the policy's size cap, before the deposit's cap and the dust rule."""
    if policy == Policy.FIXED_INCENTIVE:
        return debt
    if policy == Policy.CLOSE_FACTOR:
        return close_factor_max_repay_down(debt, h.health_factor, params.close_factor, params.full_close_health_factor)
    value = dutch_repay_value_to_restore_up(h.coll_maint, h.debt_maint, params.target_health_factor, incentive,
                                            coll.asset_weight_maint, debt_params.liab_weight_maint)
    if value is None:
        return debt
    return min(mul_div_up(value, 10**decimals_debt, price_debt), debt)


class LiquidationRefused(Exception):
    """The custom error (by name) the vault reverts a liquidation with."""

    def __init__(self, error: str, *args: int) -> None:
        super().__init__(error, *args)
        self.error = error
        self.args_ = args


def cap_by_seizure(repaid: int, held: int, p: Pair) -> tuple[int, int]:
    """VaultLiquidation._capBySeizure: (repaid, seized)."""
    seized = seize_for_repay_down(repaid, p)
    if seized > held:
        seized = held
        repaid = min(repaid, repay_for_seize_up(held, p))
    return repaid, seized


def apply_dust_rule(repaid: int, seized: int, debt: int, held: int, requested: int, p: Pair,
                    min_debt_left: int, min_coll_left: int) -> tuple[int, int]:
    """VaultLiquidation._applyDustRule: (repaid, seized), or LiquidationRefused('LeavesDust', ...)."""
    if repaid == debt or seized == held:
        return repaid, seized
    debt_left = value_up(debt - repaid, p.price_debt, p.decimals_debt)
    coll_left = value_down(held - seized, p.price_coll, p.decimals_coll)
    if debt_left >= min_debt_left and coll_left >= min_coll_left:
        return repaid, seized
    for_all = repay_for_seize_up(held, p)
    closing = for_all if for_all <= debt else debt
    if closing > requested:
        raise LiquidationRefused("LeavesDust", debt_left, coll_left, min_debt_left, min_coll_left)
    if closing == for_all:
        return closing, held
    return closing, min(seize_for_repay_down(closing, p), held)


@dataclass(frozen=True)
class LiquidationQuote:
    repaid: int
    seized: int
    to_liquidator: int
    protocol_cut: int
    incentive: int = 0
    #: collateral value >= debt value x (1 + incentive) before the call: then health may not fall (I9)
    solvent_at_incentive: bool = False
    #: the policy's size cap (before the deposit's cap and the dust rule), for I11/I26 checks
    cap: int = 0


def quote_liquidation(
    *,
    debt: int,
    collateral: int,
    requested: int,
    health: "Health",
    price_debt: int,
    decimals_debt: int,
    price_coll: int,
    decimals_coll: int,
    coll: Params,
    debt_params: Params,
    policy: Policy = Policy.CLOSE_FACTOR,
    params: LiquidationParams = DEFAULT_LIQUIDATION_PARAMS,
    min_debt_left: int = DEFAULT_MIN_DEBT_LEFT_VALUE,
    min_coll_left: int = DEFAULT_MIN_COLLATERAL_LEFT_VALUE,
) -> LiquidationQuote:
    """VaultLiquidation._quoteLiquidation + splitSeized: `debt` and `collateral` are the account's accrued amounts
    and `health` its sums before the call. Raises LiquidationRefused for the quote's own refusals (the checks
    before it -- AccountHealthy, NoDebt, NoCollateral -- are the caller's). The fee-on-transfer adjustment, the
    no-scale-burned check and the health check come after the pull: `received_adjustment`, the caller's books,
    `health_lowered`."""
    if policy == Policy.ABSORB:
        raise LiquidationRefused("WrongLiquidationPolicy", int(policy))
    incentive = liquidation_incentive(policy, params, coll, health.health_factor)
    p = Pair(price_debt, decimals_debt, price_coll, decimals_coll, incentive)
    cap = liquidation_max_repay(policy, params, debt, health, incentive, coll, debt_params, price_debt, decimals_debt)
    repaid, seized = cap_by_seizure(min(requested, cap), collateral, p)
    repaid, seized = apply_dust_rule(repaid, seized, debt, collateral, requested, p, min_debt_left, min_coll_left)
    if repaid == 0 or seized == 0:
        raise LiquidationRefused("NothingToLiquidate", repaid, seized)
    to_liq, cut = split_seized(seized, incentive, coll.protocol_share)
    solvent = health.collateral_value >= w_mul_up(health.debt_value, WAD + incentive)
    return LiquidationQuote(repaid, seized, to_liq, cut, incentive, solvent, cap)


def received_adjustment(q: LiquidationQuote, received: int, held: int, p: Pair, protocol_share: int,
                        left_owing_with_nothing_else: bool) -> LiquidationQuote:
    """VaultLiquidation._executeLiquidation for a fee-on-transfer debt token that delivered `received` < q.repaid:
    the liquidator is paid for what arrived; the collateral the fee did not pay for stays with the account unless
    the quote took the whole deposit and the account is left owing with no other collateral (then: reserves)."""
    if received >= q.repaid:
        return q
    seized = min(seize_for_repay_down(received, p), q.seized)
    if received == 0 or seized == 0:
        raise LiquidationRefused("NothingToLiquidate", received, seized)
    to_liq, cut = split_seized(seized, p.bonus, protocol_share)
    if seized < q.seized and q.seized == held and left_owing_with_nothing_else:
        cut += held - seized
        seized = held
    return LiquidationQuote(received, seized, to_liq, cut, q.incentive, q.solvent_at_incentive, q.cap)


def health_lowered(q: LiquidationQuote, before: "Health", after: "Health") -> bool:
    """The I9 refusal: HealthFactorNotImproved when health falls while the account could pay the incentive."""
    return after.health_factor < before.health_factor and q.solvent_at_incentive


# ------------------------------------------------------------------ absorb and buyCollateral (VaultLiquidation)
def store_front_incentive_down(store_front_factor: int, liquidation_bonus: int) -> int:
    """buyCollateral's incentive: storeFrontFactor x the collateral's bonus, rounded down."""
    return w_mul_down(store_front_factor, liquidation_bonus)


@dataclass(frozen=True)
class Purchase:
    paid: int
    bought: int


def quote_buy_collateral(pay_amount: int, held: int, p: Pair, received=None) -> Purchase:
    """VaultLiquidation.buyCollateral's amounts: `p.bonus` is the store-front incentive, `held` the protocol's
    absorbed collateral; `received` (amount -> arrived) for a fee-on-transfer pay token."""
    paid = pay_amount
    bought = seize_for_repay_down(paid, p)
    if bought > held:
        bought = held
        paid = min(paid, repay_for_seize_up(held, p))
    arrived = received(paid) if received else paid
    if arrived < paid:
        paid = arrived
        bought = min(bought, seize_for_repay_down(arrived, p))
    return Purchase(paid, bought)
