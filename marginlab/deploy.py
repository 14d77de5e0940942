"""``marginlab deploy``: the vault, its oracle router, interest-rate models, test tokens and feeds for the markets of
a file, on a node that is already running, and an address book that describes them (:mod:`marginlab.addressbook`).

    marginlab deploy [--rpc-url http://127.0.0.1:8545] [--markets deployments/markets.yaml] [--out FILE]

The markets file has the fields of a scenario's ``markets:`` entries, validated by the same model, so a market
means the same thing in a deployment and in a replay. Run again on a chain that is still up (same chain id and
genesis block), it re-uses the router and vault whose code is still there and deploys only the missing markets.

Three roles, each its own key (``keccak256("marginlab:system:<role>")``, throwaway dev-chain keys written into the
book): the *deployer* creates every contract, and so is the test tokens' minter and the feeds' writer (both
contracts give those rights to whoever deployed them); the *governor* governs the vault and the router (lists
markets, sets feeds and parameters); the *guardian* may pause. Each is given 100 ether from the node's first
unlocked account when it holds less than 1, so that cast's default gas settings work (marginlab itself sends at
gas price 0).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

from eth_utils import to_checksum_address
from pydantic import ValidationError
from web3.contract import Contract
from web3.types import TxParams, Wei

from marginlab.addressbook import (
    AddressBook,
    ChainRef,
    ContractEntry,
    FeedEntry,
    RoleEntry,
    TokenEntry,
    abi_path,
    chain_ref,
    key_derivation,
    private_key,
    read_book,
)
from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder, Signer, TxReverted
from marginlab.compiled import ensure_build
from marginlab.errors import ChainError, Issue, ScenarioError
from marginlab.node import START_HINT, probe
from marginlab.numbers import to_units, wad
from marginlab.protocols.marginlab.params import market_params
from marginlab.protocols.marginlab.setup import market_guard_calls
from marginlab.scenario.model import Market
from marginlab.scenario.reasons import reason_of
from marginlab.scenario.source import load_yaml_file
from marginlab.vault_deploy import BOOK_KEYS, deploy_vault

DEFAULT_MARKETS = Path("deployments/markets.yaml")
DEPLOYMENTS = Path("deployments")
ROLE_ETHER = 100 * 10**18
ROLE_ETHER_MIN = 10**18
#: What each role may do on the contracts ``marginlab deploy`` creates.
ROLE_RIGHTS = {
    "deployer": ["creates every contract", "token.mint(to, amount) on every test token (it deployed them)",
                 "feed.setAnswer(answer) and feed.setRoundData(...) on every feed (it deployed them)",
                 "hostile tokens' settings (pause, block, fee: the deployer of a token only)"],
    "governor": ["vault.listMarket", "vault.setMarketParams", "vault.setLiquidationPolicy",
                 "vault.setLiquidationParams", "vault.setDustMinimums", "vault.setGuardian",
                 "vault.setGovernor (proposes; the new governor calls vault.acceptGovernance)",
                 "vault.withdrawReserves", "vault.setPaused (any flags, pause and unpause)",
                 "vault.setLiquidationGracePeriod (at most 4 h)", "router.setFeed", "router.setFeedBounds",
                 "router.setPriceBand", "router.setSequencerFeed", "router.resetBreaker",
                 "router.setGovernor (proposes; the new governor calls router.acceptGovernance)"],
    "guardian": ["vault.setPaused (pause only, one flag per call)"],
}


def load_markets(path: Path) -> list[Market]:
    """Markets of a deployment file, validated by the scenario's own model; every problem is one
    ``file:line: field: reason`` line in a ScenarioError."""
    doc = load_yaml_file(path)
    raw = doc.data.get("markets")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError([doc.issue(("markets",), "expected a non-empty list of markets")])
    markets: list[Market] = []
    problems: list[Issue] = []
    for i, item in enumerate(raw):
        try:
            markets.append(Market.model_validate(item))
        except ValidationError as exc:
            problems += [doc.issue(("markets", i, *err["loc"]), reason_of(doc, ("markets", i, *err["loc"]), dict(err)))
                         for err in exc.errors(include_url=False)]
    symbols = [m.symbol for m in markets]
    problems += [doc.issue(("markets",), f"duplicate symbol {s}")
                 for s in sorted({s for s in symbols if symbols.count(s) > 1})]
    if problems:
        raise ScenarioError(problems)
    return markets


@dataclass
class Roles:
    deployer: Signer
    governor: Signer
    guardian: Signer

    def entries(self) -> dict[str, RoleEntry]:
        return {name: RoleEntry(s.address, ROLE_RIGHTS[name], private_key(s), key_derivation("system", name))
                for name, s in (("deployer", self.deployer), ("governor", self.governor),
                                ("guardian", self.guardian))}


def client_name(client: str) -> str:
    """``Ganache/v7.9.2/...`` → ``ganache``; ``anvil/v1.7.1`` → ``anvil``."""
    return client.split("/", 1)[0].strip().lower() or "node"


def fund(chain: Chain, addresses: list[str]) -> list[str]:
    """Give each address 100 ether from the node's first unlocked account when it holds less than 1."""
    w3 = chain.w3
    accounts = chain.rpc(lambda: w3.eth.accounts)
    if not accounts:
        return ["the node has no unlocked account: the role keys hold no ether (send with --gas-price 0)"]
    log = []
    for address in map(to_checksum_address, addresses):
        if chain.rpc(partial(w3.eth.get_balance, address)) >= ROLE_ETHER_MIN:
            continue
        tx: TxParams = {"from": accounts[0], "to": address, "value": Wei(ROLE_ETHER), "gas": 21_000,
                        "gasPrice": Wei(0)}
        tx_hash = chain.rpc(partial(w3.eth.send_transaction, tx))
        chain.rpc(partial(w3.eth.wait_for_transaction_receipt, tx_hash, timeout=30))
        log.append(f"gave {address} 100 ether from the node's account {accounts[0]}")
    return log


