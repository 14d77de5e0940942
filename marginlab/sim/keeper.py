"""The liquidation keeper: an actor that looks at the state and *returns* actions (simtopia/verbs shape).

For each liquidatable sub-account it picks the debt/collateral pair that repays the most value this call
(respecting the close factor and the collateral available) among the pairs the vault accepts -- it refuses a
seizure that would lower the health factor of an account that can pay the bonus (IVaultLiquidation) -- and for
each sub-account left with debt and no collateral it asks for a bad-debt settlement. The engine executes the actions and calls ``update`` again until
the keeper has nothing more to do.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from marginlab.numbers import EXACT, WAD
from marginlab.scenario.model import Keeper as KeeperPolicy

CLOSE_FACTOR = Decimal("0.5")
FULL_CLOSE_HEALTH_FACTOR = Decimal("0.95")
MAX_ROUNDS_PER_ACCOUNT = 25  # a liquidation that keeps failing to help is given up after this many calls


@dataclass(frozen=True)
class MarketView:
    symbol: str
    decimals: int
    price: Decimal
    liquidation_bonus: Decimal
    protocol_share: Decimal
    #: Maintenance weights; None when unknown (then no pair is ruled out for lowering health).
    asset_weight_maint: Decimal | None = None
    liab_weight_maint: Decimal | None = None


@dataclass(frozen=True)
class SubAccountView:
    key: str
    owner: str
    sub_id: int
    balances: dict[str, int]
    health_maint: int
    health_factor: int | None
    #: USD WAD, as the vault values them; None when unknown.
    collateral_value: int | None = None
    debt_value: int | None = None


@dataclass(frozen=True)
class KeeperState:
    step: int
    markets: dict[str, MarketView]
    accounts: list[SubAccountView]


@dataclass(frozen=True)
class Liquidate:
    key: str
    owner: str
    sub_id: int
    debt: str
    collateral: str
    expected_repay_value: Decimal


@dataclass(frozen=True)
class SettleBadDebt:
    key: str
    owner: str
    sub_id: int


KeeperAction = Liquidate | SettleBadDebt


@dataclass
class LiquidationKeeper:
    policy: KeeperPolicy
    liquidations_this_step: int = 0
    rounds: dict[str, int] = field(default_factory=dict)
    given_up: set[str] = field(default_factory=set)

    def start_step(self) -> None:
        self.liquidations_this_step = 0
        self.rounds.clear()
        self.given_up.clear()

    def give_up(self, key: str) -> None:
        """The engine reports that an action on ``key`` failed: leave it alone for the rest of the step."""
        self.given_up.add(key)

    def update(self, rng: random.Random, state: KeeperState) -> list[KeeperAction]:
        if not self.policy.enabled:
            return []
        actions: list[KeeperAction] = []
        for acct in state.accounts:
            if acct.key in self.given_up:
                continue
            debts = {s: b for s, b in acct.balances.items() if b < 0}
            colls = {s: b for s, b in acct.balances.items() if b > 0}
            if debts and not colls:
                if self.policy.settle_bad_debt:
                    actions.append(SettleBadDebt(acct.key, acct.owner, acct.sub_id))
                continue
            if acct.health_maint >= 0 or not debts:
                continue
            cap = self.policy.max_liquidations_per_step
            if cap is not None and self.liquidations_this_step >= cap:
                continue
            if self.rounds.get(acct.key, 0) >= MAX_ROUNDS_PER_ACCOUNT:
                continue
            choice = best_pair(acct, state.markets)
            if choice is None:
                continue
            debt, coll, value = choice
            market = state.markets[coll]
            with localcontext(EXACT):
                profit = value * market.liquidation_bonus * (1 - market.protocol_share)
            if profit < self.policy.min_profit:
                continue
            self.rounds[acct.key] = self.rounds.get(acct.key, 0) + 1
            self.liquidations_this_step += 1
            actions.append(Liquidate(acct.key, acct.owner, acct.sub_id, debt, coll, value))
        return actions


def best_pair(acct: SubAccountView, markets: dict[str, MarketView]) -> tuple[str, str, Decimal] | None:
    """(debt, collateral, USD repaid) of the pair that repays the most value in one call."""
    hf = Decimal(acct.health_factor) / WAD if acct.health_factor is not None else None
    factor = Decimal(1) if hf is not None and hf < FULL_CLOSE_HEALTH_FACTOR else CLOSE_FACTOR
    best: tuple[Decimal, str, str] | None = None
    with localcontext(EXACT):
        for debt, d_bal in sorted(acct.balances.items()):
            if d_bal >= 0:
                continue
            d = markets[debt]
            debt_value = Decimal(-d_bal).scaleb(-d.decimals) * d.price * factor
            for coll, c_bal in sorted(acct.balances.items()):
                if c_bal <= 0 or lowers_health(acct, d, markets[coll]):
                    continue
                c = markets[coll]
                coll_value = Decimal(c_bal).scaleb(-c.decimals) * c.price / (1 + c.liquidation_bonus)
                value = min(debt_value, coll_value)
                if best is None or value > best[0]:
                    best = (value, debt, coll)
    if best is None or best[0] <= 0:
        return None
    return best[1], best[2], best[0]


def lowers_health(acct: SubAccountView, debt: MarketView, coll: MarketView) -> bool:
    """Whether the vault would refuse this pair (HealthFactorNotImproved): seizing ``coll`` for ``debt`` moves the
    health factor toward (1 + bonus) x wA_coll / wL_debt, so it falls when that is at or above the health factor,
    and the vault refuses that while collateral >= debt x (1 + bonus). Equality counts as lowering (rounding)."""
    if None in (acct.health_factor, acct.collateral_value, acct.debt_value, coll.asset_weight_maint,
                debt.liab_weight_maint):
        return False
    with localcontext(EXACT):
        if Decimal(acct.collateral_value) < Decimal(acct.debt_value) * (1 + coll.liquidation_bonus):
            return False  # cannot pay the bonus: the vault lets health fall on the way to closing the account
        target = (1 + coll.liquidation_bonus) * coll.asset_weight_maint / debt.liab_weight_maint
        return Decimal(acct.health_factor) / WAD <= target
