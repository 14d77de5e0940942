"""`marginlab replay --rpc-url URL` leaves its contracts on a node that stays up: it writes an address book of what
it deployed (addresses.json beside the report, with the actors and their keys) and says that it moved the node's
clock. Checked against the node itself."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from marginlab.addressbook import read_book
from marginlab.chain.backends import start_node
from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"

SCENARIO = """\
name: book
markets:
  - {symbol: WETH, decimals: 18, price: 2000, feed_decimals: 8, heartbeat: 7200, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 100000}}
accounts:
  - {name: alice, margin: isolated, positions: [{deposit: {WETH: 10}, borrow: {USDC: 5000}}, {deposit: {WETH: 1}}]}
steps:
  - {advance: 86400, prices: {WETH: 1900}}
  - {advance: 7200}
"""


@pytest.fixture(autouse=True)
def isolation():
    """A node marginlab starts, not brownie's chain."""
    yield


@pytest.fixture
def node():
    started = start_node(CHAIN)
    yield started
    started.stop()


def replay(tmp_path: Path, url: str, *extra: str) -> Path:
    path = tmp_path / "book.yaml"
    path.write_text(SCENARIO)
    out = tmp_path / "out"
    assert main(["replay", str(path), "--rpc-url", url, "--out", str(out), "--quiet", "--no-charts", *extra]) == 0
    return out


def call(w3: Web3, address: str, abi_file: str, fn: str, *args):
    abi = json.loads((ROOT / abi_file).read_text())
    return getattr(w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi).functions, fn)(*args).call()


def test_a_replay_on_a_running_node_writes_what_it_deployed_and_the_node_agrees(node, tmp_path, capsys):
    out = replay(tmp_path, node.url)
    err = capsys.readouterr().err
    assert f"the replay moved the clock of the node at {node.url} forward by 1d 02:00:00" in err
    book = read_book(out / "addresses.json")
    assert book is not None
    w3 = Web3(Web3.HTTPProvider(node.url))
    assert book.chain.chain_id == w3.eth.chain_id and book.chain.rpc_url == node.url
    vault = book.contracts["vault"]
    assert vault.abi == "abi/Vault.json" and (ROOT / vault.abi).is_file()
    assert call(w3, vault.address, vault.abi, "governor") == book.roles["governor"].address == \
        book.roles["deployer"].address  # a replay's deployer governs: the book says so
    assert [a.lower() for a in call(w3, vault.address, vault.abi, "markets")] == \
        [book.tokens[s].address.lower() for s in ("WETH", "USDC")]
    assert call(w3, book.tokens["USDC"].address, book.tokens["USDC"].abi, "decimals") == book.tokens["USDC"].decimals
    weth_feed = book.feeds["WETH"]
    assert (weth_feed.decimals, weth_feed.heartbeat_s) == (8, 7200)
    assert call(w3, weth_feed.address, weth_feed.abi, "latestAnswer") == 1900 * 10**8
    assert call(w3, book.contracts["batcher"].address, "abi/SimBatcher.json", "owner") == book.roles["deployer"].address
    alice = book.actors["alice"]
    assert alice.address == Account.from_key(keccak(text="marginlab:actor:alice")).address
    assert Account.from_key(alice.private_key).address == alice.address
    timeline = json.loads((out / "timeline.json").read_text())
    end = timeline["steps"][-1]["accounts"]["alice/1"]["balances"]["WETH"]
    assert str(call(w3, vault.address, vault.abi, "balanceOf", alice.address, 1, book.tokens["WETH"].address)) == end
    assert book.clock is not None and book.clock["advanced_s"] == 26 * 3600
    assert book.clock["latest_block_after"] - book.clock["latest_block_before"] >= 26 * 3600


def test_a_replay_on_morpho_blue_lists_morphos_contracts_and_per_position_addresses(node, tmp_path):
    book = read_book(replay(tmp_path, node.url, "--protocol", "morpho-blue") / "addresses.json")
    assert book is not None
    names = set(book.contracts)
    assert {"batcher", "morpho", "reader", "keeper", "oracle WETH/USDC", "irm WETH/USDC"} <= names
    assert book.contracts["morpho"].abi == "abi/morpho-blue/Morpho.json"
    for entry in book.contracts.values():
        assert (ROOT / entry.abi).is_file(), entry.abi
    w3 = Web3(Web3.HTTPProvider(node.url))
    assert call(w3, book.contracts["morpho"].address, "abi/morpho-blue/Morpho.json", "owner") == \
        book.roles["owner"].address
    # isolated margin on Morpho: alice's second position lives at an address of its own, with its key
    extra = book.actors["alice#1"]
    assert extra.derivation == 'keccak256("marginlab:actor:alice#1")' and extra.address != book.actors["alice"].address
    assert Account.from_key(extra.private_key).address == extra.address


def test_a_replay_on_its_own_node_writes_no_address_book(tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text(SCENARIO)
    assert main(["replay", str(path), "--chain", CHAIN, "--out", str(tmp_path / "o"), "--quiet", "--no-charts"]) == 0
    assert not (tmp_path / "o" / "addresses.json").exists()
