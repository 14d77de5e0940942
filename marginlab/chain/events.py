"""Events of a receipt, decoded only when the receipt holds them.

web3's ``process_receipt`` hashes the event's signature and walks every log each time it is called; the keepers
and the action sender ask one receipt for up to five event types, and most receipts (a borrow, a deposit) hold
none of them. :func:`events_of` keeps each event's topic and returns nothing at once when no log carries it;
otherwise web3 decodes, so the decoded events are exactly web3's.
"""
from __future__ import annotations

from typing import Any

from eth_utils import event_abi_to_log_topic
from web3.contract import Contract
from web3.logs import DISCARD

_TOPICS: dict[tuple[str, str], bytes] = {}


def event_topic(contract: Contract, name: str) -> bytes:
    """The first topic of ``contract``'s event ``name`` (its signature's hash), computed once per contract address
    and event."""
    key = (str(contract.address), name)
    topic = _TOPICS.get(key)
    if topic is None:
        topic = bytes(event_abi_to_log_topic(contract.events[name]().abi))  # type: ignore[arg-type]
        _TOPICS[key] = topic
    return topic


def _first_topic(log: Any) -> bytes | None:
    topics = log["topics"]
    if not topics:
        return None
    first = topics[0]
    return bytes.fromhex(first[2:]) if isinstance(first, str) else bytes(first)


def events_of(contract: Contract, name: str, receipt: Any) -> list[Any]:
    """``contract.events.<name>().process_receipt(receipt, errors=DISCARD)``, without its cost when no log of the
    receipt has the event's topic."""
    topic = event_topic(contract, name)
    if not any(_first_topic(log) == topic for log in receipt["logs"]):
        return []
    return list(contract.events[name]().process_receipt(receipt, errors=DISCARD))


__all__ = ["event_topic", "events_of"]
