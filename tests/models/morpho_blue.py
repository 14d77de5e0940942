"""An integer-exact model of Morpho Blue 1.0.0's math, written from its Solidity (``src/Morpho.sol`` and
``src/libraries/{MathLib,SharesMathLib,UtilsLib,ConstantsLib,MarketParamsLib}.sol`` in
``node_modules/@morpho-org/morpho-blue``), not from marginlab's adapter code: the chain tests compare Morpho and
our peer contracts with this, never with values our own contracts compute.

Every function names the Solidity it mirrors and keeps its rounding and its order of operations. Pure Python ints;
Solidity's checked arithmetic is modelled where Morpho can hit it (a uint256 product overflowing in ``mulDiv``, a
uint128 storage field under- or overflowing, ``toUint128``), raising :class:`MorphoRevert` with the reason the
contract gives (an ``ErrorsLib`` message, or ``Panic(0x11)``/``Panic(0x12)``).

Layers:

- math helpers (``mul_div_down`` … ``to_assets_up``), each a one-liner of ``MathLib``/``SharesMathLib``;
- values: :class:`Market` (Morpho's ``Market`` struct) and :class:`Position`, immutable;
- one function per ``Morpho.sol`` operation on those values (``accrue_interest``, ``supply``, ``borrow``,
  ``repay``, ``supply_collateral``, ``liquidate``) returning the new values, after Morpho's own checks;
- :class:`MorphoMarket`, a small stateful wrapper holding one market's totals and positions that accrues before
  each operation as ``Morpho.sol`` does, so a test can run the same sequence on the chain and here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from eth_abi import encode as abi_encode
from eth_utils import keccak

# ------------------------------------------------------------------ ConstantsLib.sol, MathLib.sol, SharesMathLib.sol
WAD = 10**18
#: ConstantsLib.MAX_FEE (25 %).
MAX_FEE = 25 * 10**16
#: ConstantsLib.ORACLE_PRICE_SCALE.
ORACLE_PRICE_SCALE = 10**36
#: ConstantsLib.LIQUIDATION_CURSOR (0.3).
LIQUIDATION_CURSOR = 3 * 10**17
#: ConstantsLib.MAX_LIQUIDATION_INCENTIVE_FACTOR (1.15).
MAX_LIQUIDATION_INCENTIVE_FACTOR = 115 * 10**16
#: SharesMathLib.VIRTUAL_SHARES.
VIRTUAL_SHARES = 10**6
#: SharesMathLib.VIRTUAL_ASSETS.
VIRTUAL_ASSETS = 1
UINT128_MAX = 2**128 - 1
UINT256_MAX = 2**256 - 1

# ErrorsLib.sol messages the model can raise.
INCONSISTENT_INPUT = "inconsistent input"
ZERO_ASSETS = "zero assets"
INSUFFICIENT_COLLATERAL = "insufficient collateral"
INSUFFICIENT_LIQUIDITY = "insufficient liquidity"
HEALTHY_POSITION = "position is healthy"
MAX_UINT128_EXCEEDED = "max uint128 exceeded"
MAX_FEE_EXCEEDED = "max fee exceeded"
MAX_LLTV_EXCEEDED = "max LLTV exceeded"
PANIC_ARITHMETIC = "Panic(0x11)"
PANIC_DIVISION_BY_ZERO = "Panic(0x12)"


class MorphoRevert(Exception):
    """Morpho would revert: ``reason`` is its ``ErrorsLib`` message or ``Panic(0x..)``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _u256(x: int) -> int:
    """A checked uint256 result (Solidity >= 0.8 reverts with Panic(0x11) on overflow)."""
    if not 0 <= x <= UINT256_MAX:
        raise MorphoRevert(PANIC_ARITHMETIC)
    return x


def _u128(x: int) -> int:
    """A checked uint128 storage result (``+=``/``-=`` on a uint128 field)."""
    if not 0 <= x <= UINT128_MAX:
        raise MorphoRevert(PANIC_ARITHMETIC)
    return x


