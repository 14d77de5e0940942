"""Accrual: borrow index grows by rate × time (rounded up), reserves take their cut, depositors the rest;
and the kinked InterestRateModel itself."""
import brownie
import pytest
from brownie import chain

from marginlab.model import vault as pm
from unitkit import MAX, WAD, YEAR, err, market_books, open_position, set_params

RATES = pm.RateModel(0, 4 * WAD // 100, 300 * WAD // 100, 80 * WAD // 100)  # chainkit's default model


@pytest.fixture
def live_usdc(proto, vault, usdc, alice):
    """USDC back on the kinked model, with alice borrowing 500k of the ~2.3M deposits."""
    set_params(proto, "USDC", irm=proto.irm)
    open_position(proto, alice, 0, {"WETH": 500}, {"USDC": 500_000})
    return usdc


def test_accrual_matches_the_model_to_the_wei(proto, vault, live_usdc):
    before = market_books(proto, "USDC")
    chain.sleep(30 * 86400)
    tx = vault.accrue(live_usdc, {"from": proto.gov})
    elapsed = tx.timestamp - before["lastAccrual"]
    util = pm.utilization(before["totalBorrows"], before["totalDeposits"])
    expected = pm.accrue(before["borrowIndex"], before["depositIndex"], before["totalBorrowScale"],
                         before["totalDepositScale"], RATES.per_second(util), elapsed, 10 * WAD // 100)
    after = market_books(proto, "USDC")
    assert (after["borrowIndex"], after["depositIndex"]) == (expected.borrow_index, expected.deposit_index)
    assert after["reserves"] == before["reserves"] + expected.reserve_cut
    assert after["lastAccrual"] == tx.timestamp
    ev = tx.events["Accrued"]
    assert (ev["token"], ev["borrowIndex"], ev["depositIndex"], ev["reservesAdded"], ev["interest"]) == (
        live_usdc, expected.borrow_index, expected.deposit_index, expected.reserve_cut, expected.interest)


def test_debt_grows_by_the_models_rate_times_time_within_1e_9(proto, vault, live_usdc, alice):
    util = market_books(proto, "USDC")["utilization"]
    rate = vault.marketState(live_usdc)["borrowRatePerSecond"]
    assert rate == RATES.per_second(util) > 0
    debt0 = -vault.balanceOf(alice, 0, live_usdc)
    t0 = market_books(proto, "USDC")["lastAccrual"]
    chain.sleep(YEAR // 4)
    tx = vault.accrue(live_usdc, {"from": alice})
    debt1 = -vault.balanceOf(alice, 0, live_usdc)
    expected = debt0 * (1 + rate * (tx.timestamp - t0) / WAD)
    assert abs(debt1 - expected) / expected < 1e-9


def test_borrowers_are_charged_at_least_what_depositors_and_reserves_receive(proto, vault, live_usdc):
    before = market_books(proto, "USDC")
    chain.sleep(YEAR)
    tx = vault.accrue(live_usdc, {"from": proto.gov})
    after = market_books(proto, "USDC")
    charged = after["totalBorrows"] - before["totalBorrows"]
    credited = after["totalDeposits"] - before["totalDeposits"]
    reserves = after["reserves"] - before["reserves"]
    assert charged == tx.events["Accrued"]["interest"]
    assert credited + reserves <= charged  # I18
    assert reserves == pm.w_mul_up(charged, 10 * WAD // 100)


def test_indexes_and_accrual_time_never_go_back(proto, vault, live_usdc, alice):
    seen = market_books(proto, "USDC")
    for _ in range(3):
        chain.sleep(86400)
        vault.repay(alice, 0, live_usdc, 10**6, {"from": alice})
        now = market_books(proto, "USDC")
        assert now["borrowIndex"] >= seen["borrowIndex"]
        assert now["depositIndex"] >= seen["depositIndex"]
        assert now["lastAccrual"] >= seen["lastAccrual"]
        seen = now


def test_views_return_accrued_values_without_a_transaction(proto, vault, live_usdc, alice):
    chain.sleep(YEAR)
    chain.mine()
    viewed = -vault.balanceOf(alice, 0, live_usdc)
    state = vault.marketState(live_usdc)
    vault.accrue(live_usdc, {"from": alice})
    written = -vault.balanceOf(alice, 0, live_usdc)
    assert viewed <= written and (written - viewed) / written < 1e-6  # a few seconds apart at most
    assert state["borrowIndex"] > WAD and state["lastAccrual"] < chain.time() - YEAR // 2


def test_a_market_without_borrows_accrues_nothing_but_the_time(proto, vault, gov):
    token = proto["WBTC"].token
    set_params(proto, "WBTC", irm=proto.irm)
    before = market_books(proto, "WBTC")
    chain.sleep(86400)
    tx = vault.accrue(token, {"from": gov})
    after = market_books(proto, "WBTC")
    assert after["lastAccrual"] == tx.timestamp
    if before["totalBorrowScale"] == 0:
        assert after["borrowIndex"] == before["borrowIndex"]


def test_changing_the_rate_model_accrues_at_the_old_rate_first(proto, vault, live_usdc):
    before = market_books(proto, "USDC")
    chain.sleep(86400)
    set_params(proto, "USDC", irm=proto.zero_irm)
    mid = market_books(proto, "USDC")
    assert mid["borrowIndex"] > before["borrowIndex"]
    chain.sleep(86400)
    vault.accrue(live_usdc, {"from": proto.gov})
    assert market_books(proto, "USDC")["borrowIndex"] == mid["borrowIndex"]


def test_supply_rate_is_the_borrow_rate_times_utilisation_less_the_reserve_factor(proto, vault, live_usdc):
    s = vault.marketState(live_usdc)
    assert s["supplyRatePerSecond"] == pm.w_mul_down(pm.w_mul_down(s["borrowRatePerSecond"], s["utilization"]), 9 * WAD // 10)


def test_accrue_reverts_for_an_unlisted_token(gov, vault):
    stray = brownie.SimToken.deploy("X", "X", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.accrue(stray, {"from": gov})


# ------------------------------------------------------------------ InterestRateModel
@pytest.mark.parametrize("u", [0, 10**17, 8 * 10**17, 8 * 10**17 + 1, 9 * 10**17, WAD])
def test_rate_model_follows_the_kinked_curve(proto, u):
    assert proto.irm.borrowRatePerYear(u) == RATES.per_year(u)
    assert proto.irm.borrowRatePerSecond(u) == RATES.per_second(u)


def test_rate_model_exposes_its_parameters(proto):
    irm = proto.irm
    assert (irm.baseRatePerYear(), irm.slope1PerYear(), irm.slope2PerYear(), irm.kink()) == (
        RATES.base, RATES.slope1, RATES.slope2, RATES.kink)
    assert irm.SECONDS_PER_YEAR() == 365 * 86400


def test_rate_model_with_the_kink_at_100_percent_has_no_second_slope(gov):
    irm = brownie.InterestRateModel.deploy(10**16, 10**17, 10**18, WAD, {"from": gov})
    assert irm.borrowRatePerYear(WAD) == 10**16 + 10**17


@pytest.mark.parametrize("kink", [0, WAD + 1])
def test_rate_model_rejects_a_kink_outside_0_to_1(gov, kink):
    with brownie.reverts(revert_pattern=err("InvalidKink")):
        brownie.InterestRateModel.deploy(0, 1, 1, kink, {"from": gov})
