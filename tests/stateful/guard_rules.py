"""I22 as a stateful rule: at any point of a machine's run, a price the router does not trust (at a bound, or moved
beyond the circuit breaker's band) is never used to borrow or withdraw, and liquidating on it fails too, while
deposit and repay still work.

The rule arms one guard on one market so that the price the feed answers now is untrusted, probes the vault with
eth_calls (they leave no state behind, so the model needs no update and the machine's exact parity holds), then
switches the guard off again. The probes act for a random sub-account in the machine's current state.
"""
from __future__ import annotations

import brownie
from hypothesis import strategies as st

from chainkit import err
from vault_machine import MAX, count_step

U128 = 2**128 - 1
#: guard → probes run (the machine's test reports it, so a run that never drew the rule shows)
PROBES: dict[str, int] = {}
GUARDS = {"floor": "PriceOutOfBounds", "cap": "PriceOutOfBounds", "band": "PriceMoveTooLarge"}


class OracleGuardRules:
    """Mixed into a machine with CoreRules (and LiquidationRules for the liquidation probe)."""

    st_guard = st.sampled_from(sorted(GUARDS))

    def rule_untrusted_price(self, st_user, st_sub, st_market="st_market", st_guard="st_guard"):
        count_step(self.NAME)
        who, sub, key = self._who(st_user, st_sub)
        sym = self._sym(st_market)
        mk, router, gov = self.proto[sym], self.proto.router, self.proto.gov
        token = mk.token
        price = router.price(token)
        answer = mk.feed.latestRoundData()[1]
        if st_guard == "floor":
            router.setFeedBounds(token, price, U128, {"from": gov})  # the feed answers exactly its floor
        elif st_guard == "cap":
            router.setFeedBounds(token, 0, price, {"from": gov})
        else:
            router.setPriceBand(token, 100, 3600, {"from": gov})  # 1 %, then the feed answers x2
            mk.feed.setAnswer(answer * 2, {"from": gov})
        name = err(GUARDS[st_guard])
        try:
            t = brownie.chain[-1].timestamp
            held = {s: mm.preview(t).amount_of(key) for s, mm in self.m.items()}
            # Borrowing the guarded asset always prices it (the account then holds it): refused by the guard.
            with brownie.reverts(revert_pattern=name):
                self.proto.vault.borrow.call(sub, token, 1, who, {"from": who})
            if held[sym] > 0 and any(v < 0 for v in held.values()):
                with brownie.reverts(revert_pattern=name):  # a withdrawal with debt needs the health check
                    self.proto.vault.withdraw.call(sub, token, 1, who, {"from": who})
            debts = [s for s, v in held.items() if v < 0]
            liquidator = getattr(self, "liquidator", None)
            if liquidator is not None and held[sym] > 0 and debts:
                with brownie.reverts():  # never liquidated at an untrusted price
                    self.proto.vault.liquidate.call(who, sub, self.proto[debts[0]].token, token, MAX, 0,
                                                    {"from": liquidator})
            self.proto.vault.deposit.call(who, sub, token, 1, {"from": who})  # needs no price
            if held[sym] < 0:
                self.proto.vault.repay.call(who, sub, token, MAX, {"from": who})  # needs no price either
        finally:
            if st_guard == "band":
                router.setPriceBand(token, 0, 0, {"from": gov})
                mk.feed.setAnswer(answer, {"from": gov})
            else:
                router.setFeedBounds(token, 0, U128, {"from": gov})
        assert router.price(token) == price
        PROBES[st_guard] = PROBES.get(st_guard, 0) + 1