def _div(x: int, d: int) -> int:
    if d == 0:
        raise MorphoRevert(PANIC_DIVISION_BY_ZERO)
    return x // d


def to_uint128(x: int) -> int:
    """``UtilsLib.toUint128``: ``x`` if it fits in 128 bits, else revert "max uint128 exceeded"."""
    if x > UINT128_MAX:
        raise MorphoRevert(MAX_UINT128_EXCEEDED)
    return x


def zero_floor_sub(x: int, y: int) -> int:
    """``UtilsLib.zeroFloorSub``: max(0, x - y)."""
    return x - y if x > y else 0


def exactly_one_zero(x: int, y: int) -> bool:
    """``UtilsLib.exactlyOneZero``."""
    return (x == 0) != (y == 0)


def mul_div_down(x: int, y: int, d: int) -> int:
    """``MathLib.mulDivDown``: (x * y) / d, the product checked against uint256 (no 512-bit intermediate)."""
    return _div(_u256(x * y), d)


def mul_div_up(x: int, y: int, d: int) -> int:
    """``MathLib.mulDivUp``: (x * y + (d - 1)) / d, checked."""
    return _div(_u256(_u256(x * y) + _u256(d - 1)), d)


def w_mul_down(x: int, y: int) -> int:
    """``MathLib.wMulDown``: x * y / WAD rounded down."""
    return mul_div_down(x, y, WAD)


def w_div_down(x: int, y: int) -> int:
    """``MathLib.wDivDown``: x * WAD / y rounded down."""
    return mul_div_down(x, WAD, y)


def w_div_up(x: int, y: int) -> int:
    """``MathLib.wDivUp``: x * WAD / y rounded up."""
    return mul_div_up(x, WAD, y)


def w_taylor_compounded(x: int, n: int) -> int:
    """``MathLib.wTaylorCompounded``: e^(x n) - 1 to three terms, x a per-second WAD rate, n seconds."""
    first = _u256(x * n)
    second = mul_div_down(first, first, 2 * WAD)
    third = mul_div_down(second, first, 3 * WAD)
    return _u256(first + second + third)


