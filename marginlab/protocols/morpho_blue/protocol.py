"""Morpho Blue 1.0.0 behind the protocol boundary, compiled from npm ``@morpho-org/morpho-blue`` (BUSL-1.1:
non-production use permitted) with solc 0.8.19 by ``tools/build_peers.py``; our oracle, IRM, reader and keeper
live in ``peers/morpho-blue/``. How a plan maps onto Morpho's pair markets: :mod:`.layout`.
"""
from __future__ import annotations

import json
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, ClassVar

from typing_extensions import assert_never
from web3.contract import Contract
from web3.logs import DISCARD

from marginlab.chain import Artifacts, ReadMode, Signer
from marginlab.errors import ChainError
from marginlab.numbers import EXACT, UINT256_MAX, wad
from marginlab.protocols.base import (AccountView, BadDebtEvent, Call, Capabilities, KeeperOrder, Leg,
                                      LiquidationEvent, Mapping, Offer, Payment, Protocol, Reading, RoundResult)
from marginlab.protocols.morpho_blue.layout import NAME, TOKEN_KINDS, Layout, Pair, layout
from marginlab.protocols.morpho_blue.math import (MAX_FEE, WAD, incentive_factor, largest_liquidation, max_borrow,
                                                  mul_div_down, shares_for_seized, to_assets_up, to_shares_down)
from marginlab.protocols.morpho_blue.reads import MorphoReads, Snapshot
from marginlab.protocols.world import KEEPER, World
from marginlab.scenario.actions import Borrow, Deposit, Donate, Liquidate, Repay, SettleBadDebt, Transfer, Withdraw
from marginlab.scenario.plan import Plan
from marginlab.timeline import MarketState, PairState, SubAccountRef

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "build" / "peers" / "morpho-blue"
PACKAGE = ROOT / "node_modules" / "@morpho-org" / "morpho-blue" / "package.json"
RESERVES = "reserves"  # the fee recipient: Morpho's fee shares are the protocol's reserves


