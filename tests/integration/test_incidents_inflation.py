"""Empty-market share inflation (Hundred, Radiant, Sonne, 2023–24) and donations (Cream yUSD, I17).

Share vaults price a share as balance / supply, so 1 wei of supply plus a large direct transfer makes one
share worth the donation and rounds the next depositor to zero shares. This vault's scale is priced by an
index that only interest and bad debt move, never by the token balance: a direct transfer to the vault
changes no index, balance or health (I17), the victim keeps ≥ its deposit less 1 wei, and the attacker
loses its donation.
"""
from __future__ import annotations

import pytest

from chainkit import WAD, check_books, deploy_protocol, sim_token

MAX = 2**256 - 1


@pytest.fixture(scope="module")
def setup(module_isolation, gov, guardian):
    p = deploy_protocol(gov, guardian)
    p.add_market("USDC", sim_token(gov, "USDC", 6), 1)
    p.add_market("WETH", sim_token(gov, "WETH", 18), 2000)
    return p


def test_donation_after_a_one_wei_deposit_changes_no_index_balance_or_health(setup, alice, bob):
    p = setup
    v, usdc = p.vault, p["USDC"].token
    p.fund("USDC", alice, 1 + 10**12)
    v.deposit(alice, 0, usdc, 1, {"from": alice})
    state_before = v.marketState(usdc)
    health_before = v.accountState(alice, 0)
    usdc.transfer(v, 10**12, {"from": alice})  # the donation
    assert v.marketState(usdc)[2:6] == state_before[2:6]  # indexes and scales
    assert v.balanceOf(alice, 0, usdc) == 1
    assert v.accountState(alice, 0) == health_before


def test_victim_deposit_after_an_inflation_attempt_loses_at_most_one_wei(setup, alice, bob):
    p = setup
    v, usdc = p.vault, p["USDC"].token
    p.fund("USDC", alice, 1 + 10**12)
    v.deposit(alice, 0, usdc, 1, {"from": alice})
    usdc.transfer(v, 10**12, {"from": alice})
    p.fund("USDC", bob, 5 * 10**11)
    v.deposit(bob, 0, usdc, 5 * 10**11, {"from": bob})
    assert v.balanceOf(bob, 0, usdc) >= 5 * 10**11 - 1
    v.withdraw(0, usdc, MAX, bob, {"from": bob})
    assert usdc.balanceOf(bob) >= 5 * 10**11 - 1


def test_attacker_borrowing_against_the_inflated_market_ends_with_no_profit(setup, alice, bob, lp):
    p = setup
    v, usdc, weth = p.vault, p["USDC"].token, p["WETH"].token
    p.fund("USDC", alice, 1 + 10**12)
    p.fund("WETH", alice, WAD)
    start = usdc.balanceOf(alice) * WAD // 10**6 + 2000 * WAD
    v.deposit(alice, 0, usdc, 1, {"from": alice})
    usdc.transfer(v, 10**12, {"from": alice})
    p.fund("USDC", bob, 5 * 10**11)
    v.deposit(bob, 0, usdc, 5 * 10**11, {"from": bob})
    # The attacker borrows as much USDC as 1 WETH allows and walks away from the collateral.
    v.deposit(alice, 1, weth, WAD, {"from": alice})
    v.borrow(1, usdc, 1600 * 10**6, alice, {"from": alice})
    end_wallet = usdc.balanceOf(alice) * WAD // 10**6 + weth.balanceOf(alice) * 2000
    in_vault = v.accountState(alice, 0)[3] + v.accountState(alice, 1)[3]  # health_maint is >= 0
    assert end_wallet + max(in_vault, 0) <= start
    # The donation stays in the vault as an untracked surplus; bob's claim is whole.
    assert v.balanceOf(bob, 0, usdc) >= 5 * 10**11 - 1
    check_books(p, [alice, alice, bob], [0, 1, 0])
