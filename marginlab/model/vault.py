"""Integer-exact model of the Vault's math (contracts/libraries/*.sol, VaultCore.sol, Vault.sol and its modules
VaultLiquidation.sol and VaultGovernance.sol).

Every function mirrors one Solidity helper to the wei, with the same rounding, so tests assert
`contract == model` instead of approximate numbers (the Curve `simulation.py` pattern). Pure Python: no chain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Iterable, Sequence

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

    def write_off(self, key) -> "WriteOff":
        """VaultLiquidation._settleBadDebt for one debt: reserves cover first, the rest lowers the deposit index
        (nothing is socialised when no deposit scale is left to bear it)."""
        scale = -self.balances.get(key, 0)
        assert scale > 0, "write_off of a sub-account that does not owe"
        debt = debt_amount_up(scale, self.borrow_index)
        covered = min(debt, self.reserves)
        socialised = debt - covered
        self.reserves -= covered
        self.total_borrow_scale -= scale
        self.balances[key] = 0
        if socialised:
            if self.total_deposit_scale == 0:
                socialised = 0
            else:
                self.deposit_index = socialise(self.deposit_index, self.total_deposit_scale, socialised)
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
