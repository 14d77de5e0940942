"""The client's shortcuts give exactly what the libraries they bypass give: RLP of a signed transaction
(``rlp.encode``), receipts (web3's ``receipt_formatter``) and a receipt's events (web3's ``process_receipt``)."""
from __future__ import annotations

import random

import pytest
import rlp
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.logs import DISCARD

from marginlab.chain import Chain, ChainOptions, RevertDecoder
from marginlab.chain.events import event_topic, events_of
from marginlab.chain.receipts import format_receipt
from marginlab.chain.signers import rlp_list

# from test_revm_chain: 32 bytes of calldata are stored and logged under topic 0x11; no calldata reverts
RUNTIME = ("3615602a5736600114601e57600035806000556000526011602060" "00a1" "00"
           "5b60005460005260206000f3" "5b63" + "deadbeef" + "60e01b600052600760045260246000fd")
INITCODE = "0x6040600c60003960406000f3" + RUNTIME


@pytest.mark.parametrize("items", [
    [], [0], [1], [127], [128], [255], [256], [2**256 - 1], [b""], [b"\x00"], [b"\x7f"], [b"\x80"],
    [b"x" * 55], [b"x" * 56], [b"y" * 1000], [0] * 60, [b"z" * 30, 7, b"", 2**64],
])
def test_rlp_list_is_rlp_encode(items):
    assert rlp_list(items) == rlp.encode(items)


def test_rlp_list_random_transactions():
    rng = random.Random(11)
    for _ in range(300):
        items: list[int | bytes] = [rng.choice([0, rng.randrange(2**rng.randrange(1, 257))]) for _ in range(6)]
        items.insert(3, rng.randbytes(rng.choice([0, 1, 20, 55, 56, rng.randrange(2000)])))
        assert rlp_list(items) == rlp.encode(items)


@pytest.fixture()
def chain():
    c = Chain.open(ChainOptions(backend="revm"), RevertDecoder([]))
    yield c
    c.close()


def test_receipts_are_formatted_as_web3_formats_them(chain):
    deployer = chain.signer("test", "deployer")
    created = chain.send(deployer, None, INITCODE, label="deploy")
    address = str(created["contractAddress"])
    stored = chain.send(chain.signer("test", "alice"), address, "0x" + (42).to_bytes(32, "big").hex(), label="store")
    for receipt in (created, stored):
        raw = chain.transport.raw("eth_getTransactionReceipt", [Web3.to_hex(receipt["transactionHash"])])
        assert format_receipt(raw) == dict(receipt_formatter(raw))
        assert format_receipt(raw) == receipt
    assert stored["logs"] and not created["logs"]


TRANSFER_ABI = [{"type": "event", "name": "Transfer", "anonymous": False, "inputs": [
    {"name": "from", "type": "address", "indexed": True}, {"name": "to", "type": "address", "indexed": True},
    {"name": "value", "type": "uint256", "indexed": False}]},
    {"type": "event", "name": "Other", "anonymous": False, "inputs": []}]


def test_events_of_is_process_receipt():
    w3 = Web3()
    token = w3.eth.contract(address="0x" + "12" * 20, abi=TRANSFER_ABI)
    topic = event_topic(token, "Transfer")
    frm, to = "0x" + "00" * 12 + "aa" * 20, "0x" + "00" * 12 + "bb" * 20
    log = {"address": "0x" + "34" * 20, "topics": ["0x" + topic.hex(), frm, to], "data": "0x" + "00" * 31 + "05",
           "blockNumber": "0x1", "transactionIndex": "0x0", "logIndex": "0x0", "transactionHash": "0x" + "56" * 32,
           "blockHash": "0x" + "78" * 32}
    stray = dict(log, topics=["0x" + "99" * 32], logIndex="0x1")
    receipt = format_receipt({"logs": [stray, log], "status": "0x1"})
    for name in ("Transfer", "Other"):
        assert events_of(token, name, receipt) == list(token.events[name]().process_receipt(receipt, errors=DISCARD))
    (transfer,) = events_of(token, "Transfer", receipt)
    assert transfer["args"]["value"] == 5 and transfer["address"] == Web3.to_checksum_address("0x" + "34" * 20)
    assert events_of(token, "Other", receipt) == []
