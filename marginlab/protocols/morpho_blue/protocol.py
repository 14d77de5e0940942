"""Morpho Blue 1.0.0 behind the protocol boundary, compiled from npm ``@morpho-org/morpho-blue`` (BUSL-1.1:
non-production use permitted) with solc 0.8.19 by ``tools/build_peers.py``; our oracle, IRM, reader and keeper
live in ``peers/morpho-blue/``. How a plan maps onto Morpho's pair markets: :mod:`.layout`.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from typing_extensions import assert_never
from web3.contract import Contract

from marginlab.chain import Artifacts, ReadMode
from marginlab.errors import ChainError, Issue
from marginlab.numbers import UINT256_MAX, wad
from marginlab.protocols.base import (
    AccountView,
    BadDebtEvent,
    Call,
    Capabilities,
    DeployedContract,
    KeeperOrder,
    Leg,
    LiquidationEvent,
    Mapping,
    Offer,
    Payment,
    Protocol,
    Reading,
    Role,
    RoundResult,
)
from marginlab.protocols.eoa_liquidators import EoaLiquidators, flash_refusal
from marginlab.protocols.morpho_blue.book import MorphoBook
from marginlab.protocols.morpho_blue.layout import NAME, TOKEN_KINDS, Layout, Pair, layout
from marginlab.protocols.morpho_blue.liquidation import MorphoLiquidations
from marginlab.protocols.morpho_blue.math import MAX_FEE
from marginlab.protocols.morpho_blue.reads import MorphoReads
from marginlab.protocols.world import DEPLOYER, KEEPER, World
from marginlab.scenario.actions import (
    Borrow,
    Deposit,
    Donate,
    GovernanceAct,
    Liquidate,
    Repay,
    SetParams,
    SettleBadDebt,
    Transfer,
    Withdraw,
)
from marginlab.scenario.plan import Plan
from marginlab.timeline import MarketState, PairState, SubAccountRef

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "build" / "peers" / "morpho-blue"
PACKAGE = ROOT / "node_modules" / "@morpho-org" / "morpho-blue" / "package.json"
RESERVES = "reserves"  # the fee recipient: Morpho's fee shares are the protocol's reserves


class MorphoBlue(EoaLiquidators, Protocol):
    name: ClassVar[str] = NAME
    license: ClassVar[str] = "BUSL-1.1 (Morpho Blue: non-production use permitted); GPL-2.0-or-later (peers/)"
    custody_name: ClassVar[str] = "morpho"
    capabilities: ClassVar[Capabilities] = Capabilities(
        cross_margin=False, isolation="market", liability_weights=False, close_factor=False, dust_rule=False,
        bad_debt="in-liquidation", token_kinds=TOKEN_KINDS)

    def __init__(self, world: World, plan: Plan, sub_accounts: list[SubAccountRef], reads: ReadMode = "chain") -> None:
        super().__init__(world, plan, sub_accounts, reads)
        self.layout: Layout = layout(plan)
        self.peers = Artifacts(build_dir=BUILD)
        self._morpho: Contract | None = None
        self._reads: MorphoReads | None = None
        self.bot: Contract | None = None
        self.params: list[tuple[str, str, str, str, int]] = []
        self._book: MorphoBook | None = None
        self._liquidations: MorphoLiquidations | None = None

    @classmethod
    def map_plan(cls, plan: Plan, *, strict: bool = False) -> Mapping:
        out = layout(plan, strict=strict)
        return Mapping(cls.name, tuple(out.decisions), tuple(out.refusals))

    @classmethod
    def governance_refusal(cls, act: GovernanceAct) -> str | None:
        if isinstance(act, SetParams):
            others = [c for c in act.changed if c != "reserve_factor"]
            if others:
                return (f"a Morpho Blue market's LLTV, oracle and rate model are fixed when it is created: only the "
                        f"fee (reserve_factor) can change, not {', '.join(others)}")
            return None
        return "Morpho Blue cannot be paused"

    def govern(self, act: GovernanceAct) -> list[Call]:
        """The owner sets the fee of every market that lends the asset (Morpho caps it at 25 %)."""
        assert isinstance(act, SetParams)
        fee = min(wad(act.market.reserve_factor), MAX_FEE)
        return [Call("", self.morpho, "setFee", (self.params[i], fee), signer=DEPLOYER)
                for i, pair in enumerate(self.layout.pairs) if pair.loan == act.symbol]

    @classmethod
    def extra_abis(cls) -> list[list[dict[str, Any]]]:
        return Artifacts(build_dir=BUILD).all_abis() if BUILD.is_dir() else []

    # ------------------------------------------------------------------------------------------------ deploy
    @property
    def morpho(self) -> Contract:
        assert self._morpho is not None, "deploy first"
        return self._morpho

    @property
    def reads(self) -> MorphoReads:
        assert self._reads is not None, "deploy first"
        return self._reads

    def deploy(self) -> None:
        if not (BUILD / "Morpho.json").is_file():
            raise ChainError(f"{BUILD}/Morpho.json not found: run `make compile` (it builds Morpho Blue from npm)")
        world, chain, peers = self.world, self.world.chain, self.peers
        deployer = world.deployer
        morpho = chain.deploy(deployer, peers, "Morpho", deployer.address)
        world.label(morpho.address, "morpho")
        fee_recipient = world.address(RESERVES)
        chain.transact(deployer, morpho, "setFeeRecipient", fee_recipient)
        irms: dict[tuple[int, int, int, int], str] = {}
        for lltv in sorted({p.lltv for p in self.layout.pairs}):
            chain.transact(deployer, morpho, "enableLltv", lltv)
        for pair in self.layout.pairs:
            coll, loan = world.markets[pair.collateral], world.markets[pair.loan]
            key = (wad(loan.irm.base), wad(loan.irm.slope1), wad(loan.irm.slope2), wad(loan.irm.kink))
            if key not in irms:
                irms[key] = chain.deploy(deployer, peers, "KinkedIrm", *key).address
                chain.transact(deployer, morpho, "enableIrm", irms[key])
            oracle = chain.deploy(deployer, peers, "ChainlinkPairOracle", world.feeds[pair.collateral].address,
                                  world.feeds[pair.loan].address, coll.decimals, loan.decimals)
            params = (world.tokens[pair.loan].address, world.tokens[pair.collateral].address, oracle.address,
                      irms[key], pair.lltv)
            chain.transact(deployer, morpho, "createMarket", params)
            fee = min(wad(loan.reserve_factor), MAX_FEE)
            if fee:
                chain.transact(deployer, morpho, "setFee", params, fee)
            self.params.append(params)
        reader = chain.deploy(deployer, peers, "MorphoReader")
        self._morpho = morpho
        self._reads = MorphoReads(world, morpho, reader, self.layout, self.params, fee_recipient)
        self._book = MorphoBook(world, self.plan, self.layout, self.sub_accounts, morpho, self.params, self._reads)

    def deploy_keeper(self) -> str:
        world = self.world
        keeper = world.signer(KEEPER)
        bot = world.chain.deploy(keeper, self.peers, "MorphoKeeper", self.morpho.address)
        world.name(bot.address, KEEPER)
        world.chain.transact(keeper, bot, "approveAll", [t.address for t in world.tokens.values()])
        self.bot = bot
        events = world.chain.contract(self.morpho.address, self.peers.abi("EventsLib"))
        self._liquidations = MorphoLiquidations(self.book, bot, events)
        return str(bot.address)

    def custody(self) -> str:
        return str(self.morpho.address)

    def deployment(self) -> tuple[list[DeployedContract], list[Role]]:
        out = [DeployedContract(name, str(c.address), contract) for name, c, contract in
               (("morpho", self._morpho, "morpho-blue/Morpho"),
                ("reader", self._reads.reader if self._reads is not None else None, "morpho-blue/MorphoReader"),
                ("keeper", self.bot, "morpho-blue/MorphoKeeper")) if c is not None]
        for loan, coll, oracle, irm, _ in self.params:
            pair = f"{self.world.symbol_of.get(coll.lower(), coll)}/{self.world.symbol_of.get(loan.lower(), loan)}"
            out.append(DeployedContract(f"oracle {pair}", oracle, "morpho-blue/ChainlinkPairOracle"))
            if all(c.address != irm for c in out):
                out.append(DeployedContract(f"irm {pair}", irm, "morpho-blue/KinkedIrm"))
        roles = [Role("owner", "deployer", ("morpho.enableIrm", "morpho.enableLltv", "morpho.setFee",
                                            "morpho.setFeeRecipient", "morpho.setOwner")),
                 Role("fee recipient", RESERVES, ("receives Morpho's fee shares (the protocol's reserves)",)),
                 Role("keeper owner", KEEPER, ("keeper.run (MorphoKeeper's liquidation rounds)",))]
        return out, roles

    @property
    def book(self) -> MorphoBook:
        assert self._book is not None, "deploy first"
        return self._book

    def sub_address(self, owner: str, sub: int) -> str:
        return self.book.sub_address(owner, sub)

    def market_index(self, pair: Pair) -> int:
        return self.book.market_index(pair)

    def open_book(self) -> None:
        self.book.open_book()

    # ------------------------------------------------------------------------------------------------ verbs
    def encode(self, leg: Leg) -> list[Call]:
        action, sym, amount, label = leg.action, leg.symbol, leg.amount, leg.label
        world = self.world
        match action:
            case Deposit():
                assert sym is not None
                key = f"{action.owner}/{action.sub_id}"
                if key in self.layout.positions:
                    return [self.book.collateral_call(action.owner, action.sub_id, self.layout.positions[key], amount,
                                                  label)]
                return self.book.supply_calls(action.owner, action.sub_id, sym, amount, label)
            case Withdraw():
                assert sym is not None
                return self.book.withdraw_calls(action, sym, amount, label)
            case Borrow():
                pair = self.layout.positions[f"{action.account}/{action.sub_id}"]
                return [Call(label, self.morpho, "borrow", (self.params[self.market_index(pair)], amount, 0,
                                                           self.sub_address(action.account, action.sub_id),
                                                           world.address(action.account)))]
            case Repay():
                assert sym is not None
                key = f"{action.owner}/{action.sub_id}"
                pair = self.layout.positions[key]
                assets, shares = amount, 0
                if amount == UINT256_MAX:
                    assets, shares = 0, self.book.position(key)[2].borrow_shares
                return [Call(label, self.morpho, "repay", (self.params[self.market_index(pair)], assets, shares,
                                                          self.sub_address(action.owner, action.sub_id), b""),
                             Payment(sym, amount, self.morpho.address, (action.owner, action.sub_id)))]
            case Donate():
                assert sym is not None
                return [Call(label, world.tokens[sym], "transfer", (self.morpho.address, amount),
                             Payment(sym, amount, None))]
            case Liquidate():
                key = f"{action.target}/{action.target_sub_id}"
                snap, m, pos = self.book.position(key)
                seized, shares = self.book.size(snap, m, pos, amount)
                return [Call(label, self.morpho, "liquidate",
                             (self.params[m], self.sub_address(action.target, action.target_sub_id), seized, shares,
                              b""),
                             Payment(action.debt, amount, self.morpho.address,
                                     (action.target, action.target_sub_id)))]
            case Transfer() | SettleBadDebt():
                raise AssertionError(f"{NAME} refuses {type(action).__name__} when the plan is mapped")
            case _:
                assert_never(action)

    def debt(self, owner: str, sub_id: int, symbol: str) -> int:
        key = f"{owner}/{sub_id}"
        if key not in self.layout.positions:
            return 0
        snap, m, pos = self.book.position(key)
        return snap.borrowed(m, pos)

    # ------------------------------------------------------------------------------------------------ reads
    def _queries(self, refs: list[SubAccountRef]) -> list[tuple[int, str]]:
        queries: list[tuple[int, str]] = []
        for ref in refs:
            address = self.sub_address(ref.owner, ref.sub_id)
            if ref.key in self.layout.positions:
                queries.append((self.market_index(self.layout.positions[ref.key]), address))
            else:
                queries += [(m, address) for m in range(len(self.layout.pairs))]
        return queries

    def read_accounts(self, keys: set[str] | None = None) -> Reading:
        refs = [r for r in self.sub_accounts if keys is None or r.key in keys]
        snap = self.reads.snapshot(self._queries(refs))
        out = {}
        k = 0
        for ref in refs:
            if ref.key in self.layout.positions:
                m = self.market_index(self.layout.positions[ref.key])
                pos = snap.positions[k]
                k += 1
                if snap.pairs[m].price is None and (pos.collateral or pos.borrow_shares):
                    return Reading(None, self.world.chain.decoder.decode(snap.pairs[m].price_error),
                                   f"the {snap.pairs[m].pair.name} oracle's price()")
                out[ref.key] = self.reads.borrower_state(snap, m, pos)
            else:
                supplied: dict[str, int] = {}
                for m in range(len(self.layout.pairs)):
                    sym = snap.pairs[m].pair.loan
                    supplied[sym] = supplied.get(sym, 0) + snap.supplied(m, snap.positions[k])
                    k += 1
                out[ref.key] = self.reads.lender_state(snap, supplied)
        return Reading(out)

    def read_markets(self) -> dict[str, MarketState]:
        snap = self.reads.latest()
        return self.reads.market_states(snap, self.reads.reserves(snap))

    def read_pairs(self) -> dict[str, PairState] | None:
        return self.reads.pair_states(self.reads.latest())

    # ------------------------------------------------------------------------------------------------ keeper
    def offers(self, account: AccountView, prices: dict[str, Decimal]) -> list[Offer]:
        return self.liquidations.offers(account, prices)

    def run_keeper(self, orders: list[KeeperOrder]) -> RoundResult:
        return self.liquidations.run_keeper(orders)

    def decode_events(self, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent]:
        return self.liquidations.decode_events(receipt)

    # keepers with a balance sheet (``keepers:``): each its own account, paid in the collateral
    @classmethod
    def keepers_refusal(cls, plan: Plan) -> Issue | None:
        return flash_refusal(cls.name, plan)

    def liquidator_spender(self) -> str:
        return str(self.morpho.address)

    def run_keeper_as(self, liquidator: Any, orders: list[KeeperOrder]) -> RoundResult:
        return self.liquidations.run_as(liquidator, orders)

    @property
    def liquidations(self) -> MorphoLiquidations:
        assert self._liquidations is not None, "deploy the keeper first"
        return self._liquidations

    def provenance(self) -> dict[str, str]:
        version = json.loads(PACKAGE.read_text())["version"] if PACKAGE.is_file() else "unknown"
        compiler = (self.peers.load("Morpho").get("compiler") or {}) if (BUILD / "Morpho.json").is_file() else {}
        return {"protocol": self.name, "package": f"@morpho-org/morpho-blue {version} (npm)", "license": self.license,
                "compiler": f"solc {compiler.get('version', 'unknown')}",
                "evm_version": str(compiler.get("evm_version", "unknown"))}
