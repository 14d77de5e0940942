"""A receipt as web3 formats it, at a fraction of the cost.

web3's ``receipt_formatter`` checksums every address of every receipt and log again; a checksum is a keccak, and
a step of fifty borrows spent a fifth of its time on revm there. :func:`format_receipt` applies web3's own field
formatters with one change: checksummed addresses are remembered. The result is web3's, field for field
(``tests/engine/test_receipts.py`` compares them).
"""
from __future__ import annotations

from typing import Any, Callable

from eth_utils import is_address, to_checksum_address
from eth_utils.curried import apply_formatter_if
from web3._utils.method_formatters import (
    LOG_ENTRY_FORMATTERS,
    RECEIPT_FORMATTERS,
    apply_list_to_array_formatter,
    is_not_null,
    type_aware_apply_formatters_to_dict,
)

_CHECKSUMS: dict[str, str] = {}


def checksum(address: Any) -> str:
    """``to_checksum_address``, remembered per spelling."""
    if not isinstance(address, str):
        return str(to_checksum_address(address))
    found = _CHECKSUMS.get(address)
    if found is None:
        found = _CHECKSUMS[address] = str(to_checksum_address(address))
    return found


_log_entry: Callable[[Any], Any] = type_aware_apply_formatters_to_dict({**LOG_ENTRY_FORMATTERS, "address": checksum})
_receipt: Callable[[Any], Any] = type_aware_apply_formatters_to_dict({
    **RECEIPT_FORMATTERS,
    "contractAddress": apply_formatter_if(is_not_null, checksum),
    "logs": apply_list_to_array_formatter(_log_entry),
    "from": apply_formatter_if(is_not_null, checksum),
    "to": apply_formatter_if(is_address, checksum),
})


def format_receipt(raw: dict[str, Any]) -> dict[str, Any]:
    """The receipt ``raw`` (as a node answers ``eth_getTransactionReceipt``) formatted as web3 formats it."""
    return dict(_receipt(raw))


__all__ = ["checksum", "format_receipt"]