class MorphoBlue(Protocol):
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
        #: sub-account key → its address; address (lower case) → (owner, sub-account)
        self.address_of: dict[str, str] = {}
        self.key_of: dict[str, tuple[str, int]] = {}

    @classmethod
    def map_plan(cls, plan: Plan, *, strict: bool = False) -> Mapping:
        out = layout(plan, strict=strict)
        return Mapping(cls.name, tuple(out.decisions), tuple(out.refusals))

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
        self._events = chain.contract(morpho.address, peers.abi("EventsLib"))
        self._reads = MorphoReads(world, morpho, reader, self.layout, self.params, fee_recipient)

    def deploy_keeper(self) -> str:
        world = self.world
        keeper = world.signer(KEEPER)
        bot = world.chain.deploy(keeper, self.peers, "MorphoKeeper", self.morpho.address)
        world.name(bot.address, KEEPER)
        world.chain.transact(keeper, bot, "approveAll", [t.address for t in world.tokens.values()])
        self.bot = bot
        return str(bot.address)

    def custody(self) -> str:
        return str(self.morpho.address)

    # ------------------------------------------------------------------------------------------------ addresses
    def sub_signer(self, owner: str, sub: int) -> Signer:
        """Sub-account 0 is the owner's own address; sub-account k has an address of its own, named after the
        owner in timelines, which lets the owner act for it (Morpho's ``setAuthorization``)."""
        owner_signer = self.world.signer(owner)
        signer = owner_signer if sub == 0 else self.world.chain.signer("actor", f"{owner}#{sub}")
        key = f"{owner}/{sub}"
        if key not in self.address_of:
            self.address_of[key] = signer.address
            self.key_of[signer.address.lower()] = (owner, sub)
            if sub != 0:
                self.world.name(signer.address, owner)
                self.world.chain.transact(signer, self.morpho, "setAuthorization", owner_signer.address, True)
        return signer

    def sub_address(self, owner: str, sub: int) -> str:
        return self.sub_signer(owner, sub).address

    def market_index(self, pair: Pair) -> int:
        return self.layout.pairs.index(pair)

    # ------------------------------------------------------------------------------------------------ book
    def open_book(self) -> None:
        world = self.world
        for ref in self.sub_accounts:  # every sub-account's address (and its authorisation of the owner) first
            self.sub_signer(ref.owner, ref.sub_id)
        world.mint([(sym, world.address(a.name), amount) for a in self.plan.accounts
                    for sym, amount in a.wallet.items()])
        for lp in self.plan.liquidity:
            for sym, amount in lp.deposits.items():
                self._supply(-1, lp.name, 0, sym, amount)
        for acct in self.plan.accounts:
            for sub in acct.sub_ids:
                key = f"{acct.name}/{sub}"
                idx = [i for i in range(len(acct.positions)) if acct.sub_id(i) == sub]
                deposits: dict[str, int] = {}
                borrows: dict[str, int] = {}
                for i in idx:
                    for sym, amount in acct.positions[i].deposit.items():
                        deposits[sym] = deposits.get(sym, 0) + amount
                    for sym, amount in acct.positions[i].borrow.items():
                        borrows[sym] = borrows.get(sym, 0) + amount
                if key in self.layout.lenders:
                    for sym, amount in deposits.items():
                        self._supply(-1, acct.name, sub, sym, amount)
                    continue
                pair = self.layout.positions[key]
                self._setup_call(acct.name, f"deposit({world.amount(deposits[pair.collateral], pair.collateral)}, "
                                            f"sub {sub})", "deposit",
                                 self._collateral_call(acct.name, sub, pair, deposits[pair.collateral], "setup"))
                if borrows.get(pair.loan, 0) > 0:
                    self._setup_call(acct.name, f"borrow({world.amount(borrows[pair.loan], pair.loan)}, sub {sub})",
                                     "borrow", Call("", self.morpho, "borrow",
                                                    (self.params[self.market_index(pair)], borrows[pair.loan], 0,
                                                     self.sub_address(acct.name, sub), world.address(acct.name))))

    def _supply(self, step: int, owner: str, sub: int, sym: str, amount: int) -> None:
        """A lender's deposit: supplied evenly to every market that lends ``sym`` (idle when none does)."""
        if amount <= 0 or not self.layout.lending(sym):
            if amount > 0:
                self.world.mint([(sym, self.world.address(owner), amount)])
            return
        for call in self._supply_calls(owner, sub, sym, amount, f"deposit({self.world.amount(amount, sym)}, "
                                                               f"sub {sub})"):
            self._setup_call(owner, call.label, "deposit", call)

    def _setup_call(self, owner: str, label: str, kind: str, call: Call) -> None:
        signer = self.world.signer(owner)
        if call.pay is not None:
            self.world.fund(signer, call.pay.symbol, call.pay.amount, call.pay.spender)
        self.world.transact(-1, owner, label, signer, call.contract, call.fn, *call.args, gas_kind=kind)

    def _supply_calls(self, owner: str, sub: int, sym: str, amount: int, label: str) -> list[Call]:
        markets = self.layout.lending(sym)
        share, rest = divmod(amount, len(markets))
        on_behalf = self.sub_address(owner, sub)
        calls = []
        for n, pair in enumerate(markets):
            part = share + (rest if n == 0 else 0)
            if part > 0:
                calls.append(Call(label, self.morpho, "supply", (self.params[self.market_index(pair)], part, 0,
                                                                 on_behalf, b""),
                                  Payment(sym, part, self.morpho.address)))
        return calls

    def _collateral_call(self, owner: str, sub: int, pair: Pair, amount: int, label: str) -> Call:
        return Call(label, self.morpho, "supplyCollateral",
                    (self.params[self.market_index(pair)], amount, self.sub_address(owner, sub), b""),
                    Payment(pair.collateral, amount, self.morpho.address))

    # ------------------------------------------------------------------------------------------------ verbs
    def _position(self, key: str) -> tuple[Snapshot, int, Any]:
        pair = self.layout.positions[key]
        m = self.market_index(pair)
        owner, sub = key.split("/")
        snap = self.reads.snapshot([(m, self.sub_address(owner, int(sub)))])
        return snap, m, snap.positions[0]

    def encode(self, leg: Leg) -> list[Call]:
        action, sym, amount, label = leg.action, leg.symbol, leg.amount, leg.label
        world = self.world
        match action:
            case Deposit():
                assert sym is not None
                key = f"{action.owner}/{action.sub_id}"
                if key in self.layout.positions:
                    return [self._collateral_call(action.owner, action.sub_id, self.layout.positions[key], amount,
                                                  label)]
                return self._supply_calls(action.owner, action.sub_id, sym, amount, label)
            case Withdraw():
                assert sym is not None
                return self._withdraw_calls(action, sym, amount, label)
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
                    assets, shares = 0, self._position(key)[2].borrow_shares
                return [Call(label, self.morpho, "repay", (self.params[self.market_index(pair)], assets, shares,
                                                          self.sub_address(action.owner, action.sub_id), b""),
                             Payment(sym, amount, self.morpho.address, (action.owner, action.sub_id)))]
            case Donate():
                assert sym is not None
                return [Call(label, world.tokens[sym], "transfer", (self.morpho.address, amount),
                             Payment(sym, amount, None))]
            case Liquidate():
                key = f"{action.target}/{action.target_sub_id}"
                snap, m, pos = self._position(key)
                seized, shares = self._size(snap, m, pos, amount)
                return [Call(label, self.morpho, "liquidate",
                             (self.params[m], self.sub_address(action.target, action.target_sub_id), seized, shares,
                              b""),
                             Payment(action.debt, amount, self.morpho.address,
                                     (action.target, action.target_sub_id)))]
            case Transfer() | SettleBadDebt():
                raise AssertionError(f"{NAME} refuses {type(action).__name__} when the plan is mapped")
            case _:
                assert_never(action)

    def _withdraw_calls(self, action: Withdraw, sym: str, amount: int, label: str) -> list[Call]:
        key = f"{action.account}/{action.sub_id}"
        me = self.world.address(action.account)
        on_behalf = self.sub_address(action.account, action.sub_id)
        if key in self.layout.positions:
            pair = self.layout.positions[key]
            if amount == UINT256_MAX:
                amount = self._position(key)[2].collateral
            return [Call(label, self.morpho, "withdrawCollateral", (self.params[self.market_index(pair)], amount,
                                                                     on_behalf, me))]
        markets = self.layout.lending(sym)
        idx = [self.market_index(p) for p in markets]
        snap = self.reads.snapshot([(m, on_behalf) for m in idx])
        calls = []
        share, rest = divmod(amount, len(markets)) if amount != UINT256_MAX else (0, 0)
        for n, m in enumerate(idx):
            assets, shares = share + (rest if n == 0 else 0), 0
            if amount == UINT256_MAX:
                assets, shares = 0, snap.positions[n].supply_shares
            if assets or shares:
                calls.append(Call(label, self.morpho, "withdraw", (self.params[m], assets, shares, on_behalf, me)))
        return calls

    def _size(self, snap: Snapshot, m: int, pos: Any, amount: int) -> tuple[int, int]:
        """A liquidation of up to ``amount`` of debt (uint256 max: as much as Morpho allows), in Morpho's terms."""
        s = snap.pairs[m]
        lif = incentive_factor(s.pair.lltv)
        price = s.price or 0
        seized, shares = largest_liquidation(pos.collateral, pos.borrow_shares, s.borrow_assets, s.borrow_shares, price,
                                             lif)
        if amount != UINT256_MAX:
            most = shares or shares_for_seized(seized, s.borrow_assets, s.borrow_shares, price, lif)
            wanted = min(to_shares_down(amount, s.borrow_assets, s.borrow_shares), pos.borrow_shares)
            if wanted < most:
                return (0, wanted)
        return (seized, shares)

    def debt(self, owner: str, sub_id: int, symbol: str) -> int:
        key = f"{owner}/{sub_id}"
        if key not in self.layout.positions:
            return 0
        snap, m, pos = self._position(key)
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
                    return Reading(None, self.world.chain.decoder.decode(snap.pairs[m].price_error))
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
        pair = self.layout.positions.get(account.key)
        if pair is None:
            return []
        balances = account.state.balances
        coll, debt = balances.get(pair.collateral, 0), -balances.get(pair.loan, 0)
        if coll <= 0 or debt <= 0:
            return []
        lif = Decimal(incentive_factor(pair.lltv)) / WAD
        markets = self.world.markets
        with localcontext(EXACT):
            debt_value = Decimal(debt).scaleb(-markets[pair.loan].decimals) * prices[pair.loan]
            coll_value = Decimal(coll).scaleb(-markets[pair.collateral].decimals) * prices[pair.collateral] / lif
            value = min(debt_value, coll_value)
            return [Offer(pair.loan, pair.collateral, value, value * (lif - 1))] if value > 0 else []

    def run_keeper(self, orders: list[KeeperOrder]) -> RoundResult:
        """One liquidation per ``MorphoKeeper.run`` transaction, sized from a read just before it."""
        assert self.bot is not None
        result = RoundResult()
        for i, order in enumerate(orders):
            snap, m, pos = self._position(order.key)
            seized, shares = self._size(snap, m, pos, UINT256_MAX)
            op = (self.params[m], self.sub_address(order.owner, order.sub_id), seized, shares)
            receipt = self.world.chain.transact(self.world.signer(KEEPER), self.bot, "run", [op])
            failed = [self.world.chain.decoder.decode(bytes(ev["args"]["reason"]))
                      for ev in self.bot.events.Failed().process_receipt(receipt, errors=DISCARD)]
            if failed:
                result.failed[i] = failed[0]
                continue
            self.world.log_gas("liquidate", receipt)
            result.receipts.append(receipt)
        return result

    def decode_events(self, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent]:
        """Morpho's ``Liquidate`` events (decoded with EventsLib's ABI: solc 0.8.19 leaves library events out of
        Morpho's); the health factors before and after are read from the position once the transaction is in."""
        out: list[LiquidationEvent | BadDebtEvent] = []
        for ev in self._events.events.Liquidate().process_receipt(receipt, errors=DISCARD):
            a = ev["args"]
            owner, sub = self.key_of[a["borrower"].lower()]
            snap, m, pos = self._position(f"{owner}/{sub}")
            s = snap.pairs[m]
            before_hf, after_hf = self._health_factors(snap, m, pos, a)
            out.append(LiquidationEvent(a["caller"], self.world.address(owner), sub, s.pair.loan, s.pair.collateral,
                                        int(a["repaidAssets"]), int(a["seizedAssets"]), int(a["seizedAssets"]), 0,
                                        before_hf, after_hf))
            if int(a["badDebtAssets"]) > 0:
                out.append(BadDebtEvent(self.world.address(owner), sub, s.pair.loan, int(a["badDebtAssets"]), 0,
                                        int(a["badDebtAssets"])))
        return out

    def _health_factors(self, snap: Snapshot, m: int, pos: Any, a: Any) -> tuple[int | None, int | None]:
        """Morpho's health factor after the liquidation, and before it rebuilt from the event's amounts (the
        position and totals as Morpho saw them once it had accrued interest)."""
        s = snap.pairs[m]
        lltv, price = s.pair.lltv, s.price or 0

        def hf(collateral: int, shares: int, total_assets: int, total_shares: int) -> int | None:
            borrowed = to_assets_up(shares, total_assets, total_shares)
            return None if borrowed == 0 else mul_div_down(max_borrow(collateral, price, lltv), WAD, borrowed)

        repaid_sh, bad_sh = int(a["repaidShares"]), int(a["badDebtShares"])
        before = hf(pos.collateral + int(a["seizedAssets"]), pos.borrow_shares + repaid_sh + bad_sh,
                    s.borrow_assets + int(a["repaidAssets"]) + int(a["badDebtAssets"]),
                    s.borrow_shares + repaid_sh + bad_sh)
        return before, hf(pos.collateral, pos.borrow_shares, s.borrow_assets, s.borrow_shares)

    def provenance(self) -> dict[str, str]:
        version = json.loads(PACKAGE.read_text())["version"] if PACKAGE.is_file() else "unknown"
        compiler = (self.peers.load("Morpho").get("compiler") or {}) if (BUILD / "Morpho.json").is_file() else {}
        return {"protocol": self.name, "package": f"@morpho-org/morpho-blue {version} (npm)", "license": self.license,
                "compiler": f"solc {compiler.get('version', 'unknown')}",
                "evm_version": str(compiler.get("evm_version", "unknown"))}
