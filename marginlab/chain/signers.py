"""Who signs: one deterministic key per actor, and the nonce the simulator counts for it.

Transactions are signed locally. The simulator keeps every signer's nonce itself — it sends several
transactions per sender before any is mined in ``--mining per-step`` — and the senders check after each receipt
that the node agrees (Ganache 7.9.2 was seen mining two transactions with one nonce).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

try:
    from coincurve import PrivateKey
except ImportError:  # pragma: no cover - coincurve is pinned in requirements.txt
    PrivateKey = None  # type: ignore[misc,assignment]


@dataclass
class Signer:
    name: str
    account: LocalAccount
    nonce: int = 0  # the next nonce to send with

    @property
    def address(self) -> str:
        return str(self.account.address)

    def sign(self, to: str | None, data: str, gas: int, gas_price: int, chain_id: int) -> tuple[dict[str, Any], bytes]:
        """A legacy transaction at the signer's next nonce, and its signed raw bytes. The nonce is not counted
        until the node has taken the transaction (the sender then adds one)."""
        tx: dict[str, Any] = {"data": data, "value": 0, "gasPrice": gas_price, "gas": gas, "nonce": self.nonce,
                              "chainId": chain_id}
        if to is not None:
            tx["to"] = to
        return tx, sign_legacy(self.account, tx)


def sign_legacy(account: LocalAccount, tx: dict[str, Any]) -> bytes:
    """The signed raw bytes of a legacy EIP-155 transaction (value 0): RLP and secp256k1 directly through coincurve,
    the bytes eth-account would give (RFC 6979 nonces; tests/engine/test_revm_chain.py compares them) at a
    fraction of its validation and formatting cost, which was a third of a transaction's time on revm. Without
    coincurve, eth-account signs."""
    if PrivateKey is None:  # pragma: no cover - coincurve is pinned in requirements.txt
        return bytes(account.sign_transaction(tx).raw_transaction)
    to = bytes.fromhex(tx["to"][2:]) if tx.get("to") else b""
    data = bytes.fromhex(str(tx["data"])[2:])
    chain_id = int(tx["chainId"])
    fields: list[int | bytes] = [int(tx["nonce"]), int(tx["gasPrice"]), int(tx["gas"]), to, int(tx.get("value", 0)),
                                 data]
    digest = keccak(rlp_list([*fields, chain_id, 0, 0]))
    key = _coincurve_key(bytes(account.key))
    signature = key.sign_recoverable(digest, hasher=None)
    r, s, recovery = signature[:32], signature[32:64], signature[64]
    return rlp_list([*fields, chain_id * 2 + 35 + recovery, int.from_bytes(r, "big"), int.from_bytes(s, "big")])


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def _rlp_item(item: int | bytes) -> bytes:
    raw = item.to_bytes((item.bit_length() + 7) // 8, "big") if isinstance(item, int) else item
    if len(raw) == 1 and raw[0] < 0x80:
        return raw
    return _length_prefix(len(raw), 0x80) + raw


def rlp_list(items: list[int | bytes]) -> bytes:
    """The RLP encoding of a flat list of non-negative integers and byte strings: ``rlp.encode`` gives the same
    bytes (tests/engine/test_receipts.py checks it), without its type inference, which cost more than the
    signature."""
    payload = b"".join(_rlp_item(i) for i in items)
    return _length_prefix(len(payload), 0xC0) + payload


_KEYS: dict[bytes, Any] = {}


def _coincurve_key(secret: bytes) -> Any:
    """One coincurve key per secret: making it derives the public key, which cost as much as the signature."""
    key = _KEYS.get(secret)
    if key is None:
        key = _KEYS[secret] = PrivateKey(secret)
    return key


def signer_key(role: str, name: str) -> bytes:
    """Deterministic private key per actor, so addresses (and so storage layouts) repeat between replays."""
    return keccak(text=f"marginlab:{role}:{name}")


class Signers:
    """Every actor's :class:`Signer`, made on first use with the nonce the chain reports for it then."""

    def __init__(self, open_sender: Callable[[str], int]) -> None:
        self._open_sender = open_sender  # the backend's: reads the nonce, prepares the sender for ordering
        self._signers: dict[str, Signer] = {}

    def get(self, role: str, name: str) -> Signer:
        key = f"{role}:{name}"
        if key not in self._signers:
            account = Account.from_key(signer_key(role, name))
            self._signers[key] = Signer(name, account, self._open_sender(account.address))
        return self._signers[key]
