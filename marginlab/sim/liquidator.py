"""The keeper's loop after each step: read every sub-account, ask the keeper for orders, send them as one round,
re-read what the round touched, and go again until the keeper has nothing more to do."""
from __future__ import annotations

import random

from marginlab.errors import error_name
from marginlab.protocols.base import AccountView, KeeperOrder, Protocol, Reading
from marginlab.protocols.world import KEEPER
from marginlab.sim.keeper import LiquidationKeeper
from marginlab.sim.oracle import Oracle
from marginlab.sim.recorder import Recorder
from marginlab.timeline import ActionRecord, SubAccountRef, SubAccountState

MAX_KEEPER_ROUNDS = 200


class Liquidator:
    def __init__(self, protocol: Protocol, keeper: LiquidationKeeper, oracle: Oracle, recorder: Recorder,
                 sub_accounts: list[SubAccountRef], rng: random.Random) -> None:
        self.protocol = protocol
        self.keeper = keeper
        self.oracle = oracle
        self.recorder = recorder
        self.sub_accounts = sub_accounts
        self.rng = rng

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
        prices = self.oracle.feed_prices  # what the protocol's feeds report (the path, unless oracles: lag it)
        for _ in range(MAX_KEEPER_ROUNDS):
            orders = self.keeper.update(self.rng, self.views(states),
                                        lambda acct: self.protocol.offers(acct, prices))
            if not orders:
                break
            bad_debts = len(self.recorder.timeline.bad_debts)
            self._round(step, orders, records)
            # Within one block only the sub-accounts acted on can have changed, unless bad debt was socialised:
            # that lowers a deposit index and so every depositor's balance. Re-read just those, or everyone.
            everyone = len(self.recorder.timeline.bad_debts) > bad_debts
            touched = self.protocol.read_accounts(None if everyone else {o.key for o in orders})
            if touched.accounts is None:
                return touched
            states = {**states, **touched.accounts}
        return Reading(states)

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
