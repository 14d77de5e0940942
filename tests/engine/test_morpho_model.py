"""The integer model of Morpho Blue (tests/models/morpho_blue.py) on hand-computed cases, without a chain:
`python -m pytest -p no:pytest-brownie tests/engine/test_morpho_model.py`. The chain tests
(tests/integration/test_morpho_blue_contracts.py) then hold Morpho itself equal to this model to the wei.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models import morpho_blue as mb  # noqa: E402
from models.morpho_blue import Market, MorphoMarket, MorphoRevert, Position  # noqa: E402
from proptest import property_settings  # noqa: E402

WAD = 10**18
E36 = 10**36
LLTV_80 = 80 * WAD // 100


# ------------------------------------------------------------------ MathLib, SharesMathLib
def test_mul_div_rounds_down_and_up():
    assert (mb.mul_div_down(7, 3, 2), mb.mul_div_up(7, 3, 2)) == (10, 11)
    assert (mb.mul_div_down(6, 3, 2), mb.mul_div_up(6, 3, 2)) == (9, 9)
    assert mb.mul_div_up(0, 5, 3) == 0


def test_mul_div_overflows_like_checked_solidity_rather_than_using_512_bits():
    with pytest.raises(MorphoRevert, match=r"Panic\(0x11\)"):
        mb.mul_div_down(2**255, 2, 4)
    with pytest.raises(MorphoRevert, match=r"Panic\(0x12\)"):
        mb.mul_div_down(1, 1, 0)


def test_wad_helpers():
    assert mb.w_mul_down(3 * WAD // 2, 3) == 4  # 4.5 down
    assert mb.w_div_down(1, 3) == 333_333_333_333_333_333
    assert mb.w_div_up(1, 3) == 333_333_333_333_333_334


def test_taylor_compounding_keeps_three_terms_each_rounded_down():
    # x n = 0.1: 0.1 + 0.1²/2 (0.005) + 0.005 × 0.1 / 3 (0.000166…, floored) — e^0.1 - 1 is 0.10517091…
    assert mb.w_taylor_compounded(WAD // 10, 1) == 100_000_000_000_000_000 + 5_000_000_000_000_000 + \
        166_666_666_666_666
    # 1e9 per second for 1000 s: 1e12 + (1e12)² / 2e18 = 5e5, third term 5e5 × 1e12 / 3e18 < 1 → 0
    assert mb.w_taylor_compounded(10**9, 1000) == 1_000_000_500_000
    assert mb.w_taylor_compounded(10**9, 0) == 0


def test_first_supply_gets_a_million_shares_per_asset_through_the_virtual_shares():
    assert mb.to_shares_down(WAD, 0, 0) == WAD * 10**6
    assert mb.to_assets_up(WAD * 10**6, WAD, WAD * 10**6) == WAD  # (1e24+1e6) × 1e18 = 1e42 + 1e24 exactly
    assert (mb.to_assets_down(1, 0, 0), mb.to_assets_up(1, 0, 0)) == (0, 1)
    # 1001 assets over 1001e6 shares (1000 + the virtual asset over 1000e6 + the virtual shares): 1 asset = 1e6
    assert mb.to_shares_up(113, 1000, 1000 * 10**6) == 113 * 10**6
    assert mb.to_assets_down(100 * 10**6, 1000, 1000 * 10**6) == 100


# ------------------------------------------------------------------ _accrueInterest
def test_accrual_adds_interest_to_both_totals_and_mints_the_fee_as_shares_priced_before_the_fee():
    market = Market(total_supply_assets=2 * WAD, total_supply_shares=2 * WAD * 10**6, total_borrow_assets=WAD,
                    total_borrow_shares=WAD * 10**6, last_update=0, fee=WAD // 10)
    accrual = mb.accrue_interest(market, 10**9, 1000)
    interest = 1_000_000_500_000  # 1e18 × wTaylorCompounded(1e9, 1000) / 1e18
    fee_amount = 100_000_050_000  # 10 % of it, down
    fee_shares = fee_amount * (2 * WAD * 10**6 + 10**6) // (2 * WAD + interest - fee_amount + 1)
    assert (accrual.interest, accrual.fee_shares) == (interest, fee_shares)
    assert accrual.market == Market(2 * WAD + interest, 2 * WAD * 10**6 + fee_shares, WAD + interest,
                                    WAD * 10**6, 1000, WAD // 10)


def test_accrual_without_elapsed_time_or_irm_changes_nothing_but_the_clock():
    market = Market(100, 100 * 10**6, 50, 50 * 10**6, 7, 0)
    assert mb.accrue_interest(market, 10**12, 7) == mb.Accrual(market, 0, 0)
    assert mb.accrue_interest(market, None, 9) == mb.Accrual(Market(100, 100 * 10**6, 50, 50 * 10**6, 9, 0), 0, 0)


def test_the_fee_recipient_receives_the_fee_shares_in_the_stateful_model():
    m = MorphoMarket.create(LLTV_80, rate=lambda market: 10**9, now=0, fee_recipient="0xFEE")
    m.set_fee(0, WAD // 10)
    m.supply(0, "0xA", assets=2 * WAD)
    m.supply_collateral("0xB", 10 * WAD)
    m.borrow(0, "0xB", price=E36, assets=WAD)
    accrual = m.accrue(1000)
    assert accrual.fee_shares > 0
    assert m.position("0xfee").supply_shares == accrual.fee_shares
    assert m.position("0xA").supply_shares + accrual.fee_shares == m.market.total_supply_shares


# ------------------------------------------------------------------ _isHealthy
def test_max_borrow_is_collateral_times_price_over_1e36_times_lltv():
    # 1 collateral at 2000 loan units (both 18 decimals): 2000e18 × 0.8 = 1600e18
    assert mb.max_borrow(WAD, 2000 * E36, LLTV_80) == 1600 * WAD
    # 6-decimal loan token, 18-decimal collateral at 2000: price = 2000 × 1e36 × 1e6 / 1e18
    assert mb.max_borrow(WAD, 2000 * 10**24, LLTV_80) == 1600 * 10**6


def test_a_debt_of_exactly_max_borrow_is_healthy_and_one_wei_of_interest_tips_it_over():
    position = Position(0, 1600 * WAD * 10**6, WAD)  # 1 collateral at 2000: maxBorrow 1600e18
    exact = Market(2000 * WAD, 2000 * WAD * 10**6, 1600 * WAD, 1600 * WAD * 10**6, 0, 0)
    assert mb.borrowed_assets(position, exact) == 1600 * WAD  # (1600e18 + 1) / (1600e24 + 1e6) is exactly 1e-6
    assert mb.is_healthy(position, exact, 2000 * E36, LLTV_80)
    assert mb.health_factor(position, exact, 2000 * E36, LLTV_80) == WAD
    accrued = Market(2000 * WAD + 1, 2000 * WAD * 10**6, 1600 * WAD + 1, 1600 * WAD * 10**6, 0, 0)
    # 1600e24 × (1600e18 + 2) / (1600e24 + 1e6) = (1600e18 + 2)(1 - 6.25e-22) = 1600e18 + 1 - 1.25e-21 → up
    assert mb.borrowed_assets(position, accrued) == 1600 * WAD + 1
    assert not mb.is_healthy(position, accrued, 2000 * E36, LLTV_80)
    assert mb.health_factor(position, accrued, 2000 * E36, LLTV_80) == WAD - 1
    # 2000 + 1e-15 per collateral: maxBorrow + 8e2 wei covers it again
    assert mb.is_healthy(position, accrued, 2000 * E36 + 10**21, LLTV_80)


def test_no_debt_is_healthy_at_any_price_with_an_infinite_health_factor():
    market = Market(1000, 1000 * 10**6, 0, 0, 0, 0)
    assert mb.is_healthy(Position(0, 0, 0), market, 0, LLTV_80)
    assert mb.health_factor(Position(0, 0, 5), market, 0, LLTV_80) == mb.UINT256_MAX


@given(collateral=st.integers(1, 10**30), price=st.integers(0, 10**42), borrowed=st.integers(1, 10**30),
       lltv=st.integers(0, WAD - 1))
@property_settings(200)
def test_health_factor_is_at_least_one_exactly_when_the_position_is_healthy(collateral, price, borrowed, lltv):
    market = Market(borrowed, borrowed * 10**6, borrowed, borrowed * 10**6, 0, 0)
    position = Position(0, borrowed * 10**6, collateral)
    assert (mb.health_factor(position, market, price, lltv) >= WAD) == mb.is_healthy(position, market, price, lltv)


# ------------------------------------------------------------------ liquidate
def test_liquidation_incentive_factor_is_one_over_one_minus_cursor_times_one_minus_lltv_capped_at_1_15():
    assert mb.liquidation_incentive_factor(86 * WAD // 100) == 1_043_841_336_116_910_229  # 1 / 0.958
    assert mb.liquidation_incentive_factor(LLTV_80) == 1_063_829_787_234_042_553  # 1 / 0.94
    assert mb.liquidation_incentive_factor(625 * WAD // 1000) == 1_126_760_563_380_281_690  # 1 / 0.8875
    assert mb.liquidation_incentive_factor(WAD // 2) == 115 * WAD // 100  # 1 / 0.85 = 1.176 → cap
    assert mb.liquidation_incentive_factor(0) == 115 * WAD // 100


# 1000 assets borrowed as 1000e6 shares (1 asset = 1e6 shares exactly, virtual ones included), 1000 collateral
# at 1.2 loan units each: maxBorrow = 1200 × 0.8 = 960 < 1000, liquidatable.
BOOK = Market(2000, 2000 * 10**6, 1000, 1000 * 10**6, 0, 0)
BORROWER = Position(0, 1000 * 10**6, 1000)
PRICE = 12 * E36 // 10


def test_liquidating_by_seized_assets_repays_their_value_over_the_incentive_rounded_up():
    r = mb.liquidate(BOOK, BORROWER, PRICE, LLTV_80, seized_assets=100)
    # quoted = ceil(100 × 1.2) = 120; 120 / 1.0638297… = 112.8 → up 113 assets → 113e6 shares → 113 assets
    assert (r.seized_assets, r.repaid_shares, r.repaid_assets) == (100, 113 * 10**6, 113)
    assert r.position == Position(0, 887 * 10**6, 900)
    assert r.market == Market(2000, 2000 * 10**6, 887, 887 * 10**6, 0, 0)
    assert (r.bad_debt_assets, r.bad_debt_shares) == (0, 0)


def test_liquidating_by_repaid_shares_seizes_their_value_times_the_incentive_rounded_down():
    r = mb.liquidate(BOOK, BORROWER, PRICE, LLTV_80, repaid_shares=100 * 10**6)
    # 100e6 shares = 100 assets; × 1.0638… = 106 (down); / 1.2 = 88.3 → 88 collateral
    assert (r.seized_assets, r.repaid_shares, r.repaid_assets) == (88, 100 * 10**6, 100)
    assert r.position == Position(0, 900 * 10**6, 912)


def test_seizing_all_collateral_realises_the_rest_of_the_debt_as_bad_debt_for_suppliers():
    r = mb.liquidate(BOOK, BORROWER, E36 // 2, LLTV_80, seized_assets=1000)
    # 1000 collateral at 0.5 = 500; / 1.0638… = 470.000…1 → 471 repaid; 529 assets (529e6 shares) left, no collateral
    assert (r.seized_assets, r.repaid_assets, r.repaid_shares) == (1000, 471, 471 * 10**6)
    assert (r.bad_debt_assets, r.bad_debt_shares) == (529, 529 * 10**6)
    assert r.position == Position(0, 0, 0)
    assert r.market == Market(2000 - 529, 2000 * 10**6, 0, 0, 0, 0)


def test_liquidating_a_healthy_position_or_with_both_inputs_reverts():
    with pytest.raises(MorphoRevert, match="position is healthy"):
        mb.liquidate(BOOK, BORROWER, 2 * E36, LLTV_80, seized_assets=1)
    for seized, repaid in ((0, 0), (1, 1)):
        with pytest.raises(MorphoRevert, match="inconsistent input"):
            mb.liquidate(BOOK, BORROWER, PRICE, LLTV_80, seized_assets=seized, repaid_shares=repaid)


def test_seizing_more_collateral_than_the_borrower_has_underflows():
    with pytest.raises(MorphoRevert, match=r"Panic\(0x11\)"):
        mb.liquidate(BOOK, BORROWER, PRICE // 100, LLTV_80, seized_assets=1001)


# ------------------------------------------------------------------ supply, borrow, repay
def test_supply_borrow_and_repay_round_against_the_user():
    # 1000 assets over 1000e6 - 1 shares: with the virtual ones, 1001 assets over 1001e6 - 1 shares
    market = Market(1000, 1000 * 10**6 - 1, 0, 0, 0, 0)
    _, _, assets, shares = mb.supply(market, Position(), 10, 0)
    assert (assets, shares) == (10, 9_999_999)  # 10 × (1001e6 - 1) / 1001 = 9,999,999.99 → down
    market = Market(2000, 2000 * 10**6, 1000, 1000 * 10**6 - 1, 0, 0)
    market, pos, assets, shares = mb.borrow(market, Position(0, 0, 10**6), 10, 0, E36, LLTV_80)
    assert (assets, shares) == (10, 10_000_000)  # 9,999,999.99 → up
    assert (market.total_borrow_assets, market.total_borrow_shares) == (1010, 1010 * 10**6 - 1)
    market, pos, assets, shares = mb.repay(market, pos, 0, shares)
    assert (assets, shares) == (11, 10_000_000)  # 10e6 × 1011 / (1011e6 - 1) = 10.00000001 → up
    assert (pos.borrow_shares, market.total_borrow_assets) == (0, 999)


def test_borrow_checks_collateral_then_liquidity():
    market = Market(100, 100 * 10**6, 0, 0, 0, 0)
    with pytest.raises(MorphoRevert, match="insufficient collateral"):
        mb.borrow(market, Position(0, 0, 100), 81, 0, E36, LLTV_80)  # maxBorrow 80
    with pytest.raises(MorphoRevert, match="insufficient liquidity"):
        mb.borrow(market, Position(0, 0, 1000), 101, 0, E36, LLTV_80)


def test_supplying_zero_collateral_reverts():
    with pytest.raises(MorphoRevert, match="zero assets"):
        mb.supply_collateral(Position(), 0)


def test_market_id_is_the_keccak_of_the_five_words():
    params = mb.MarketParams("0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, "0x" + "44" * 20, LLTV_80)
    words = b"".join(bytes(12) + bytes.fromhex(h * 20) for h in ("11", "22", "33", "44")) + LLTV_80.to_bytes(32, "big")
    assert params.id() == keccak(words)
