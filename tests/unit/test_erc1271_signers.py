"""Vault.setOperatorWithSig for an owner with code: an ERC-1271 wallet (contracts/sim/wallet/SimWallet1271.sol)
whose owner key signs the vault's EIP-712 digest. The vault asks the wallet (`isValidSignature`) and accepts only
the magic value 0x1626ba7e; a wallet that answers anything else or reverts is refused with the same error as a
bad ECDSA signature. Nonces, their invalidation and the SimBatcher's signed-grant path work for it as for a key.
"""
from __future__ import annotations

import brownie
import pytest
from brownie import chain, web3
from eth_account import Account
from eth_utils import keccak

import chainkit
from unitkit import err
from marginlab.protocols.marginlab.authsig import sign_authorization

WALLET_KEY = Account.from_key(keccak(text="marginlab:test:wallet-key"))
OTHER_KEY = Account.from_key(keccak(text="marginlab:test:not-the-wallet-key"))
HONEST, WRONG_VALUE, REVERTS = 0, 1, 2


@pytest.fixture
def key_sender(gov):
    """The wallet's owner key as a brownie account with ether, so it can drive its wallet (`execute`)."""
    sender = brownie.accounts.add(WALLET_KEY.key.hex())
    gov.transfer(sender, 10**18)
    return sender


@pytest.fixture
def wallet(gov):
    return chainkit.build().SimWallet1271.deploy(WALLET_KEY.address, {"from": gov})


def _sign(vault, wallet, operator, approved=True, nonce=0, key=WALLET_KEY):
    return sign_authorization(key, vault.address, web3.eth.chain_id, str(operator), approved, nonce,
                              chain[-1].timestamp + 3600, owner=wallet.address)


def test_a_wallet_signature_by_its_key_approves_the_operator_who_then_acts_for_it(vault, wallet, weth, usdc, bob,
                                                                                  unit):
    signed = _sign(vault, wallet, bob)
    tx = vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    assert tx.events["OperatorSet"]["owner"] == wallet.address and tx.events["OperatorSet"]["approved"] is True
    assert vault.isOperator(wallet, bob) and vault.nonces(wallet) == 1
    vault.deposit(wallet, 0, weth, unit("WETH", 10), {"from": bob})  # an operator may open a market (I25)
    vault.borrowFrom(wallet, 0, usdc, unit("USDC", 100), wallet, {"from": bob})
    assert usdc.balanceOf(wallet) == unit("USDC", 100) and vault.balanceOf(wallet, 0, usdc) < 0
    with brownie.reverts(revert_pattern=err("InvalidNonce")):  # used once, like a key's
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})


def test_a_wallet_signature_by_another_key_is_refused(vault, wallet, bob):
    signed = _sign(vault, wallet, bob, key=OTHER_KEY)
    with brownie.reverts(revert_pattern=err("InvalidSignature")):
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    assert not vault.isOperator(wallet, bob) and vault.nonces(wallet) == 0


@pytest.mark.parametrize("mode", [WRONG_VALUE, REVERTS], ids=["wrong-value", "reverts"])
def test_a_wallet_that_answers_a_wrong_value_or_reverts_is_refused_as_a_bad_signature(vault, wallet, key_sender, bob,
                                                                                      mode):
    wallet.setMode(mode, {"from": key_sender})
    signed = _sign(vault, wallet, bob)  # the key's own, otherwise valid signature
    if mode == REVERTS:
        with brownie.reverts(revert_pattern=err("WalletRefuses")):
            wallet.isValidSignature(b"\x00" * 32, b"")
    with brownie.reverts(revert_pattern=err("InvalidSignature")):  # the vault's own error, never the wallet's
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    assert not vault.isOperator(wallet, bob) and vault.nonces(wallet) == 0
    wallet.setMode(HONEST, {"from": key_sender})
    vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    assert vault.isOperator(wallet, bob)


def test_a_wallet_invalidates_its_nonce_and_its_unsubmitted_signature_then_fails(vault, wallet, key_sender, bob):
    signed = _sign(vault, wallet, bob, nonce=0)
    tx = wallet.execute(vault, vault.invalidateNonce.encode_input(), {"from": key_sender})
    assert vault.nonces(wallet) == 1
    assert tx.events["NonceUsed"]["owner"] == wallet.address and tx.events["NonceUsed"]["nonce"] == 0
    with brownie.reverts(revert_pattern=err("InvalidNonce")):
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    fresh = _sign(vault, wallet, bob, nonce=1)
    vault.setOperatorWithSig(fresh.auth, *fresh.sig, {"from": bob})
    assert vault.isOperator(wallet, bob)


def test_the_batcher_borrows_for_a_wallet_on_its_signed_grant(vault, wallet, weth, usdc, alice, gov, unit):
    batcher = chainkit.build().SimBatcher.deploy({"from": gov})
    first = _sign(vault, wallet, alice)
    vault.setOperatorWithSig(first.auth, *first.sig, {"from": alice})
    vault.deposit(wallet, 2, weth, unit("WETH", 10), {"from": alice})
    grant, revoke = _sign(vault, wallet, batcher, nonce=1), _sign(vault, wallet, batcher, False, nonce=2)
    batcher.borrowFor(vault, [(grant.auth, grant.sig, revoke.auth, revoke.sig, [2], [str(usdc)],
                               [unit("USDC", 1000)])], {"from": gov})
    assert usdc.balanceOf(wallet) == unit("USDC", 1000)
    assert not vault.isOperator(wallet, batcher) and vault.nonces(wallet) == 3


def test_a_key_owner_still_needs_its_own_ecdsa_signature(vault, bob):
    signed = sign_authorization(WALLET_KEY, vault.address, web3.eth.chain_id, str(bob), True, 0,
                                chain[-1].timestamp + 3600)
    vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    assert vault.isOperator(WALLET_KEY.address, bob)
