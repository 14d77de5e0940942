"""The address book of a replay on a running node (``marginlab replay --rpc-url URL``): ``addresses.json`` beside
the run's report, so what the replay left on the node can be inspected afterwards with cast or web3.py.

It lists the simulator's contracts (the batcher, which created the tokens and feeds and is their only minter and
writer), the protocol's (through :meth:`~marginlab.protocols.base.Protocol.deployment`), every token and feed,
the roles and the actors with their keys, and how far the replay moved the node's clock: a replay sets block
times from the scenario's ``advance:`` steps, and a node cannot be turned back, so whatever else lives on that
node (an earlier ``make deploy``'s feeds) is older by that much afterwards.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

from marginlab.addressbook import (
    ActorEntry,
    AddressBook,
    ContractEntry,
    FeedEntry,
    RoleEntry,
    TokenEntry,
    abi_path,
    chain_ref,
    key_derivation,
    private_key,
)
from marginlab.chain import Chain
from marginlab.errors import ChainError
from marginlab.protocols.base import Protocol
from marginlab.protocols.world import DEPLOYER, KEEPER, World
from marginlab.sim.engine import Replay

BOOK_NAME = "addresses.json"
MAX_SUB_IDS = 256  # sub-account ids are uint8
DEPLOYER_MAY = ["creates the batcher and the protocol's contracts",
                "drives the batcher (SimBatcher, owner only): mint(tokens, tos, amounts) mints any test token, "
                "setAnswers(...) writes the feeds"]


def duration(seconds: int) -> str:
    days, rem = divmod(max(seconds, 0), 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"


def utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def actor_entry(world: World, name: str, address: str) -> tuple[str, ActorEntry]:
    """An actor's name in the book, address and key. Every named address that is not a contract is a signer the
    replay used: the actor's own, or one more address the protocol gave it (Morpho Blue's isolated positions:
    ``<name>#<sub id>``)."""
    kind = "system" if name == KEEPER else "actor"
    signer = world.signer(name)  # made during the replay: no request to the node
    if signer.address.lower() == address.lower():
        return name, ActorEntry(signer.address, private_key(signer), key_derivation(kind, name))
    for sub in range(1, MAX_SUB_IDS):
        key = keccak(text=f"marginlab:{kind}:{name}#{sub}")
        if Account.from_key(key).address.lower() == address.lower():
            return f"{name}#{sub}", ActorEntry(Account.from_key(key).address, "0x" + key.hex(),
                                               key_derivation(kind, f"{name}#{sub}"))
    return f"{name} ({address})", ActorEntry(address, "", f"an address {name} acts through (key unknown)")


@dataclass
class ReplayBook:
    """Opened before a replay deploys anything (it notes the node's block and clock), written after it."""

    chain: Chain
    url: str
    first_block: int
    clock_before: int

    @classmethod
    def start(cls, chain: Chain, url: str) -> ReplayBook:
        return cls(chain, url, int(chain.rpc(lambda: chain.w3.eth.block_number)) + 1, chain.latest_timestamp())

    def book(self, world: World, protocol: Protocol, source: str) -> AddressBook:
        book = AddressBook(chain_ref(self.chain, self.url, self.first_block), source)
        if world.tokens:
            book.contracts["batcher"] = ContractEntry(str(world.batcher.address), "SimBatcher", abi_path("SimBatcher"))
        contracts, roles = protocol.deployment()
        for c in contracts:
            book.contracts[c.name] = ContractEntry(c.address, c.contract, abi_path(c.contract))
        for sym, token in world.tokens.items():
            m = world.markets[sym]
            book.tokens[sym] = TokenEntry(str(token.address), m.token.contract, abi_path(m.token.contract), sym,
                                          m.decimals, str(m.token), "batcher: SimBatcher.mint, sent by the deployer")
        for sym, feed in world.feeds.items():
            m = world.markets[sym]
            book.feeds[sym] = FeedEntry(str(feed.address), "SettableAggregator", abi_path("SettableAggregator"),
                                        m.feed_decimals, m.heartbeat,
                                        "batcher: SimBatcher.setAnswers, sent by the deployer")
        deployer = world.signer(DEPLOYER)
        book.roles[DEPLOYER] = RoleEntry(deployer.address, DEPLOYER_MAY, private_key(deployer),
                                         key_derivation("system", DEPLOYER))
        for role in roles:
            holder = world.signer(role.signer)
            kind = "system" if role.signer in (DEPLOYER, KEEPER) else "actor"
            book.roles[role.name] = RoleEntry(holder.address, [f"held by {role.signer}", *role.may],
                                              private_key(holder), key_derivation(kind, role.signer))
        contract_addresses = {e.address.lower() for e in book.contracts.values()}
        for address, name in sorted(world.names.items(), key=lambda kv: (kv[1], kv[0])):
            if name == DEPLOYER or address in contract_addresses:
                continue
            key, entry = actor_entry(world, name, address)
            book.actors[key] = entry
        return book

    def write(self, replay: Replay, source: str, folder: Path) -> list[str]:
        """Write ``addresses.json`` into ``folder``; the lines to print (the clock above all). A node that no longer
        answers gets a line saying so instead of a book."""
        try:
            book = self.book(replay.world, replay.protocol, source)
            after = self.chain.latest_timestamp()
        except ChainError as exc:
            return [f"no address book written: {exc}"]
        records = replay.timeline.records
        moved = records[-1].time if records else 0  # the scenario's advance: steps the replay made
        book.clock = {"latest_block_before": self.clock_before, "latest_block_after": after, "advanced_s": moved,
                      "note": f"this replay moved the node's clock forward by {duration(moved)} (its advance: "
                              f"steps) and left it there; price feeds nobody wrote since are that much older (see "
                              f"each feed's heartbeat_s)"}
        path = folder / BOOK_NAME
        book.write(path)
        if not moved:
            return [f"what the replay deployed on the node at {self.url} stays there → {path}"]
        return [f"the replay moved the clock of the node at {self.url} forward by {duration(moved)} (latest block "
                f"now at {utc(after)}); what it deployed there → {path}"]
