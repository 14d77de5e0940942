"""The few of Morpho Blue's formulas the adapter needs to read positions and size liquidations, with Morpho's own
rounding (``MathLib``, ``SharesMathLib``, ``Morpho.liquidate``). The tests hold the adapter against an
independent model of Morpho (tests/models/morpho_blue.py), never against these."""
from __future__ import annotations

WAD = 10**18
ORACLE_PRICE_SCALE = 10**36
VIRTUAL_SHARES = 10**6
VIRTUAL_ASSETS = 1
MAX_LIQUIDATION_INCENTIVE_FACTOR = 115 * WAD // 100
LIQUIDATION_CURSOR = 3 * WAD // 10
MAX_FEE = WAD // 4


def mul_div_down(x: int, y: int, d: int) -> int:
    return x * y // d


def mul_div_up(x: int, y: int, d: int) -> int:
    return (x * y + d - 1) // d


def to_assets_down(shares: int, total_assets: int, total_shares: int) -> int:
    return mul_div_down(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    return mul_div_up(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def to_shares_down(assets: int, total_assets: int, total_shares: int) -> int:
    return mul_div_down(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def max_borrow(collateral: int, price: int, lltv: int) -> int:
    """``collateral.mulDivDown(price, ORACLE_PRICE_SCALE).wMulDown(lltv)``: what a position may owe."""
    return mul_div_down(mul_div_down(collateral, price, ORACLE_PRICE_SCALE), lltv, WAD)


def incentive_factor(lltv: int) -> int:
    """Morpho's liquidation incentive factor: ``min(1.15, 1 / (1 - 0.3 (1 - lltv)))`` in WAD, rounded as Morpho."""
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR,
               mul_div_down(WAD, WAD, WAD - mul_div_down(LIQUIDATION_CURSOR, WAD - lltv, WAD)))


def to_shares_up(assets: int, total_assets: int, total_shares: int) -> int:
    return mul_div_up(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def seized_for_shares(repaid_shares: int, total_borrow_assets: int, total_borrow_shares: int, price: int,
                      lif: int) -> int:
    """Collateral ``liquidate`` seizes when it is given ``repaidShares`` (its second input mode)."""
    repaid = to_assets_down(repaid_shares, total_borrow_assets, total_borrow_shares)
    return mul_div_down(mul_div_down(repaid, lif, WAD), ORACLE_PRICE_SCALE, price)


def shares_for_seized(seized: int, total_borrow_assets: int, total_borrow_shares: int, price: int, lif: int) -> int:
    """Borrow shares ``liquidate`` repays when it is given ``seizedAssets`` (its first input mode)."""
    quoted = mul_div_up(seized, price, ORACLE_PRICE_SCALE)
    return to_shares_up(mul_div_up(quoted, WAD, lif), total_borrow_assets, total_borrow_shares)


def largest_liquidation(collateral: int, borrow_shares: int, total_borrow_assets: int, total_borrow_shares: int,
                        price: int, lif: int) -> tuple[int, int]:
    """``(seizedAssets, repaidShares)`` of the largest liquidation Morpho accepts on a position, as a liquidator
    sizes it: repay every share if that seizes no more collateral than there is, else seize all the collateral
    (which realises the rest as bad debt). Exactly one of the two is non-zero; (0, 0) when nothing can be done."""
    if price == 0 or borrow_shares == 0:
        return (0, 0)
    if seized_for_shares(borrow_shares, total_borrow_assets, total_borrow_shares, price, lif) <= collateral:
        return (0, borrow_shares)
    if collateral > 0 and shares_for_seized(collateral, total_borrow_assets, total_borrow_shares, price,
                                            lif) <= borrow_shares:
        return (collateral, 0)
    # Rounding at the boundary: repay a little less than every share.
    shares = borrow_shares
    while shares > 0 and seized_for_shares(shares, total_borrow_assets, total_borrow_shares, price, lif) > collateral:
        shares -= max(1, shares // 10**6)
    return (0, shares) if shares > 0 else (0, 0)
