"""I23, roles and pauses: the guardian only pauses, one flag per call; only the governor unpauses and changes
parameters, within bounds; a withdraw pause refuses borrows too; no pause blocks repay or deposit; liquidations
resume only after the grace period. Also the two-step governor hand-over, nonce invalidation and EIP-5267."""
import brownie
import pytest
from brownie import chain, web3
from eth_account import Account
from eth_utils import keccak
from unitkit import MAX, err, open_position

from marginlab.protocols.marginlab.authsig import sign_authorization

GRACE = 600
SIGNER = Account.from_key(keccak(text="marginlab:test:roles-signer"))


@pytest.fixture
def unhealthy(proto, alice):
    """10 WETH against 15000 USDC, WETH at $1700: liquidatable (as in test_liquidate)."""
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)
    return alice


# --- the guardian pauses, one flag per call, and never unpauses -----------------------------------------------

@pytest.mark.parametrize("flags", [(True, True, False), (True, False, True), (False, True, True), (True, True, True)])
def test_the_guardian_cannot_pause_two_flags_in_one_call(vault, guardian, flags):
    with brownie.reverts(revert_pattern=err("GuardianPausesOneFlag")):
        vault.setPaused(*flags, {"from": guardian})


def test_a_guardian_call_that_changes_nothing_is_refused(vault, guardian):
    with brownie.reverts(revert_pattern=err("GuardianPausesOneFlag")):
        vault.setPaused(False, False, False, {"from": guardian})


@pytest.mark.parametrize("flag", range(3))
def test_the_guardian_cannot_unpause(vault, gov, guardian, flag):
    vault.setPaused(True, True, True, {"from": gov})
    flags = [True, True, True]
    flags[flag] = False
    with brownie.reverts(revert_pattern=err("GuardianCannotUnpause")):
        vault.setPaused(*flags, {"from": guardian})
    # Nor may it unpause one flag while pausing another (that is still an unpause).
    vault.setPaused(False, False, False, {"from": gov})
    vault.setPaused(*[i == flag for i in range(3)], {"from": guardian})
    with brownie.reverts(revert_pattern=err("GuardianCannotUnpause")):
        vault.setPaused(*[i == (flag + 1) % 3 for i in range(3)], {"from": guardian})


def test_the_governor_pauses_and_unpauses_any_flags_at_once(vault, gov):
    vault.setPaused(True, True, True, {"from": gov})
    assert (vault.borrowPaused(), vault.withdrawPaused(), vault.liquidatePaused()) == (True, True, True)
    tx = vault.setPaused(False, False, False, {"from": gov})
    assert (vault.borrowPaused(), vault.withdrawPaused(), vault.liquidatePaused()) == (False, False, False)
    assert "LiquidationGraceStarted" not in tx.events  # grace period 0 by default: nothing changes


# --- a withdraw pause refuses borrows -----------------------------------------------------------------------

def test_a_withdraw_pause_refuses_borrows_and_max_borrow_says_zero(proto, vault, usdc, alice, guardian, gov):
    open_position(proto, alice, 0, {"WETH": 10})
    assert vault.maxBorrow(alice, 0, usdc) > 0
    vault.setPaused(False, True, False, {"from": guardian})
    assert vault.maxBorrow(alice, 0, usdc) == 0
    with brownie.reverts(revert_pattern=err("WithdrawPaused")):
        vault.borrow(0, usdc, 10**6, alice, {"from": alice})
    vault.setPaused(False, False, False, {"from": gov})
    vault.borrow(0, usdc, 10**6, alice, {"from": alice})


def test_a_withdraw_pause_refuses_even_a_transfer_that_repays_debt(proto, vault, usdc, alice, guardian):
    # Decision (docs/roles-and-pauses.md): the source always loses collateral, and the pause is there because
    # a price may be wrong; the owner can still repay or deposit from its wallet.
    open_position(proto, alice, 1, {"WETH": 10}, {"USDC": 1_000})
    open_position(proto, alice, 0, {"USDC": 2_000})
    vault.setPaused(False, True, False, {"from": guardian})
    with brownie.reverts(revert_pattern=err("WithdrawPaused")):
        vault.transfer(0, 1, usdc, 500 * 10**6, {"from": alice})


def test_no_pause_blocks_deposit_or_repay(proto, vault, weth, usdc, alice, gov):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    vault.setPaused(True, True, True, {"from": gov})
    vault.deposit(alice, 0, weth, 10**18, {"from": alice})
    vault.repay(alice, 0, usdc, MAX, {"from": alice})
    assert vault.scaledBalanceOf(alice, 0, usdc) == 0


# --- the liquidation grace period ---------------------------------------------------------------------------

