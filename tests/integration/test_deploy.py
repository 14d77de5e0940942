"""`marginlab deploy` / `make deploy`: the protocol of a markets file on a running node, and an address book that
says what is where, with which decimals, and which key holds each role — checked against the chain itself."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest
from eth_account import Account

from marginlab.addressbook import AddressBook, read_book
from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.chain.backends import free_port, start_node
from marginlab.cli import main
from marginlab.deploy import Deployer, load_markets
from marginlab.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
MARKETS = ROOT / "deployments" / "markets.yaml"


@pytest.fixture(autouse=True)
def isolation():
    """These tests deploy on a node marginlab starts, not on brownie's chain: no snapshot to revert."""
    yield


@pytest.fixture(scope="module")
def node():
    started = start_node(CHAIN)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def deployed(node):
    """deploy(markets, previous) → (book, log) on the module's node; the chain stays open for the tests' reads."""
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(rpc_url=node.url), RevertDecoder(artifacts.all_abis()))

    def deploy(markets, previous: AddressBook | None = None):
        return Deployer(chain, artifacts, node.url, "test").run(markets, previous)

    deploy.chain, deploy.artifacts = chain, artifacts
    yield deploy
    chain.close()


@pytest.fixture(scope="module")
def first(deployed):
    """deployments/markets.yaml deployed once: (book, log); the tests below only read it."""
    return deployed(load_markets(MARKETS))


def contract(deploy, address: str, name: str):
    return deploy.chain.contract(address, deploy.artifacts.abi(name))


def test_deploy_lists_every_market_of_the_file_with_its_risk_parameters(deployed, first):
    markets = load_markets(MARKETS)
    book, log = first
    chain = deployed.chain
    vault = contract(deployed, book.contracts["vault"].address, "Vault")
    assert [a.lower() for a in chain.call(vault, "markets")] == [book.tokens[m.symbol].address.lower() for m in markets]
    weth = chain.call(vault, "marketParams", book.tokens["WETH"].address)
    assert weth[0] == 8 * 10**17 and weth[4] == 5 * 10**16  # assetWeightInit, liquidationBonus
    router = contract(deployed, book.contracts["router"].address, "OracleRouter")
    assert chain.call(router, "price", book.tokens["WBTC"].address) == 60000 * 10**18
    assert any(line.startswith("deployed OracleRouter") for line in log)


def test_the_book_says_which_key_holds_each_role_and_the_chain_agrees(deployed, first):
    book, _ = first
    chain = deployed.chain
    vault = contract(deployed, book.contracts["vault"].address, "Vault")
    router = contract(deployed, book.contracts["router"].address, "OracleRouter")
    roles = book.roles
    assert chain.call(vault, "governor") == roles["governor"].address
    assert chain.call(vault, "guardian") == roles["guardian"].address
    assert chain.call(router, "governor") == roles["governor"].address
    assert len({r.address for r in roles.values()}) == 3  # three keys, not one key holding everything
    for role in roles.values():
        assert Account.from_key(role.private_key).address == role.address
        assert role.may
    for sym, token in book.tokens.items():
        on_chain = contract(deployed, token.address, token.contract)
        assert chain.call(on_chain, "decimals") == token.decimals
        assert chain.call(on_chain, "minter") == roles["deployer"].address
        feed = book.feeds[sym]
        agg = contract(deployed, feed.address, "SettableAggregator")
        assert chain.call(agg, "decimals") == feed.decimals
        assert chain.call(agg, "owner") == roles["deployer"].address
        assert chain.call(router, "feedOf", token.address)[1] == feed.heartbeat_s  # (feed, heartbeat, decimals)
    for entry in [*book.contracts.values(), *book.tokens.values(), *book.feeds.values()]:
        assert (ROOT / entry.abi).is_file(), entry.abi
    assert book.chain.chain_id == chain.chain_id
    assert book.chain.genesis_hash == "0x" + bytes(chain.w3.eth.get_block(0)["hash"]).hex()
    assert chain.w3.eth.get_code(book.contracts["vault"].address, book.chain.deploy_block - 1) == b""
    assert chain.w3.eth.get_code(book.contracts["router"].address, book.chain.deploy_block) != b""


def test_the_role_keys_hold_ether_so_that_cast_can_send_with_its_default_gas_settings(deployed, first):
    book, _ = first
    for role in book.roles.values():
        assert deployed.chain.w3.eth.get_balance(role.address) >= 10**18


