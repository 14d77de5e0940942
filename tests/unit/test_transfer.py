"""Vault.transfer / transferFrom: move a deposit between one owner's sub-accounts; the source stays healthy."""
import brownie

from marginlab.model import vault as pm
from unitkit import MAX, err, market_books, model_health, open_position


def test_transfer_moves_the_deposit_with_the_vaults_rounding(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"WETH": 3})
    books = market_books(proto, "WETH")
    from_scaled = vault.scaledBalanceOf(alice, 0, weth)
    amount = 1_234_567_890_123_456_789
    tx = vault.transfer(0, 5, weth, amount, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, weth) == from_scaled - pm.to_scale_up(amount, books["depositIndex"])
    assert vault.scaledBalanceOf(alice, 5, weth) == pm.to_scale_down(amount, books["depositIndex"])
    ev = tx.events["SubAccountTransfer"]
    assert (ev["owner"], ev["fromSubId"], ev["toSubId"], ev["token"], ev["amount"]) == (alice, 0, 5, weth, amount)


def test_transfer_max_moves_the_whole_deposit(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"WETH": 3})
    held = vault.balanceOf(alice, 0, weth)
    vault.transfer(0, 1, weth, MAX, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, weth) == 0
    assert held - 1 <= vault.balanceOf(alice, 1, weth) <= held


def test_transfer_into_a_sub_account_with_debt_repays_it(proto, vault, usdc, alice):
    open_position(proto, alice, 1, {"WETH": 1}, {"USDC": 500})
    open_position(proto, alice, 0, {"USDC": 2_000})
    vault.transfer(0, 1, usdc, 1_000 * 10**6, {"from": alice})
    assert vault.balanceOf(alice, 1, usdc) > 0


def test_transfer_reverts_when_it_would_leave_the_source_unhealthy(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    with brownie.reverts(revert_pattern=err("AccountUnhealthy")):
        vault.transfer(0, 1, weth, 2 * 10**18, {"from": alice})
    vault.transfer(0, 1, weth, 10**17, {"from": alice})
    assert model_health(proto, alice, 0).health_init >= 0


def test_transfer_reverts_between_the_same_sub_account(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"WETH": 1})
    with brownie.reverts(revert_pattern=err("SameSubAccount")):
        vault.transfer(0, 0, weth, 1, {"from": alice})


def test_transfer_reverts_above_the_deposit_and_on_zero(proto, vault, weth, alice):
    open_position(proto, alice, 0, {"WETH": 1})
    with brownie.reverts(revert_pattern=err("InsufficientDeposit")):
        vault.transfer(0, 1, weth, 2 * 10**18, {"from": alice})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.transfer(0, 1, weth, 0, {"from": alice})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.transfer(2, 1, weth, MAX, {"from": alice})


def test_transfer_from_needs_the_owner_or_an_operator(proto, vault, weth, alice, bob, rando):
    open_position(proto, alice, 0, {"WETH": 1})
    with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
        vault.transferFrom(alice, 0, 1, weth, 10**17, {"from": rando})
    vault.setOperator(bob, True, {"from": alice})
    vault.transferFrom(alice, 0, 1, weth, 10**17, {"from": bob})
    assert vault.balanceOf(alice, 1, weth) > 0 and vault.scaledBalanceOf(bob, 1, weth) == 0


def test_transfer_reverts_when_the_destination_would_receive_nothing(proto, vault, usdc, alice):
    # One USDC unit is below one scale unit of alice/1's USDC debt: it would leave alice/0 and repay nothing.
    open_position(proto, alice, 0, {"USDC": 1_000})
    open_position(proto, alice, 1, {"WETH": 10}, {"USDC": 5_000})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.transfer(0, 1, usdc, 1, {"from": alice})
