"""Aave v3 accounts in the simulator's terms: each sub-account's own address, and the book a plan opens.

Aave has no sub-accounts: an address is a margin account. Sub-account 0 is the owner's own address; sub-account
k is an address the owner's key names (``owner#k``, named after the owner in timelines), which delegates its
variable-debt credit to the owner (``approveDelegation``), so the owner borrows on its behalf and receives the
tokens, as Morpho's adapter lets the owner act for its sub-addresses. Anyone may supply or repay on behalf of
an address; only the address itself withdraws or moves its aTokens, so those calls are signed by it."""
from __future__ import annotations

from marginlab.chain import Signer
from marginlab.numbers import UINT256_MAX
from marginlab.protocols.aave_v3.deploy import VARIABLE_RATE_MODE, Deployment
from marginlab.protocols.base import Call, Payment
from marginlab.protocols.world import World
from marginlab.scenario.plan import Plan
from marginlab.timeline import SubAccountRef


class AaveBook:
    def __init__(self, world: World, plan: Plan, dep: Deployment, sub_accounts: list[SubAccountRef]) -> None:
        self.world = world
        self.plan = plan
        self.dep = dep
        self.sub_accounts = sub_accounts
        #: sub-account key → its address; address (lower case) → (owner, sub-account)
        self.address_of: dict[str, str] = {}
        self.key_of: dict[str, tuple[str, int]] = {}

    @staticmethod
    def signer_name(owner: str, sub: int) -> str | None:
        """The name of the signer of an address's own calls (None: the owner's, for sub-account 0)."""
        return None if sub == 0 else f"{owner}#{sub}"

    def sub_signer(self, owner: str, sub: int) -> Signer:
        world = self.world
        owner_signer = world.signer(owner)
        signer = owner_signer if sub == 0 else world.chain.signer("actor", f"{owner}#{sub}")
        key = f"{owner}/{sub}"
        if key not in self.address_of:
            self.address_of[key] = signer.address
            self.key_of[signer.address.lower()] = (owner, sub)
            if sub != 0:
                world.name(signer.address, owner)
                for sym in world.markets:
                    world.chain.transact(signer, self.dep.tokens[sym][1], "approveDelegation", owner_signer.address,
                                         UINT256_MAX)
        return signer

    def sub_address(self, owner: str, sub: int) -> str:
        return self.sub_signer(owner, sub).address

    def owner_of(self, address: str) -> tuple[str, int]:
        return self.key_of[address.lower()]

    # ------------------------------------------------------------------------------------------------ calls
    def supply(self, owner: str, sub: int, sym: str, amount: int, label: str) -> Call:
        asset = self.world.tokens[sym].address
        return Call(label, self.dep.pool, "supply", (asset, amount, self.sub_address(owner, sub), 0),
                    Payment(sym, amount, self.dep.pool.address))

    def borrow(self, owner: str, sub: int, sym: str, amount: int, label: str) -> Call:
        asset = self.world.tokens[sym].address
        return Call(label, self.dep.pool, "borrow", (asset, amount, VARIABLE_RATE_MODE, 0,
                                                     self.sub_address(owner, sub)))

    # ------------------------------------------------------------------------------------------------ book
    def open_book(self) -> None:
        """Every sub-account's address (and its delegation) first, then the lenders' supplies, then every
        position's supplies and borrows, one transaction each (gas logged as deposit and borrow)."""
        for ref in self.sub_accounts:
            self.sub_signer(ref.owner, ref.sub_id)
        for lp in self.plan.liquidity:
            for sym, amount in lp.deposits.items():
                self._setup(lp.name, "deposit", self.supply(lp.name, 0, sym, amount,
                                                            f"deposit({self.world.amount(amount, sym)}, sub 0)"))
        for acct in self.plan.accounts:
            for sub in acct.sub_ids:
                idx = [i for i in range(len(acct.positions)) if acct.sub_id(i) == sub]
                for kind, side in (("deposit", "deposit"), ("borrow", "borrow")):
                    totals: dict[str, int] = {}
                    for i in idx:
                        for sym, amount in getattr(acct.positions[i], side).items():
                            totals[sym] = totals.get(sym, 0) + amount
                    for sym, amount in totals.items():
                        if amount <= 0:
                            continue
                        label = f"{kind}({self.world.amount(amount, sym)}, sub {sub})"
                        make = self.supply if kind == "deposit" else self.borrow
                        self._setup(acct.name, kind, make(acct.name, sub, sym, amount, label))

    def _setup(self, owner: str, kind: str, call: Call) -> None:
        signer = self.world.signer(owner)
        if call.pay is not None:
            self.world.fund(signer, call.pay.symbol, call.pay.amount, call.pay.spender)
        self.world.transact(-1, owner, call.label, signer, call.contract, call.fn, *call.args, gas_kind=kind)
