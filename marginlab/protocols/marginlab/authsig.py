"""EIP-712 signatures for ``Vault.setOperatorWithSig``: an owner approves (or revokes) an operator off-chain.

The simulator signs for its own actors so that one ``SimBatcher.borrowFor`` transaction can borrow for many
owners; auditors and tests use the same helper to exercise the signature path.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

AUTHORIZATION_TYPES = {
    "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
    "Authorization": [
        {"name": "owner", "type": "address"},
        {"name": "operator", "type": "address"},
        {"name": "approved", "type": "bool"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


@dataclass(frozen=True)
class SignedAuthorization:
    """``auth`` is the ``IVault.Authorization`` tuple, ``sig`` the ``(v, r, s)`` of its EIP-712 digest."""
    auth: tuple[str, str, bool, int, int]
    sig: tuple[int, bytes, bytes]


def sign_authorization(account: LocalAccount, vault: str, chain_id: int, operator: str, approved: bool,
                       nonce: int, deadline: int, owner: str | None = None) -> SignedAuthorization:
    """``account`` signs for itself, or, given ``owner``, for that ERC-1271 wallet whose key it is (the vault asks
    the wallet's ``isValidSignature`` with the same digest and ``r || s || v``)."""
    owner = owner or account.address
    message = {"owner": owner, "operator": operator, "approved": approved, "nonce": nonce,
               "deadline": deadline}
    typed = {"types": AUTHORIZATION_TYPES, "primaryType": "Authorization",
             "domain": {"chainId": chain_id, "verifyingContract": vault}, "message": message}
    signed = account.sign_message(encode_typed_data(full_message=typed))
    return SignedAuthorization(
        auth=(owner, operator, approved, nonce, deadline),
        sig=(signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")),
    )
