"""The in-process chain (``--chain revm``, marginlab/chain/revm.py) answers as Anvil does where the simulator looks:
receipts and logs, reverts (data, code 3), nonces, pinned time, automine off with a FIFO pool, snapshots, a read
at the block before the latest. A hand-assembled contract keeps these tests free of the Solidity build.

The contract: no calldata reverts with ``Oops(7)``; one byte returns slot 0; 32 bytes store them in slot 0 and
log them under topic 0x11.
"""
from __future__ import annotations

import pytest
from eth_utils import keccak

from marginlab.chain import Chain, ChainOptions, RevertDecoder, TxReverted
from marginlab.chain.backends import GENESIS_TIME

OOPS_ABI = [{"type": "error", "name": "Oops", "inputs": [{"name": "code", "type": "uint256"}]}]
SELECTOR = keccak(text="Oops(uint256)")[:4].hex()
RUNTIME = ("3615602a5736600114601e57600035806000556000526011602060" "00a1" "00"
           "5b60005460005260206000f3"
           "5b63" + SELECTOR + "60e01b600052600760045260246000fd")
INITCODE = "0x" + "6040600c60003960406000f3" + RUNTIME


def word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


@pytest.fixture()
def chain():
    c = Chain.open(ChainOptions(backend="revm"), RevertDecoder([OOPS_ABI]))
    yield c
    c.close()


def deploy(chain: Chain) -> str:
    receipt = chain.send(chain.signer("test", "deployer"), None, INITCODE, label="deploy")
    return str(receipt["contractAddress"])


def read(chain: Chain, address: str, block: str = "latest") -> int:
    return int(chain.transport.raw("eth_call", [{"to": address, "data": "0x00"}, block]), 16)


def test_the_code_is_as_assembled():
    assert len(bytes.fromhex(RUNTIME)) == 0x40


def test_a_deployment_and_a_call_have_anvil_receipts(chain):
    assert chain.backend == "revm" and chain.chain_id == 31337
    address = deploy(chain)
    # the address Anvil gives: CREATE from the deployer's nonce 0
    assert len(chain.w3.eth.get_code(address)) == 0x40
    alice = chain.signer("test", "alice")
    receipt = chain.send(alice, address, word(42), label="store")
    assert receipt["status"] == 1 and receipt["blockNumber"] == 2 and receipt["transactionIndex"] == 0
    (log,) = receipt["logs"]
    assert log["address"].lower() == address.lower() and int(log["data"].hex(), 16) == 42
    assert log["topics"][0].hex().endswith("11") and log["logIndex"] == 0
    assert read(chain, address) == 42
    assert chain.w3.eth.get_transaction_count(alice.address) == 1 == alice.nonce
    # deployments after calls keep the nonce order (pyrevm's message_call leaves nonces alone)
    second = chain.send(alice, None, INITCODE, label="deploy again")
    expected = keccak(b"\xd6\x94" + bytes.fromhex(alice.address[2:]) + b"\x01")[12:]
    assert second["contractAddress"].lower() == "0x" + expected.hex()


def test_a_revert_is_decoded_like_anvils(chain):
    address = deploy(chain)
    with pytest.raises(TxReverted) as estimate:
        chain.send(chain.signer("test", "bob"), address, "0x", label="boom")
    assert estimate.value.reason == "Oops(7)" and estimate.value.gas_estimation
    answer = chain.w3.provider.make_request("eth_call", [{"to": address, "data": "0x"}, "latest"])
    assert answer["error"]["code"] == 3 and answer["error"]["data"] == "0x" + SELECTOR + f"{7:064x}"
    # mined with a gas limit given: status 0, the revert data from the transaction's trace
    bob = chain.signer("test", "bob")
    _, raw = bob.sign(address, "0x", 100_000, 0, chain.chain_id)
    tx_hash = chain.transport.raw("eth_sendRawTransaction", ["0x" + raw.hex()])
    receipt = chain.transport.raw("eth_getTransactionReceipt", [tx_hash])
    assert receipt["status"] == "0x0" and int(receipt["gasUsed"], 16) < 100_000
    assert chain.decoder.decode(chain.driver.revert_data(chain.transport, tx_hash) or b"") == "Oops(7)"


