"""I23, I24 and I25 as stateful rules, at any point of a machine's run (eth_call probes, plus transactions that
leave the model's state as it was: a pause and its lift, a guard and its removal).

- I23 (roles): a stranger neither pauses nor changes a parameter; the guardian pauses one flag and can neither
  unpause it nor change two flags in one call; while paused, deposit and repay still work and borrow is refused;
  the governor lifts the pause.
- I24 (deficit): after every step the vault's recorded deficit of each market equals the model's (bad debt the
  depositors could not bear above the index floor), and it falls only in a step that covered it; while a market has
  a deficit, a new deposit of a million whole tokens still fits its books (`check_deficits`, called from `check`).
- I25 (deposits and batch views): a stranger's deposit into someone else's sub-account is refused unless that
  sub-account holds the market; with one market's price refused, `accountStates` and `liquidatable` still answer
  for every sub-account, marking exactly those that hold the market.
"""
from __future__ import annotations

import brownie
from brownie import accounts, chain
from hypothesis import strategies as st

from chainkit import err
from vault_machine import count_step

U128 = 2**128 - 1
#: probes run per rule (the machine's test prints them, so a run that never drew a rule shows)
HARDENING_PROBES: dict[str, int] = {}


def _probe(name: str) -> None:
    HARDENING_PROBES[name] = HARDENING_PROBES.get(name, 0) + 1


class HardeningRules:
    """Mixed into a machine with CoreRules (plain tokens: the probes pay with them)."""

    st_flag = st.integers(min_value=0, max_value=2)

    # -------------------------------------------------- I23
    def rule_roles_and_pauses(self, st_user, st_sub, st_market="st_market", st_flag="st_flag"):
        count_step(self.NAME)
        v, gov = self.proto.vault, self.proto.gov
        guardian = accounts.at(v.guardian(), force=True)
        who, sub, key = self._who(st_user, st_sub)
        sym = self._sym(st_market)
        token, unit = self.proto[sym].token, 10**self.m[sym].decimals
        flags = [i == st_flag for i in range(3)]
        with brownie.reverts(revert_pattern=err("NotGuardian")):
            v.setPaused.call(*flags, {"from": who})
        with brownie.reverts(revert_pattern=err("NotGovernor")):
            v.setLiquidationGracePeriod.call(0, {"from": who})
        with brownie.reverts(revert_pattern=err("NotGovernor")):
            v.setMarketParams.call(token, v.marketParams(token), {"from": who})
        v.setPaused(*flags, {"from": guardian})
        try:
            with brownie.reverts(revert_pattern=err("GuardianCannotUnpause")):
                v.setPaused.call(False, False, False, {"from": guardian})
            with brownie.reverts(revert_pattern=err("GuardianPausesOneFlag")):
                v.setPaused.call(True, True, True, {"from": guardian})  # the two other flags in one call
            v.deposit.call(who, sub, token, unit, {"from": who})  # no pause blocks a deposit
            if self.m[sym].preview(chain[-1].timestamp).amount_of(key) < 0:
                v.repay.call(who, sub, token, 2**256 - 1, {"from": who})  # nor a repay
            if st_flag < 2:  # a borrow pause or a withdraw pause refuses every borrow
                with brownie.reverts(revert_pattern=err("BorrowPaused" if st_flag == 0 else "WithdrawPaused")):
                    v.borrow.call(sub, token, 1, who, {"from": who})
        finally:
            v.setPaused(False, False, False, {"from": gov})  # only the governor unpauses (grace period 0)
        assert not (v.borrowPaused() or v.withdrawPaused() or v.liquidatePaused())
        _probe("roles")

    # -------------------------------------------------- I25
    def rule_stranger_deposit(self, st_user, st_sub, st_market="st_market", st_payer="st_user"):
        count_step(self.NAME)
        who, sub, key = self._who(st_user, st_sub)
        n = len(self.users)
        payer = self.users[(st_user + 1 + st_payer % (n - 1)) % n]  # never the owner
        markets = self.preview_all(chain[-1].timestamp)
        held = [s for s in self.m if markets[s].balances.get(key, 0) != 0]
        # the drawn market, and one the sub-account holds (if any): refused unless held
        one_held = [held[st_market % len(held)]] if held else []
        for sym in dict.fromkeys([self._sym(st_market)] + one_held):
            token, unit = self.proto[sym].token, 10**self.m[sym].decimals
            if sym in held:
                self.proto.vault.deposit.call(who, sub, token, unit, {"from": payer})
            else:
                with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
                    self.proto.vault.deposit.call(who, sub, token, unit, {"from": payer})
            _probe("stranger deposit (held)" if sym in held else "stranger deposit (refused)")

    def rule_batch_views_with_one_price_refused(self, st_market="st_market"):
        count_step(self.NAME)
        sym = self._sym(st_market)
        token, router, gov, v = self.proto[sym].token, self.proto.router, self.proto.gov, self.proto.vault
        price = router.price(token)
        router.setFeedBounds(token, price, U128, {"from": gov})  # the feed now answers exactly its floor
        try:
            all_accounts = self.all_accounts()
            owners, subs = [a for a, _ in all_accounts], [s for _, s in all_accounts]
            states = v.accountStates(owners, subs)  # never reverts for the whole batch
            flags = v.liquidatable(owners, subs)
            t = chain[-1].timestamp
            markets = self.preview_all(t)
            for (who, sub), state, flag in zip(all_accounts, states, flags):
                key = (str(who), sub)
                holds = markets[sym].balances.get(key, 0) != 0
                assert state["unpriced"] == holds, f"I25 {key} unpriced={state['unpriced']} holds {sym}={holds}"
                if holds:
                    assert not flag
                    continue
                for tok, bal in zip(state["tokens"], state["balances"]):
                    assert int(bal) == markets[self.symbol_of(tok)].amount_of(key), f"I25 balance {key}"
                h = self.health_at(key, t, markets)
                assert state["healthMaint"] == h.health_maint, f"I25 {key} valued as without the refused price"
        finally:
            router.setFeedBounds(token, 0, U128, {"from": gov})
        _probe("batch views")

    # -------------------------------------------------- I24
    def rule_cover_deficit(self, st_market="st_market", st_pct="st_pct"):
        """Anyone may pay a deficit down; nothing else lowers it (check_deficits)."""
        sym = self._sym(st_market)
        mm = self.m[sym]
        owed = mm.books.deficit
        amount = owed * min(st_pct, 100) // 100
        if amount == 0:
            return
        count_step(self.NAME)
        payer = self.users[0]
        tx = self.proto.vault.coverDeficit(self.proto[sym].token, amount, False, {"from": payer})
        assert tx.events["DeficitCovered"]["deficit"] == owed - amount
        mm.books.deficit -= amount
        self.slack[sym + ":covered"] = 1
        _probe("deficit covered")
