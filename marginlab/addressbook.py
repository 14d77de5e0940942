"""The address book: what was deployed on a running node, described well enough to drive it from outside
(cast, web3.py, a script) without reading marginlab's code.

``marginlab deploy`` writes one (``deployments/<client>-<chain id>.json``); ``marginlab replay --rpc-url`` writes
one per run (``addresses.json`` beside its report). It says which chain (chain id, genesis hash, the block of the
first deployment), every contract with its name and the path of its ABI under ``abi/``, every token with its
decimals, every feed with its decimals and heartbeat, and every role: which key holds it, what it may do, and the
key itself (these are throwaway keys of local dev chains, derived from a public text). A replay's book also names
its actors and says how far the replay moved the node's clock.

Dataclasses and JSON; only :func:`chain_ref` reads the chain a book describes.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marginlab.chain import Chain, Signer


BOOK_VERSION = 1
ABI_DIR = "abi"
ABOUT = ("Addresses of what marginlab deployed on a local node, with ABI paths (relative to the repository), token "
         "and feed decimals and the keys holding each role (throwaway dev-chain keys). Units: token amounts in the "
         "token's smallest unit (decimals below); feed answers with the feed's decimals; vault weights, bonus, "
         "shares, health and USD values in WAD (1e18 = 1). See docs/cast-and-web3.md.")


def key_derivation(role: str, name: str) -> str:
    """How marginlab derives a signer's key (marginlab.chain's signer_key), for the book's readers."""
    return f'keccak256("marginlab:{role}:{name}")'


def private_key(signer: Signer) -> str:
    return "0x" + bytes(signer.account.key).hex()


def abi_path(contract: str) -> str:
    """Where a contract's ABI is, relative to the repository: ``Vault`` → ``abi/Vault.json``,
    ``morpho-blue/Morpho`` → ``abi/morpho-blue/Morpho.json``."""
    return f"{ABI_DIR}/{contract}.json"


@dataclass(frozen=True)
class ChainRef:
    """The chain a book is about: a node restarted with the same chain id is another chain (genesis hash)."""

    chain_id: int
    genesis_hash: str
    client: str
    rpc_url: str
    #: the block of this book's first contract: none of them exists before it
    deploy_block: int


def chain_ref(chain: Chain, url: str, deploy_block: int) -> ChainRef:
    """The chain behind ``chain``, for a book whose first deployment is in ``deploy_block``."""
    genesis = chain.rpc(lambda: chain.w3.eth.get_block(0))
    client = str(chain.rpc(lambda: chain.w3.client_version))
    return ChainRef(chain.chain_id, "0x" + bytes(genesis["hash"]).hex(), client, url, deploy_block)


@dataclass(frozen=True)
class ContractEntry:
    address: str
    contract: str  # the artifact: its ABI is abi/<contract>.json
    abi: str


@dataclass(frozen=True)
class TokenEntry:
    address: str
    contract: str
    abi: str
    symbol: str
    decimals: int
    kind: str  # plain, fee-on-transfer (100 bps), ...
    #: who may mint it, and how
    minter: str


@dataclass(frozen=True)
class FeedEntry:
    address: str
    contract: str
    abi: str
    decimals: int
    #: seconds after its last round at which the oracle router refuses the price (StalePrice)
    heartbeat_s: int
    #: who may write its rounds, and how
    writer: str


@dataclass(frozen=True)
class RoleEntry:
    address: str
    #: what the role may do (function names)
    may: list[str]
    #: the private key (a throwaway dev-chain key) and how it is derived; None when marginlab does not hold it
    private_key: str | None = None
    derivation: str | None = None


@dataclass(frozen=True)
class ActorEntry:
    address: str
    private_key: str
    derivation: str


@dataclass
class AddressBook:
    chain: ChainRef
    written_by: str
    contracts: dict[str, ContractEntry] = field(default_factory=dict)
    tokens: dict[str, TokenEntry] = field(default_factory=dict)
    feeds: dict[str, FeedEntry] = field(default_factory=dict)
    roles: dict[str, RoleEntry] = field(default_factory=dict)
    #: a replay's actors (its accounts, lenders, the keeper): name → address and key
    actors: dict[str, ActorEntry] = field(default_factory=dict)
    #: a replay on a running node moved its clock: before, after, seconds, and what that means
    clock: dict[str, Any] | None = None
    about: str = ABOUT
    version: int = BOOK_VERSION

    def to_json(self) -> str:
        data = asdict(self)
        data = {"about": data.pop("about"), "version": data.pop("version"), **data}
        if data["clock"] is None:
            del data["clock"]
        if not data["actors"]:
            del data["actors"]
        return json.dumps(data, indent=1) + "\n"

    def write(self, path: Path) -> None:
        """Write atomically: a reader never sees half a book, and a failure leaves the old one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)


def read_book(path: Path) -> AddressBook | None:
    """The book at ``path``; None when there is none or it is not a book this version reads (a deploy then starts
    afresh rather than trusting it)."""
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version") != BOOK_VERSION:
            return None
        return AddressBook(
            chain=ChainRef(**raw["chain"]), written_by=raw["written_by"],
            contracts={k: ContractEntry(**v) for k, v in raw.get("contracts", {}).items()},
            tokens={k: TokenEntry(**v) for k, v in raw.get("tokens", {}).items()},
            feeds={k: FeedEntry(**v) for k, v in raw.get("feeds", {}).items()},
            roles={k: RoleEntry(**v) for k, v in raw.get("roles", {}).items()},
            actors={k: ActorEntry(**v) for k, v in raw.get("actors", {}).items()}, clock=raw.get("clock"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None

