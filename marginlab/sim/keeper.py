"""The liquidation keeper: an actor that looks at the state and *returns* orders (simtopia/verbs shape).

For each liquidatable sub-account it takes, among the liquidations the protocol offers, the one that repays the
most value this call; for each sub-account left with debt and no collateral it asks for a bad-debt settlement
when the protocol settles bad debt by a call of its own. The engine sends the orders and calls ``update`` again
until the keeper has nothing more to do.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Callable

from marginlab.numbers import EXACT, WAD
from marginlab.protocols.base import AccountView, KeeperOrder, Offer
from marginlab.scenario.model import Keeper as KeeperPolicy

MAX_ROUNDS_PER_ACCOUNT = 25  # a liquidation that keeps failing to help is given up after this many calls

OffersFn = Callable[[AccountView], list[Offer]]


def most_value(offers: list[Offer], health: Decimal) -> Offer | None:
    """The offer that repays the most value (the first such, in the protocol's order): what a liquidator paid by
    the incentive takes."""
    best: Offer | None = None
    for offer in offers:
        if best is None or offer.value > best.value:
            best = offer
    return best


def least_cost(offers: list[Offer], health: Decimal) -> Offer | None:
    """The offer that restores health (maintenance health back to ≥ 0: the health shortfall ``-health`` is covered
    by its health gain) at the least cost to the borrower; when no single call restores it, the one that buys
    the most health per dollar of cost. Ties: the first, in the protocol's order."""
    helpful = [o for o in offers if o.health_gain > 0]
    if not helpful:
        return most_value(offers, health)
    restoring = [o for o in helpful if o.health_gain >= -health]
    if restoring:
        best = restoring[0]
        for o in restoring[1:]:
            # the least cost to restore health: only as much of the call as needed, at the offer's cost rate
            if _cost_to_restore(o, health) < _cost_to_restore(best, health):
                best = o
        return best
    best = helpful[0]
    for o in helpful[1:]:
        if o.health_gain * best.cost > best.health_gain * o.cost:
            best = o
    return best


def _cost_to_restore(offer: Offer, health: Decimal) -> Decimal:
    with localcontext(EXACT):
        return offer.cost * (-health) / offer.health_gain


#: The keeper's rules (scenario ``keeper: {choose: ...}``).
RULES: dict[str, Callable[[list[Offer], Decimal], Offer | None]] = {"most-value": most_value,
                                                                    "least-cost": least_cost}


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
            choice = RULES[self.policy.choose](offers(acct), Decimal(acct.state.health_maint) / WAD)
            if choice is None:
                continue
            with localcontext(EXACT):
                if choice.profit < self.policy.min_profit:
                    continue
            self.rounds[acct.key] = self.rounds.get(acct.key, 0) + 1
            self.liquidations_this_step += 1
            orders.append(KeeperOrder(acct.key, acct.owner, acct.sub_id, choice.debt, choice.collateral, choice.value,
                                      absorb=choice.absorb))
        return orders
