"""Vault.setOperatorWithSig: an owner's EIP-712 signed approval, used once, before its deadline, by anyone.

The owner is a key that never sends a transaction (it holds no ether): everything it authorises happens
through its signature. SimBatcher.borrowFor builds on it to set up many borrowers in one transaction.
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

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
OWNER = Account.from_key(keccak(text="marginlab:test:sig-owner"))
STRANGER = Account.from_key(keccak(text="marginlab:test:sig-stranger"))


def _sign(vault, operator, approved=True, nonce=0, deadline=None, key=OWNER, chain_id=None, verifying=None):
    deadline = chain[-1].timestamp + 3600 if deadline is None else deadline
    return sign_authorization(key, verifying or vault.address, chain_id or web3.eth.chain_id, str(operator),
                              approved, nonce, deadline)


def _deposit_signed(vault, payer, key, sub, token, amount):
    """`payer` deposits into `key`'s empty sub-account as its operator for one deposit (I25: a stranger may not add
    a market to it): `key` signs the approval and its revocation at its next two nonces."""
    nonce = vault.nonces(key.address)
    grant, revoke = _sign(vault, payer, nonce=nonce, key=key), _sign(vault, payer, False, nonce=nonce + 1, key=key)
    vault.setOperatorWithSig(grant.auth, *grant.sig, {"from": payer})
    vault.deposit(key.address, sub, token, amount, {"from": payer})
    vault.setOperatorWithSig(revoke.auth, *revoke.sig, {"from": payer})


@pytest.fixture
def owner_with_collateral(proto, vault, weth, alice, unit):
    _deposit_signed(vault, alice, OWNER, 0, weth, unit("WETH", 10))  # uses nonces 0 and 1
    return OWNER.address


def test_a_signed_approval_lets_the_operator_borrow_for_the_owner(proto, vault, usdc, bob, owner_with_collateral):
    signed = _sign(vault, bob, nonce=2)
    tx = vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    assert tx.events["OperatorSet"]["owner"] == OWNER.address and tx.events["OperatorSet"]["approved"] is True
    assert vault.isOperator(OWNER.address, bob) and vault.nonces(OWNER.address) == 3
    vault.borrowFrom(OWNER.address, 0, usdc, 10**6, OWNER.address, {"from": bob})
    assert usdc.balanceOf(OWNER.address) == 10**6 and vault.balanceOf(OWNER.address, 0, usdc) < 0


def test_a_signature_works_once(vault, bob):
    signed = _sign(vault, bob)
    vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})
    with brownie.reverts(revert_pattern=err("InvalidNonce")):
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})


def test_a_future_nonce_is_refused(vault, bob):
    signed = _sign(vault, bob, nonce=1)
    with brownie.reverts(revert_pattern=err("InvalidNonce")):
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})


def test_an_expired_authorization_is_refused(vault, bob):
    signed = _sign(vault, bob, deadline=chain[-1].timestamp - 1)
    with brownie.reverts(revert_pattern=err("SignatureExpired")):
        vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})


def test_a_signature_by_someone_else_is_refused(vault, bob):
    forged = _sign(vault, bob, key=STRANGER)
    auth = (OWNER.address,) + forged.auth[1:]  # claims OWNER, signed by STRANGER
    with brownie.reverts(revert_pattern=err("InvalidSignature")):
        vault.setOperatorWithSig(auth, *forged.sig, {"from": bob})
    assert not vault.isOperator(OWNER.address, bob) and vault.nonces(OWNER.address) == 0


def test_a_tampered_field_breaks_the_signature(vault, bob, rando):
    signed = _sign(vault, bob)
    for auth in ((signed.auth[0], str(rando)) + signed.auth[2:],            # another operator
                 signed.auth[:4] + (signed.auth[4] + 1,)):                  # a later deadline
        with brownie.reverts(revert_pattern=err("InvalidSignature")):
            vault.setOperatorWithSig(auth, *signed.sig, {"from": bob})


def test_a_signature_for_another_chain_or_vault_is_refused(vault, bob, rando):
    for signed in (_sign(vault, bob, chain_id=web3.eth.chain_id + 1), _sign(vault, bob, verifying=str(rando))):
        with brownie.reverts(revert_pattern=err("InvalidSignature")):
            vault.setOperatorWithSig(signed.auth, *signed.sig, {"from": bob})


def test_the_malleable_twin_of_a_valid_signature_is_refused(vault, bob):
    signed = _sign(vault, bob)
    v, r, s = signed.sig
    twin = (55 - v, r, (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big"))  # same signer, high s
    with brownie.reverts(revert_pattern=err("ECDSAInvalidSignatureS")):
        vault.setOperatorWithSig(signed.auth, *twin, {"from": bob})


def test_a_signed_revocation_removes_the_operator(vault, bob):
    grant, revoke = _sign(vault, bob), _sign(vault, bob, approved=False, nonce=1)
    vault.setOperatorWithSig(grant.auth, *grant.sig, {"from": bob})
    tx = vault.setOperatorWithSig(revoke.auth, *revoke.sig, {"from": bob})
    assert tx.events["OperatorSet"]["approved"] is False and not vault.isOperator(OWNER.address, bob)


def _borrow_item(vault, batcher, key, sub, token, amount, nonce=0):
    grant = _sign(vault, batcher, nonce=nonce, key=key)
    revoke = _sign(vault, batcher, approved=False, nonce=nonce + 1, key=key)
    return (grant.auth, grant.sig, revoke.auth, revoke.sig, [sub], [str(token)], [amount])


def test_the_batcher_borrows_for_many_owners_and_is_no_operator_afterwards(proto, vault, weth, usdc, alice, gov,
                                                                          unit):
    batcher = chainkit.build().SimBatcher.deploy({"from": gov})
    owners = [OWNER, STRANGER]
    for key in owners:
        _deposit_signed(vault, alice, key, 2, weth, unit("WETH", 10))
    items = [_borrow_item(vault, batcher, key, 2, usdc, unit("USDC", 1000), nonce=2) for key in owners]
    batcher.borrowFor(vault, items, {"from": gov})
    for key in owners:
        assert usdc.balanceOf(key.address) == unit("USDC", 1000)
        assert not vault.isOperator(key.address, batcher) and vault.nonces(key.address) == 4


def test_the_batcher_refuses_a_revocation_for_another_owner(proto, vault, weth, usdc, alice, gov, unit):
    batcher = chainkit.build().SimBatcher.deploy({"from": gov})
    _deposit_signed(vault, alice, OWNER, 2, weth, unit("WETH", 10))
    item = list(_borrow_item(vault, batcher, OWNER, 2, usdc, unit("USDC", 1000), nonce=2))
    other = _sign(vault, batcher, approved=False, nonce=0, key=STRANGER)
    item[2], item[3] = other.auth, other.sig
    with brownie.reverts(revert_pattern=err("BadRevocation")):
        batcher.borrowFor(vault, [tuple(item)], {"from": gov})
