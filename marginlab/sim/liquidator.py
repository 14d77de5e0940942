"""The keeper's loop after each step: read every sub-account, ask the keeper for orders, send them as one round,
re-read what the round touched, and go again until the keeper has nothing more to do."""
from __future__ import annotations

import random

from marginlab.errors import error_name
from marginlab.protocols.base import AccountView, KeeperOrder, Protocol, Reading
from marginlab.protocols.world import KEEPER
from marginlab.sim.keeper import RULES, LiquidationKeeper
from marginlab.sim.keepers import BalanceSheetKeepers
from marginlab.sim.oracle import Oracle
from marginlab.sim.recorder import Recorder
from marginlab.timeline import ActionRecord, SubAccountRef, SubAccountState

MAX_KEEPER_ROUNDS = 200


class Liquidator:
    def __init__(self, protocol: Protocol, keeper: LiquidationKeeper, oracle: Oracle, recorder: Recorder,
                 sub_accounts: list[SubAccountRef], rng: random.Random,
                 keepers: BalanceSheetKeepers | None = None) -> None:
        self.protocol = protocol
        self.keeper = keeper
        self.oracle = oracle
        self.recorder = recorder
        self.sub_accounts = sub_accounts
        self.rng = rng
        #: keepers with a balance sheet (``keepers:``) take the policy keeper's liquidations, or skip them
        self.keepers = keepers

    def views(self, states: dict[str, SubAccountState]) -> list[AccountView]:
        return [AccountView(ref.key, ref.owner, ref.sub_id, state, self.protocol.liquidatable(state))
                for ref in self.sub_accounts if (state := states.get(ref.key)) is not None]

    def run(self, step: int, records: list[ActionRecord]) -> Reading:
        """Liquidate until nothing is left to do; returns the last reading (for the step's record)."""
        self.keeper.start_step()
        reading = self.protocol.read_accounts()
        states = reading.accounts
        if not self.keeper.policy.enabled or states is None:
            return reading
        unpriced = dict(reading.unpriced)  # never offered to the keeper: the vault refuses to liquidate them
        prices = self.oracle.feed_prices  # what the protocol's feeds report (the path, unless oracles: lag it)
        for _ in range(MAX_KEEPER_ROUNDS):
            views = self.views(states)
            orders = self.keeper.update(self.rng, views, lambda acct: self.protocol.offers(acct, prices))
            if self.keepers is not None:
                self.keepers.observe(step, views)
            if not orders:
                break
            bad_debts = len(self.recorder.timeline.bad_debts)
            if self.keepers is None:
                self._round(step, orders, records)
                keys = {o.key for o in orders}
            else:
                keys = self._balance_sheet_round(step, orders, views, records)
                if not keys:
                    break
            # Within one block only the sub-accounts acted on can have changed, unless bad debt was socialised:
            # that lowers a deposit index and so every depositor's balance. Re-read just those, or everyone.
            everyone = len(self.recorder.timeline.bad_debts) > bad_debts
            touched = self.protocol.read_accounts(None if everyone else keys)
            if touched.accounts is None:
                return touched
            states = {**states, **touched.accounts}
            for key in touched.accounts:
                unpriced.pop(key, None)
            for key in touched.unpriced:
                states.pop(key, None)
            unpriced.update(touched.unpriced)
        return Reading(states, unpriced=unpriced)

    def _balance_sheet_round(self, step: int, orders: list[KeeperOrder], views: list[AccountView],
                             records: list[ActionRecord]) -> set[str]:
        """``keepers:``: the simulator's own bot settles bad debt; each liquidation goes to the keepers that find
        it worth taking (the rest are skipped for this step)."""
        assert self.keepers is not None
        settlements = [o for o in orders if o.is_settlement]
        if settlements:
            self._round(step, settlements, records)
        liquidations = [o for o in orders if not o.is_settlement]
        prices = self.oracle.feed_prices
        sent = self.keepers.round(step, liquidations, {v.key: v for v in views},
                                  lambda acct: self.protocol.offers(acct, prices), RULES[self.keeper.policy.choose],
                                  records, lambda receipt: self.recorder.events(step, receipt))
        for order in liquidations:
            if order.key not in sent:
                self.keeper.give_up(order.key)
        return sent | {o.key for o in settlements}

    def _round(self, step: int, orders: list[KeeperOrder], records: list[ActionRecord]) -> None:
        result = self.protocol.run_keeper(orders)
        for i, order in enumerate(orders):
            if i in result.failed:
                self.keeper.give_up(order.key)
                reason = result.failed[i]
                records.append(ActionRecord(step, KEEPER, order.label, False, "keeper", reason,
                                            error_name=error_name(reason)))
        for receipt in result.receipts:
            self.recorder.events(step, receipt)