def to_shares_down(assets: int, total_assets: int, total_shares: int) -> int:
    """``SharesMathLib.toSharesDown``."""
    return mul_div_down(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_shares_up(assets: int, total_assets: int, total_shares: int) -> int:
    """``SharesMathLib.toSharesUp``."""
    return mul_div_up(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_assets_down(shares: int, total_assets: int, total_shares: int) -> int:
    """``SharesMathLib.toAssetsDown``."""
    return mul_div_down(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    """``SharesMathLib.toAssetsUp``."""
    return mul_div_up(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


# ------------------------------------------------------------------ values
@dataclass(frozen=True)
class MarketParams:
    """``IMorpho.MarketParams``."""
    loan_token: str
    collateral_token: str
    oracle: str
    irm: str
    lltv: int

    def as_tuple(self) -> tuple[str, str, str, str, int]:
        """The ABI tuple (for web3 calls)."""
        return (self.loan_token, self.collateral_token, self.oracle, self.irm, self.lltv)

    def id(self) -> bytes:
        """``MarketParamsLib.id``: keccak256 of the five 32-byte words."""
        return keccak(abi_encode(["address", "address", "address", "address", "uint256"], list(self.as_tuple())))


@dataclass(frozen=True)
class Market:
    """``IMorpho.Market``: one market's totals, last accrual time and fee."""
    total_supply_assets: int = 0
    total_supply_shares: int = 0
    total_borrow_assets: int = 0
    total_borrow_shares: int = 0
    last_update: int = 0
    fee: int = 0

    @classmethod
    def from_tuple(cls, t: tuple[int, ...] | list[int]) -> Market:
        """From Morpho's ``market(id)`` getter (the struct's field order)."""
        return cls(*(int(v) for v in t))


@dataclass(frozen=True)
class Position:
    """``IMorpho.Position``: one user's shares and collateral in one market."""
    supply_shares: int = 0
    borrow_shares: int = 0
    collateral: int = 0

    @classmethod
    def from_tuple(cls, t: tuple[int, ...] | list[int]) -> Position:
        """From Morpho's ``position(id, user)`` getter."""
        return cls(*(int(v) for v in t))


# ------------------------------------------------------------------ interest (Morpho._accrueInterest)
@dataclass(frozen=True)
class Accrual:
    """What ``Morpho._accrueInterest`` did: the new market, the interest added to both totals, and the supply
    shares minted to the fee recipient."""
    market: Market
    interest: int
    fee_shares: int


def accrue_interest(market: Market, borrow_rate: int | None, now: int) -> Accrual:
    """``Morpho._accrueInterest``: nothing if no time elapsed; otherwise, unless the market has no IRM
    (``borrow_rate`` None), interest = totalBorrowAssets.wMulDown(rate.wTaylorCompounded(elapsed)) added to both
    totals, and the fee part of it minted as supply shares (priced against the supply *before* the fee) to the fee
    recipient; lastUpdate = now.

    ``borrow_rate`` is what the IRM's ``borrowRate(marketParams, market)`` returns for the market *before* accrual
    (Morpho calls it whenever time elapsed, even with no borrows).
    """
    elapsed = _u256(now - market.last_update)
    if elapsed == 0:
        return Accrual(market, 0, 0)
    interest = fee_shares = 0
    if borrow_rate is not None:
        interest = w_mul_down(market.total_borrow_assets, w_taylor_compounded(borrow_rate, elapsed))
        market = replace(market,
                         total_borrow_assets=_u128(market.total_borrow_assets + to_uint128(interest)),
                         total_supply_assets=_u128(market.total_supply_assets + to_uint128(interest)))
        if market.fee != 0:
            fee_amount = w_mul_down(interest, market.fee)
            fee_shares = to_shares_down(fee_amount, market.total_supply_assets - fee_amount,
                                        market.total_supply_shares)
            market = replace(market, total_supply_shares=_u128(market.total_supply_shares + to_uint128(fee_shares)))
    return Accrual(replace(market, last_update=now), interest, fee_shares)


# ------------------------------------------------------------------ health (Morpho._isHealthy)
def borrowed_assets(position: Position, market: Market) -> int:
    """The borrower's debt as ``_isHealthy`` counts it: borrowShares.toAssetsUp(totalBorrowAssets, totalBorrowShares)."""
    return to_assets_up(position.borrow_shares, market.total_borrow_assets, market.total_borrow_shares)


def max_borrow(collateral: int, price: int, lltv: int) -> int:
    """``_isHealthy``'s maxBorrow: collateral.mulDivDown(price, ORACLE_PRICE_SCALE).wMulDown(lltv)."""
    return w_mul_down(mul_div_down(collateral, price, ORACLE_PRICE_SCALE), lltv)


def is_healthy(position: Position, market: Market, price: int, lltv: int) -> bool:
    """``Morpho._isHealthy(marketParams, id, borrower, collateralPrice)``: maxBorrow >= borrowed (no borrow shares:
    healthy whatever the price, as the 3-argument overload returns before reading the oracle)."""
    if position.borrow_shares == 0:
        return True
    return max_borrow(position.collateral, price, lltv) >= borrowed_assets(position, market)


def health_factor(position: Position, market: Market, price: int, lltv: int) -> int:
    """maxBorrow / borrowed in WAD, rounded down (Morpho's documented health factor; it is not in the contract):
    >= 1e18 exactly when :func:`is_healthy`. ``UINT256_MAX`` without debt."""
    borrowed = borrowed_assets(position, market)
    if borrowed == 0:
        return UINT256_MAX
    return w_div_down(max_borrow(position.collateral, price, lltv), borrowed)


def liquidation_incentive_factor(lltv: int) -> int:
    """``Morpho.liquidate``: min(MAX_LIQUIDATION_INCENTIVE_FACTOR, WAD.wDivDown(WAD - CURSOR.wMulDown(WAD - lltv)))."""
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR, w_div_down(WAD, WAD - w_mul_down(LIQUIDATION_CURSOR, WAD - lltv)))


# ------------------------------------------------------------------ operations (Morpho.sol, after accrual)
def supply(market: Market, position: Position, assets: int, shares: int) -> tuple[Market, Position, int, int]:
    """``Morpho.supply`` after ``_accrueInterest``: assets → shares rounded down, or shares → assets rounded up.
    Returns (market, position, assets, shares)."""
    if not exactly_one_zero(assets, shares):
        raise MorphoRevert(INCONSISTENT_INPUT)
    if assets > 0:
        shares = to_shares_down(assets, market.total_supply_assets, market.total_supply_shares)
    else:
        assets = to_assets_up(shares, market.total_supply_assets, market.total_supply_shares)
    position = replace(position, supply_shares=_u256(position.supply_shares + shares))
    market = replace(market, total_supply_shares=_u128(market.total_supply_shares + to_uint128(shares)),
                     total_supply_assets=_u128(market.total_supply_assets + to_uint128(assets)))
    return market, position, assets, shares


def borrow(market: Market, position: Position, assets: int, shares: int, price: int,
           lltv: int) -> tuple[Market, Position, int, int]:
    """``Morpho.borrow`` after ``_accrueInterest``: assets → shares rounded up, or shares → assets rounded down;
    then the position must be healthy at ``price`` and borrows must not exceed supply.
    Returns (market, position, assets, shares)."""
    if not exactly_one_zero(assets, shares):
        raise MorphoRevert(INCONSISTENT_INPUT)
    if assets > 0:
        shares = to_shares_up(assets, market.total_borrow_assets, market.total_borrow_shares)
    else:
        assets = to_assets_down(shares, market.total_borrow_assets, market.total_borrow_shares)
    position = replace(position, borrow_shares=_u128(position.borrow_shares + to_uint128(shares)))
    market = replace(market, total_borrow_shares=_u128(market.total_borrow_shares + to_uint128(shares)),
                     total_borrow_assets=_u128(market.total_borrow_assets + to_uint128(assets)))
    if not is_healthy(position, market, price, lltv):
        raise MorphoRevert(INSUFFICIENT_COLLATERAL)
    if market.total_borrow_assets > market.total_supply_assets:
        raise MorphoRevert(INSUFFICIENT_LIQUIDITY)
    return market, position, assets, shares


def repay(market: Market, position: Position, assets: int, shares: int) -> tuple[Market, Position, int, int]:
    """``Morpho.repay`` after ``_accrueInterest``: assets → shares rounded down, or shares → assets rounded up;
    totalBorrowAssets floors at 0 (the repaid assets may exceed it by 1). Returns (market, position, assets, shares)."""
    if not exactly_one_zero(assets, shares):
        raise MorphoRevert(INCONSISTENT_INPUT)
    if assets > 0:
        shares = to_shares_down(assets, market.total_borrow_assets, market.total_borrow_shares)
    else:
        assets = to_assets_up(shares, market.total_borrow_assets, market.total_borrow_shares)
    position = replace(position, borrow_shares=_u128(position.borrow_shares - to_uint128(shares)))
    market = replace(market, total_borrow_shares=_u128(market.total_borrow_shares - to_uint128(shares)),
                     total_borrow_assets=to_uint128(zero_floor_sub(market.total_borrow_assets, assets)))
    return market, position, assets, shares


def supply_collateral(position: Position, assets: int) -> Position:
    """``Morpho.supplyCollateral`` (no accrual: Morpho skips it here)."""
    if assets == 0:
        raise MorphoRevert(ZERO_ASSETS)
    return replace(position, collateral=_u128(position.collateral + to_uint128(assets)))


@dataclass(frozen=True)
class Liquidation:
    """The outcome of ``Morpho.liquidate``: new market and borrower position, what the liquidator receives
    (``seized_assets`` of collateral) and pays (``repaid_assets`` of loan token, for ``repaid_shares``), and the bad
    debt removed from both totals when the borrower's collateral reached 0 (the ``Liquidate`` event's fields)."""
    market: Market
    position: Position
    seized_assets: int
    repaid_assets: int
    repaid_shares: int
    bad_debt_assets: int
    bad_debt_shares: int


def liquidate(market: Market, position: Position, price: int, lltv: int, seized_assets: int = 0,
              repaid_shares: int = 0) -> Liquidation:
    """``Morpho.liquidate`` after ``_accrueInterest`` (``market`` already accrued), at oracle ``price``.

    Exactly one of ``seized_assets`` (collateral to take: the repaid shares follow, rounded up) and
    ``repaid_shares`` (debt shares to repay: the seized collateral follows, rounded down) is non-zero. The position
    must be unhealthy. If the borrower's collateral reaches 0, its remaining borrow shares are bad debt: their
    assets (rounded up, at most totalBorrowAssets) leave both totalBorrowAssets and totalSupplyAssets, and the
    shares leave totalBorrowShares — suppliers absorb the loss.
    """
    if not exactly_one_zero(seized_assets, repaid_shares):
        raise MorphoRevert(INCONSISTENT_INPUT)
    # The 4-argument _isHealthy: no early return for a position without borrow shares (it is healthy anyway).
    if max_borrow(position.collateral, price, lltv) >= borrowed_assets(position, market):
        raise MorphoRevert(HEALTHY_POSITION)
    lif = liquidation_incentive_factor(lltv)
    tba, tbs = market.total_borrow_assets, market.total_borrow_shares
    if seized_assets > 0:
        seized_quoted = mul_div_up(seized_assets, price, ORACLE_PRICE_SCALE)
        repaid_shares = to_shares_up(w_div_up(seized_quoted, lif), tba, tbs)
    else:
        seized_assets = mul_div_down(w_mul_down(to_assets_down(repaid_shares, tba, tbs), lif), ORACLE_PRICE_SCALE,
                                     price)
    repaid_assets = to_assets_up(repaid_shares, tba, tbs)

    borrow_shares = _u128(position.borrow_shares - to_uint128(repaid_shares))
    tbs = _u128(tbs - to_uint128(repaid_shares))
    tba = to_uint128(zero_floor_sub(tba, repaid_assets))
    collateral = _u128(position.collateral - to_uint128(seized_assets))
    tsa = market.total_supply_assets

    bad_debt_shares = bad_debt_assets = 0
    if collateral == 0:
        bad_debt_shares = borrow_shares
        bad_debt_assets = min(tba, to_assets_up(bad_debt_shares, tba, tbs))
        tba = _u128(tba - to_uint128(bad_debt_assets))
        tsa = _u128(tsa - to_uint128(bad_debt_assets))
        tbs = _u128(tbs - to_uint128(bad_debt_shares))
        borrow_shares = 0

    market = replace(market, total_borrow_assets=tba, total_borrow_shares=tbs, total_supply_assets=tsa)
    position = replace(position, borrow_shares=borrow_shares, collateral=collateral)
    return Liquidation(market, position, seized_assets, repaid_assets, repaid_shares, bad_debt_assets,
                       bad_debt_shares)


# ------------------------------------------------------------------ one market, statefully
RateFn = Callable[[Market], int]


@dataclass
class MorphoMarket:
    """One Morpho market and its positions, updated as ``Morpho.sol`` updates them: every operation that accrues
    on chain accrues here first, at ``now`` (the block timestamp), with ``rate(market)`` standing for the IRM's
    ``borrowRate`` (None: a market without IRM). Fee shares go to ``fee_recipient``'s position."""
    lltv: int
    rate: RateFn | None
    market: Market
    fee_recipient: str = "0x" + "00" * 20
    positions: dict[str, Position] = field(default_factory=dict)

    @classmethod
    def create(cls, lltv: int, rate: RateFn | None, now: int, fee_recipient: str = "0x" + "00" * 20) -> MorphoMarket:
        """``Morpho.createMarket``: an empty market whose lastUpdate is ``now``."""
        if lltv >= WAD:
            raise MorphoRevert(MAX_LLTV_EXCEEDED)
        return cls(lltv, rate, Market(last_update=now), fee_recipient)

    def position(self, user: str) -> Position:
        return self.positions.get(user.lower(), Position())

    def _set(self, user: str, position: Position) -> None:
        self.positions[user.lower()] = position

    def accrue(self, now: int) -> Accrual:
        """``Morpho.accrueInterest`` / ``_accrueInterest``."""
        if now == self.market.last_update:  # Morpho returns before calling the IRM
            return Accrual(self.market, 0, 0)
        accrual = accrue_interest(self.market, self.rate(self.market) if self.rate is not None else None, now)
        self.market = accrual.market
        if accrual.fee_shares:
            fee = self.position(self.fee_recipient)
            self._set(self.fee_recipient, replace(fee, supply_shares=fee.supply_shares + accrual.fee_shares))
        return accrual

    def set_fee(self, now: int, fee: int) -> None:
        """``Morpho.setFee``: accrue with the previous fee, then set the new one."""
        if fee > MAX_FEE:
            raise MorphoRevert(MAX_FEE_EXCEEDED)
        self.accrue(now)
        self.market = replace(self.market, fee=fee)

    def supply(self, now: int, user: str, assets: int = 0, shares: int = 0) -> tuple[int, int]:
        """``Morpho.supply`` on behalf of ``user``: returns (assets, shares)."""
        if not exactly_one_zero(assets, shares):
            raise MorphoRevert(INCONSISTENT_INPUT)
        self.accrue(now)
        self.market, position, assets, shares = supply(self.market, self.position(user), assets, shares)
        self._set(user, position)
        return assets, shares

    def supply_collateral(self, user: str, assets: int) -> None:
        """``Morpho.supplyCollateral`` (no accrual)."""
        self._set(user, supply_collateral(self.position(user), assets))

    def borrow(self, now: int, user: str, price: int, assets: int = 0, shares: int = 0) -> tuple[int, int]:
        """``Morpho.borrow`` by ``user`` for itself at oracle ``price``: returns (assets, shares)."""
        if not exactly_one_zero(assets, shares):
            raise MorphoRevert(INCONSISTENT_INPUT)
        self.accrue(now)
        market, position, assets, shares = borrow(self.market, self.position(user), assets, shares, price, self.lltv)
        self.market = market
        self._set(user, position)
        return assets, shares

    def repay(self, now: int, user: str, assets: int = 0, shares: int = 0) -> tuple[int, int]:
        """``Morpho.repay`` on behalf of ``user``: returns (assets, shares)."""
        if not exactly_one_zero(assets, shares):
            raise MorphoRevert(INCONSISTENT_INPUT)
        self.accrue(now)
        self.market, position, assets, shares = repay(self.market, self.position(user), assets, shares)
        self._set(user, position)
        return assets, shares

    def liquidate(self, now: int, borrower: str, price: int, seized_assets: int = 0,
                  repaid_shares: int = 0) -> Liquidation:
        """``Morpho.liquidate`` of ``borrower`` at oracle ``price``."""
        if not exactly_one_zero(seized_assets, repaid_shares):
            raise MorphoRevert(INCONSISTENT_INPUT)
        self.accrue(now)
        result = liquidate(self.market, self.position(borrower), price, self.lltv, seized_assets, repaid_shares)
        self.market = result.market
        self._set(borrower, result.position)
        return result

    def expected(self, now: int) -> Accrual:
        """The market as accruing at ``now`` would leave it, without changing this model. Its totals are what
        ``MorphoBalancesLib.expectedMarketBalances`` returns (which skips the IRM without borrows: the interest
        would be 0 anyway); its ``last_update`` is ``now``, where the stored one stays until an accrual."""
        if self.rate is None or self.market.total_borrow_assets == 0 or now == self.market.last_update:
            return Accrual(replace(self.market, last_update=now), 0, 0)
        return accrue_interest(self.market, self.rate(self.market), now)