class Deployer:
    """Deploys what a book lacks on one chain; :meth:`run` returns the new book and a log of what was done."""

    def __init__(self, chain: Chain, artifacts: Artifacts, url: str, source: str) -> None:
        self.chain = chain
        self.artifacts = artifacts
        self.url = url
        self.source = source
        self.roles = Roles(*(chain.signer("system", r) for r in ("deployer", "governor", "guardian")))

    def has_code(self, address: str | None) -> bool:
        if not address:
            return False
        return len(self.chain.rpc(partial(self.chain.w3.eth.get_code, to_checksum_address(address)))) > 0

    def entry(self, contract: Contract, name: str) -> ContractEntry:
        return ContractEntry(str(contract.address), name, abi_path(name))

    def run(self, markets: list[Market], previous: AddressBook | None) -> tuple[AddressBook, list[str]]:
        chain, art, roles = self.chain, self.artifacts, self.roles
        log = fund(chain, [roles.deployer.address, roles.governor.address, roles.guardian.address])
        start_block = int(chain.rpc(lambda: chain.w3.eth.block_number)) + 1  # the first contract's block
        ref = chain_ref(chain, self.url, start_block)
        old = previous if previous is not None and previous.chain.chain_id == ref.chain_id \
            and previous.chain.genesis_hash == ref.genesis_hash else None
        if old is not None and all(self.has_code(old.contracts.get(k, ContractEntry("", "", "")).address)
                                   for k in ("vault", "router")):
            book = AddressBook(ChainRef(ref.chain_id, ref.genesis_hash, ref.client, self.url,
                                        old.chain.deploy_block), self.source, dict(old.contracts),
                               dict(old.tokens), dict(old.feeds), roles.entries())
            router = chain.contract(book.contracts["router"].address, art.abi("OracleRouter"))
            vault = chain.contract(book.contracts["vault"].address, art.abi("Vault"))
            log.append(f"re-using OracleRouter {router.address} and Vault {vault.address}")
        else:
            router = chain.deploy(roles.deployer, art, "OracleRouter", roles.governor.address)
            vault, modules = deploy_vault(chain, art, roles.deployer, roles.deployer, roles.governor.address,
                                          roles.guardian.address, router.address)
            entries = {"router": self.entry(router, "OracleRouter"), "vault": self.entry(vault, "Vault")}
            entries.update({BOOK_KEYS[name]: self.entry(c, name) for name, c in modules.items()})
            book = AddressBook(ref, self.source, entries, roles=roles.entries())
            log.append(f"deployed OracleRouter {router.address} and Vault {vault.address}")
        listed = {str(a).lower() for a in chain.call(vault, "markets")}
        for m in markets:
            log.append(self.market(book, router, vault, listed, m))
        return book, log

    def market(self, book: AddressBook, router: Contract, vault: Contract, listed: set[str], m: Market) -> str:
        chain, art, roles = self.chain, self.artifacts, self.roles
        irm_name = "irm " + ",".join(str(x) for x in (m.irm.base, m.irm.slope1, m.irm.slope2, m.irm.kink))
        if not self.has_code(book.contracts.get(irm_name, ContractEntry("", "", "")).address):
            irm = chain.deploy(roles.deployer, art, "InterestRateModel", wad(m.irm.base), wad(m.irm.slope1),
                               wad(m.irm.slope2), wad(m.irm.kink))
            book.contracts[irm_name] = self.entry(irm, "InterestRateModel")
        old = book.tokens.get(m.symbol)
        if old is not None and self.has_code(old.address) and old.address.lower() in listed:
            return f"re-using market {m.symbol} ({old.address})"
        contract = m.token.contract
        token = chain.deploy(roles.deployer, art, contract, f"marginlab {m.symbol}", m.symbol, m.decimals,
                             *m.token.constructor_extra)
        feed = chain.deploy(roles.deployer, art, "SettableAggregator", m.feed_decimals,
                            to_units(Decimal(m.price), m.feed_decimals))
        chain.transact(roles.governor, router, "setFeed", token.address, feed.address, m.heartbeat)
        for fn, args in market_guard_calls(m):  # oracle_guards: bounds and circuit breaker (docs/oracle-guards.md)
            chain.transact(roles.governor, router, fn, token.address, *args)
        chain.transact(roles.governor, vault, "listMarket", token.address,
                       market_params(m, book.contracts[irm_name].address))
        book.tokens[m.symbol] = TokenEntry(str(token.address), contract, abi_path(contract), m.symbol, m.decimals,
                                           str(m.token), "deployer: token.mint(to, amount)")
        book.feeds[m.symbol] = FeedEntry(str(feed.address), "SettableAggregator", abi_path("SettableAggregator"),
                                         m.feed_decimals, m.heartbeat, "deployer: feed.setAnswer(answer)")
        return f"listed {m.symbol}: token {token.address}, feed {feed.address}"


def default_out(chain: Chain) -> Path:
    client = client_name(str(chain.rpc(lambda: chain.w3.client_version)))
    return DEPLOYMENTS / f"{client}-{chain.chain_id}.json"


def main_deploy(rpc_url: str, markets_file: Path, out: Path | None) -> list[str]:
    """Deploy and write the book; the lines to print. Nothing is written unless everything was deployed."""
    markets = load_markets(markets_file)
    if probe(rpc_url) is None:
        raise ChainError(f"no node answers at {rpc_url}: {START_HINT}, then deploy again; nothing was written")
    ensure_build()
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(rpc_url=rpc_url), RevertDecoder(artifacts.all_abis()))
    try:
        path = out if out is not None else default_out(chain)
        deployer = Deployer(chain, artifacts, rpc_url, f"marginlab deploy ({markets_file})")
        try:
            book, log = deployer.run(markets, read_book(path))
        except TxReverted as exc:
            raise ChainError(f"deploy reverted: {exc.reason}; nothing was written") from None
    finally:
        chain.close()
    book.write(path)
    return log + [f"address book → {path}"]
