"""The liquidation keeper: an actor that looks at the state and *returns* orders (simtopia/verbs shape).

For each liquidatable sub-account it takes, among the liquidations the protocol offers, the one that repays the
most value this call; for each sub-account left with debt and no collateral it asks for a bad-debt settlement
when the protocol settles bad debt by a call of its own. The engine sends the orders and calls ``update`` again
until the keeper has nothing more to do.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import localcontext
from typing import Callable

from marginlab.numbers import EXACT
from marginlab.protocols.base import AccountView, KeeperOrder, Offer
from marginlab.scenario.model import Keeper as KeeperPolicy

MAX_ROUNDS_PER_ACCOUNT = 25  # a liquidation that keeps failing to help is given up after this many calls

OffersFn = Callable[[AccountView], list[Offer]]


def most_value(offers: list[Offer]) -> Offer | None:
    """The offer that repays the most value (the first such, in the protocol's order)."""
    best: Offer | None = None
    for offer in offers:
        if best is None or offer.value > best.value:
            best = offer
    return best


@dataclass
class LiquidationKeeper:
    policy: KeeperPolicy
    #: the protocol settles debt left without collateral by a call the keeper sends (else it does so itself)
    settles_by_call: bool = True
    liquidations_this_step: int = 0
    rounds: dict[str, int] = field(default_factory=dict)
    given_up: set[str] = field(default_factory=set)

    def start_step(self) -> None:
        self.liquidations_this_step = 0
        self.rounds.clear()
        self.given_up.clear()

    def give_up(self, key: str) -> None:
        """The engine reports that an order on ``key`` failed: leave it alone for the rest of the step."""
        self.given_up.add(key)

    def update(self, rng: random.Random, accounts: list[AccountView], offers: OffersFn) -> list[KeeperOrder]:
        if not self.policy.enabled:
            return []
        orders: list[KeeperOrder] = []
        for acct in accounts:
            if acct.key in self.given_up:
                continue
            balances = acct.state.balances
            debts = {s: b for s, b in balances.items() if b < 0}
            colls = {s: b for s, b in balances.items() if b > 0}
            if debts and not colls:
                if self.settles_by_call and self.policy.settle_bad_debt:
                    orders.append(KeeperOrder(acct.key, acct.owner, acct.sub_id))
                continue
            if not acct.liquidatable or not debts:
                continue
            cap = self.policy.max_liquidations_per_step
            if cap is not None and self.liquidations_this_step >= cap:
                continue
            if self.rounds.get(acct.key, 0) >= MAX_ROUNDS_PER_ACCOUNT:
                continue
            choice = most_value(offers(acct))
            if choice is None:
                continue
            with localcontext(EXACT):
                if choice.profit < self.policy.min_profit:
                    continue
            self.rounds[acct.key] = self.rounds.get(acct.key, 0) + 1
            self.liquidations_this_step += 1
            orders.append(KeeperOrder(acct.key, acct.owner, acct.sub_id, choice.debt, choice.collateral, choice.value))
        return orders