def test_the_grace_period_is_governor_set_and_bounded(vault, gov, guardian):
    assert vault.liquidationGracePeriod() == 0
    with brownie.reverts(revert_pattern=err("GracePeriodTooLong")):
        vault.setLiquidationGracePeriod(4 * 3600 + 1, {"from": gov})
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        vault.setLiquidationGracePeriod(GRACE, {"from": guardian})
    tx = vault.setLiquidationGracePeriod(4 * 3600, {"from": gov})
    assert dict(tx.events["LiquidationGracePeriodSet"]) == {"previous": 0, "period": 4 * 3600}
    assert vault.liquidationGracePeriod() == 4 * 3600


def test_liquidations_resume_only_after_the_grace_period(
    proto, vault, usdc, weth, unhealthy, liquidator, guardian, gov
):
    vault.setLiquidationGracePeriod(GRACE, {"from": gov})
    vault.setPaused(False, False, True, {"from": guardian})
    tx = vault.setPaused(False, False, False, {"from": gov})
    until = tx.timestamp + GRACE
    assert tx.events["LiquidationGraceStarted"]["until"] == until and vault.liquidationGraceUntil() == until
    with brownie.reverts(revert_pattern=err("LiquidationGracePeriod")):
        vault.liquidate(unhealthy, 0, usdc, weth, MAX, 0, {"from": liquidator})
    with brownie.reverts(revert_pattern=err("LiquidationGracePeriod")):
        vault.previewLiquidation(unhealthy, 0, usdc, weth, MAX, {"from": liquidator})
    chain.sleep(GRACE)
    proto.set_price("WETH", 1700)  # a fresh round after the sleep
    vault.liquidate(unhealthy, 0, usdc, weth, MAX, 0, {"from": liquidator})


def test_a_pause_during_the_grace_period_still_reads_as_a_pause(
    vault, usdc, weth, unhealthy, liquidator, guardian, gov
):
    vault.setLiquidationGracePeriod(GRACE, {"from": gov})
    vault.setPaused(False, False, True, {"from": gov})
    vault.setPaused(False, False, False, {"from": gov})
    vault.setPaused(False, False, True, {"from": guardian})
    with brownie.reverts(revert_pattern=err("LiquidationPaused")):
        vault.liquidate(unhealthy, 0, usdc, weth, MAX, 0, {"from": liquidator})


def test_unpausing_other_flags_starts_no_grace_period(vault, gov):
    vault.setLiquidationGracePeriod(GRACE, {"from": gov})
    vault.setPaused(True, True, False, {"from": gov})
    tx = vault.setPaused(False, False, False, {"from": gov})
    assert "LiquidationGraceStarted" not in tx.events and vault.liquidationGraceUntil() == 0


# --- governance hygiene -------------------------------------------------------------------------------------

def test_the_governor_hand_over_takes_two_steps(vault, gov, rando, alice):
    vault.setGovernor(alice, {"from": gov})
    tx = vault.setGovernor(rando, {"from": gov})  # a later proposal replaces the first
    assert dict(tx.events["GovernorProposed"]) == {"governor": gov, "pendingGovernor": rando}
    with brownie.reverts(revert_pattern=err("NotPendingGovernor")):
        vault.acceptGovernance({"from": alice})
    with brownie.reverts(revert_pattern=err("NotPendingGovernor")):
        vault.acceptGovernance({"from": gov})
    assert vault.governor() == gov
    vault.setDustMinimums(0, 0, {"from": gov})  # still the governor until the hand-over completes
    vault.acceptGovernance({"from": rando})
    assert vault.governor() == rando and vault.pendingGovernor() == brownie.ZERO_ADDRESS
    with brownie.reverts(revert_pattern=err("NotPendingGovernor")):
        vault.acceptGovernance({"from": rando})  # used once


def test_an_owner_invalidates_a_signed_nonce(vault, alice, bob):
    deadline = chain[-1].timestamp + 3600
    signed = sign_authorization(SIGNER, vault.address, web3.eth.chain_id, str(bob), True, 0, deadline)
    alice.transfer(SIGNER.address, 10**17)
    tx = vault.invalidateNonce({"from": SIGNER.address})
    assert dict(tx.events["NonceUsed"]) == {"owner": SIGNER.address, "nonce": 0} and tx.return_value == 0
    assert vault.nonces(SIGNER.address) == 1
    with brownie.reverts(revert_pattern=err("InvalidNonce")):
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})


def test_eip712_domain_describes_the_signatures_the_vault_checks(vault, alice, bob):
    fields, name, version, chain_id, verifying, salt, extensions = vault.eip712Domain()
    assert (fields, name, version, chain_id, verifying) == ("0x0c", "", "", web3.eth.chain_id, vault.address)
    assert extensions == () and int(str(salt), 16) == 0
    # A signature over exactly that domain is accepted.
    signed = sign_authorization(SIGNER, verifying, chain_id, str(bob), True, 0, chain[-1].timestamp + 3600)
    vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    assert vault.isOperator(SIGNER.address, bob)