def test_second_deploy_on_the_same_chain_reuses_vault_router_and_markets(deployed, first, tmp_path):
    book, _ = first
    book.write(tmp_path / "book.json")
    second, log = deployed(load_markets(MARKETS), read_book(tmp_path / "book.json"))
    assert second.contracts == book.contracts and second.tokens == book.tokens
    assert second.chain.deploy_block == book.chain.deploy_block
    assert all(line.startswith("re-using") for line in log)


def test_a_book_from_another_chain_is_not_reused(deployed, first):
    book, _ = first
    elsewhere = dataclasses.replace(book, chain=dataclasses.replace(book.chain, genesis_hash="0x" + "00" * 32))
    second, log = deployed(load_markets(MARKETS), elsewhere)
    assert second.contracts["vault"].address != book.contracts["vault"].address
    assert log[-4].startswith("deployed OracleRouter")


def test_markets_file_with_a_bad_weight_is_refused_with_file_field_and_reason(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("markets:\n  - {symbol: X, decimals: 18, price: 1, asset_weight: {init: 0.9, maint: 1.2},\n"
                   "     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}\n")
    with pytest.raises(ScenarioError) as err:
        load_markets(bad)
    assert str(err.value).startswith(f"{bad}:2: markets[0].asset_weight")


def test_a_market_with_a_token_kind_is_deployed_as_that_hostile_token(deployed, tmp_path):
    """A markets file means what a scenario means: `token: {kind: ...}` must never become a plain SimToken."""
    path = tmp_path / "m.yaml"
    path.write_text("markets:\n  - {symbol: FEE, decimals: 18, price: 1, asset_weight: {init: 0.8, maint: 0.85},\n"
                    "     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05,\n"
                    "     token: {kind: fee-on-transfer, fee_bps: 25}}\n")
    book, _ = deployed(load_markets(path))
    entry = book.tokens["FEE"]
    assert (entry.contract, entry.kind, entry.abi) == ("FeeOnTransferToken", "fee-on-transfer (25 bps)",
                                                       "abi/FeeOnTransferToken.json")
    token = contract(deployed, entry.address, "FeeOnTransferToken")
    assert deployed.chain.call(token, "feeBps") == 25
    assert deployed.chain.call(token, "deployer") == book.roles["deployer"].address


def test_a_market_with_oracle_guards_is_deployed_with_them_on_the_router(deployed, tmp_path):
    """A markets file's `oracle_guards:` are set by the governor right after the feed (docs/oracle-guards.md)."""
    path = tmp_path / "m.yaml"
    path.write_text("markets:\n  - {symbol: GRD, decimals: 18, price: 100, asset_weight: {init: 0.8, maint: 0.85},\n"
                    "     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05,\n"
                    "     oracle_guards: {min_price: 10, max_price: 1000, max_move: 0.25, window: 600}}\n")
    book, _ = deployed(load_markets(path))
    router = contract(deployed, book.contracts["router"].address, "OracleRouter")
    bounds, band, sequencer = deployed.chain.call(router, "guardsOf", book.tokens["GRD"].address)
    assert tuple(bounds) == (10 * 10**18, 1000 * 10**18)
    assert band[0] == 100 * 10**18 and tuple(band[2:]) == (2500, 600)  # reference = the first answer
    assert deployed.chain.call(router, "feedOf", book.tokens["GRD"].address)[3] == 3  # bounds | band


def _no_make_env() -> dict[str, str]:
    """The environment without the outer make's flags (make test runs this suite)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def test_make_deploy_with_no_node_answering_exits_non_zero_in_one_line_and_writes_no_address_book(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    book = tmp_path / "book.json"
    before = sorted((ROOT / "deployments").iterdir())
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "deploy", f"RPC_URL={url}", f"ADDRESS_BOOK={book}"],
                          capture_output=True, text=True, env=_no_make_env(), timeout=600)
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if not line.startswith("make")]
    assert ours == [f"error: no node answers at {url}: start one with `make chain` (Ganache; `make chain CHAIN=anvil` "
                    f"for Anvil) in another terminal, then deploy again; nothing was written"], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not book.exists() and sorted((ROOT / "deployments").iterdir()) == before


def test_marginlab_deploy_with_no_node_exits_3_before_reading_anything_else(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["deploy", "--rpc-url", url, "--out", str(tmp_path / "b.json")]) == 3
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: no node answers at {url}: start one with `make chain`")
    assert not (tmp_path / "b.json").exists()


def test_a_book_is_json_with_its_units_explained(first, tmp_path):
    book, _ = first
    book.write(tmp_path / "b.json")
    raw = json.loads((tmp_path / "b.json").read_text())
    assert list(raw)[:2] == ["about", "version"] and "WAD" in raw["about"]
    assert read_book(tmp_path / "b.json") == book
