"""Morpho Blue positions in the simulator's terms: each sub-account's own address, the book a plan opens, the
calls a verb becomes, and how big a liquidation Morpho accepts."""
from __future__ import annotations

from typing import Any

from web3.contract import Contract

from marginlab.chain import Signer
from marginlab.numbers import UINT256_MAX
from marginlab.protocols.base import Call, Payment
from marginlab.protocols.morpho_blue.layout import Layout, Pair
from marginlab.protocols.morpho_blue.math import (
    incentive_factor,
    largest_liquidation,
    shares_for_seized,
    to_shares_down,
)
from marginlab.protocols.morpho_blue.reads import MorphoReads, Snapshot
from marginlab.protocols.world import World
from marginlab.scenario.actions import Withdraw
from marginlab.scenario.plan import Plan
from marginlab.timeline import SubAccountRef


class MorphoBook:
    def __init__(self, world: World, plan: Plan, layout: Layout, sub_accounts: list[SubAccountRef], morpho: Contract,
                 params: list[tuple[str, str, str, str, int]], reads: MorphoReads) -> None:
        self.world = world
        self.plan = plan
        self.layout = layout
        self.sub_accounts = sub_accounts
        self.morpho = morpho
        self.params = params
        self.reads = reads
        #: sub-account key → its address; address (lower case) → (owner, sub-account)
        self.address_of: dict[str, str] = {}
        self.key_of: dict[str, tuple[str, int]] = {}

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
        for lp in self.plan.liquidity:
            for sym, amount in lp.deposits.items():
                self.supply(-1, lp.name, 0, sym, amount)
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
                        self.supply(-1, acct.name, sub, sym, amount)
                    continue
                pair = self.layout.positions[key]
                self._setup_call(acct.name, f"deposit({world.amount(deposits[pair.collateral], pair.collateral)}, "
                                            f"sub {sub})", "deposit",
                                 self.collateral_call(acct.name, sub, pair, deposits[pair.collateral], "setup"))
                if borrows.get(pair.loan, 0) > 0:
                    self._setup_call(acct.name, f"borrow({world.amount(borrows[pair.loan], pair.loan)}, sub {sub})",
                                     "borrow", Call("", self.morpho, "borrow",
                                                    (self.params[self.market_index(pair)], borrows[pair.loan], 0,
                                                     self.sub_address(acct.name, sub), world.address(acct.name))))

    def supply(self, step: int, owner: str, sub: int, sym: str, amount: int) -> None:
        """A lender's deposit: supplied evenly to every market that lends ``sym`` (idle when none does)."""
        if amount <= 0 or not self.layout.lending(sym):
            if amount > 0:
                self.world.mint([(sym, self.world.address(owner), amount)])
            return
        for call in self.supply_calls(owner, sub, sym, amount, f"deposit({self.world.amount(amount, sym)}, "
                                                               f"sub {sub})"):
            self._setup_call(owner, call.label, "deposit", call)

    def _setup_call(self, owner: str, label: str, kind: str, call: Call) -> None:
        signer = self.world.signer(owner)
        if call.pay is not None:
            self.world.fund(signer, call.pay.symbol, call.pay.amount, call.pay.spender)
        self.world.transact(-1, owner, label, signer, call.contract, call.fn, *call.args, gas_kind=kind)

    def supply_calls(self, owner: str, sub: int, sym: str, amount: int, label: str) -> list[Call]:
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

    def collateral_call(self, owner: str, sub: int, pair: Pair, amount: int, label: str) -> Call:
        return Call(label, self.morpho, "supplyCollateral",
                    (self.params[self.market_index(pair)], amount, self.sub_address(owner, sub), b""),
                    Payment(pair.collateral, amount, self.morpho.address))

    # ------------------------------------------------------------------------------------------------ verbs

    def position(self, key: str) -> tuple[Snapshot, int, Any]:
        pair = self.layout.positions[key]
        m = self.market_index(pair)
        owner, sub = key.split("/")
        snap = self.reads.snapshot([(m, self.sub_address(owner, int(sub)))])
        return snap, m, snap.positions[0]

    def withdraw_calls(self, action: Withdraw, sym: str, amount: int, label: str) -> list[Call]:
        key = f"{action.account}/{action.sub_id}"
        me = self.world.address(action.account)
        on_behalf = self.sub_address(action.account, action.sub_id)
        if key in self.layout.positions:
            pair = self.layout.positions[key]
            if amount == UINT256_MAX:
                amount = self.position(key)[2].collateral
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

    def size(self, snap: Snapshot, m: int, pos: Any, amount: int) -> tuple[int, int]:
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