def test_time_is_pinned_and_moves_only_when_told(chain):
    assert chain.latest_timestamp() == GENESIS_TIME
    address = deploy(chain)
    assert chain.latest_timestamp() == GENESIS_TIME
    chain.advance(3600)
    assert chain.latest_timestamp() == GENESIS_TIME + 3600
    chain.send(chain.signer("test", "alice"), address, word(1), label="store")
    assert chain.latest_timestamp() == GENESIS_TIME + 3600


def test_per_step_mining_keeps_the_sending_order_in_one_block():
    chain = Chain.open(ChainOptions(backend="revm", mining="per-step"), RevertDecoder([OOPS_ABI]))
    address = deploy(chain)
    chain.advance(60)  # carried by the next block
    done: list[tuple[int, int]] = []
    for i, name in enumerate(["a", "b", "c", "a"]):
        chain.submit_data(chain.signer("test", name), address, word(i + 1), "store", (address, "store"),
                          on_done=lambda p: done.append((p.receipt["blockNumber"], p.receipt["transactionIndex"])))
    chain.flush()
    assert done == [(chain.last_block, i) for i in range(4)]
    assert read(chain, address) == 4 and chain.latest_timestamp() == GENESIS_TIME + 60


def test_snapshots_roll_back_state_blocks_nonces_and_receipts(chain):
    address = deploy(chain)
    alice = chain.signer("test", "alice")
    chain.send(alice, address, word(5), label="store")
    snap = chain.transport.raw("evm_snapshot", [])
    block, nonce = chain.w3.eth.block_number, alice.nonce
    receipt = chain.send(alice, address, word(6), label="store")
    chain.advance(100)
    assert read(chain, address) == 6
    assert chain.transport.raw("evm_revert", [snap]) is True
    assert read(chain, address) == 5 and chain.w3.eth.block_number == block
    assert chain.latest_timestamp() == GENESIS_TIME
    assert chain.w3.eth.get_transaction_count(alice.address) == nonce
    assert chain.transport.raw("eth_getTransactionReceipt", ["0x" + bytes(receipt["transactionHash"]).hex()]) is None
    alice.nonce = nonce  # the simulator's own count goes back with the chain it replays on
    # the same replay again from the snapshot, and again
    for value in (7, 8):
        again = chain.transport.raw("evm_snapshot", [])
        chain.send(alice, address, word(value), label="store")
        assert read(chain, address) == value
        assert chain.transport.raw("evm_revert", [again]) is True
        alice.nonce = nonce
        assert read(chain, address) == 5
    assert chain.transport.raw("evm_revert", ["0x99"]) is False


def test_a_read_at_the_block_before_the_latest(chain):
    address = deploy(chain)
    alice = chain.signer("test", "alice")
    chain.send(alice, address, word(5), label="store")
    chain.send(alice, address, word(6), label="store")
    latest = chain.w3.eth.block_number
    assert read(chain, address, hex(latest - 1)) == 5
    assert read(chain, address, hex(latest)) == 6 == read(chain, address)
    chain.send(alice, address, word(7), label="store")  # the chain goes on from the re-executed block
    assert read(chain, address) == 7 and read(chain, address, hex(latest)) == 6
    answer = chain.w3.provider.make_request("eth_call", [{"to": address, "data": "0x00"}, hex(latest - 1)])
    assert "keeps no state" in answer["error"]["message"]


def test_a_wrong_nonce_is_refused(chain):
    address = deploy(chain)
    carol = chain.signer("test", "carol")
    carol.nonce = 3
    _, raw = carol.sign(address, word(1), 100_000, 0, chain.chain_id)
    answer = chain.w3.provider.make_request("eth_sendRawTransaction", ["0x" + raw.hex()])
    assert "nonce too high" in answer["error"]["message"]


def test_the_fast_signer_signs_exactly_as_eth_account():
    import random

    from eth_account import Account
    from eth_utils import to_checksum_address

    from marginlab.chain.signers import sign_legacy, signer_key

    rng = random.Random(5)
    for i in range(100):
        account = Account.from_key(signer_key("actor", f"a{i}"))
        tx = {"data": "0x" + rng.randbytes(rng.randrange(0, 300)).hex(), "value": 0,
              "gasPrice": rng.choice([0, 10**6 - i]), "gas": rng.randrange(21_000, 29_000_000),
              "nonce": rng.choice([0, rng.randrange(5000)]), "chainId": rng.choice([1337, 31337])}
        if i % 7:
            tx["to"] = to_checksum_address(rng.randbytes(20))
        assert sign_legacy(account, tx) == bytes(account.sign_transaction(tx).raw_transaction)
