"""I24 reached by a machine, not only by unit tests: a rule that wipes a market out (mixed into the liquidation
machine with LiquidationRules).

`rule_wipe_out` builds, with the machine's own model-checked actions, a market whose whole deposit is lent to one
sub-account: the governor takes the market's reserves out (nothing left to cover a loss), a clean sub-account
deposits another market as collateral and borrows every unit the depositors supplied, then that collateral's
price crashes ten-million-fold and the sub-account is liquidated (`rule_liquidate`, requested all): the liquidation
seizes the collateral for a unit or two of debt and settles the rest in the same call. The loss is then the whole
deposit but those units, more than the depositors can bear above the deposit index floor (a millionth of the
start), so the rest is recorded as the market's deficit. Checked on top of the machine's after-every-step I24
(`check_deficits`: the vault's deficit equals the model's and falls only when covered):

- the deficit grew by exactly the loss beyond the floor (BadDebtSettled's debt - covered - socialised), and the
  deposit index stopped at the floor, never below (also checked after every step here);
- a new deposit after the wipe-out is not diluted: its balance is the amount deposited;
- `coverDeficit` lowers the deficit by exactly what it pays and cannot pay more than is owed.

The crashed price is put back afterwards, so the rest of the sequence runs at ordinary prices.
"""
from __future__ import annotations

import brownie
from decimal import Decimal

from brownie import history

from chainkit import err
from marginlab.model import vault as pm
from marginlab.numbers import plain
from vault_machine import WAD, count_step, model_debit, set_price, who_name

#: how often the rule ran to a recorded deficit, and why it did not (the machine's test prints them)
WIPE_OUTS: dict[str, int] = {}
CRASH = 10**7  # the collateral's price falls to 1/CRASH


def _count(name: str) -> None:
    WIPE_OUTS[name] = WIPE_OUTS.get(name, 0) + 1


class WipeOutRules:
    """Mixed into a machine with LiquidationRules and HardeningRules (plain tokens)."""

    REPLAY_NOTE = ("rule_wipe_out's withdrawal of reserves by the governor and its coverDeficit calls are not\n"
                   "scenario steps: a replay of a sequence with a wipe-out keeps the reserves and the deficit.")

    def rule_wipe_out(self, st_user, st_market="st_market", st_coll="st_coll"):
        syms = list(self.m)
        d = syms[st_market % len(syms)]
        c = syms[(st_market + 1 + st_coll % (len(syms) - 1)) % len(syms)]  # never d
        t = self.now_guess()
        markets = self.preview_all(t)
        if any(k for k, bal in markets[d].balances.items() if bal < 0):
            _count("skipped: the market already has borrowers")
            return
        clean = [(u, s) for u in range(len(self.users)) for s in range(len(self.subs))
                 if not any(markets[x].balances.get(self._who(u, s)[2], 0) for x in syms)]
        if not clean or markets[d].total_deposits - markets[d].deficit < 10 ** self.m[d].decimals // 100:
            _count("skipped: no empty sub-account or no deposit to lend")
            return
        count_step(self.NAME)
        user, sub = clean[st_user % len(clean)]
        who, sub_id, key = self._who(user, sub)
        v, gov = self.proto.vault, self.proto.gov
        md, mc = self.m[d], self.m[c]
        # 1. nothing left to cover a loss: the governor takes the reserves out (accrued to the transaction's block)
        if markets[d].reserves:
            tx = v.withdrawReserves(md.token, markets[d].reserves, gov, {"from": gov})
            books = self.preview_all(tx.timestamp)
            books[d].reserves -= tx.events["ReservesWithdrawn"]["amount"]
            self.commit(books, {d}, tx.timestamp)
        # 2. collateral worth twice the whole deposit, then borrow all of it
        now = self.preview_all(self.now_guess())[d]
        lend = now.total_deposits - now.deficit  # the deficit is deposits no token backs (I24): not lent
        value = lend * md.price // 10 ** md.decimals
        coll_units = 2 * value * 10 ** mc.decimals // mc.price * WAD // mc.books.params.asset_weight_init + 1
        size = -(-coll_units // 10 ** mc.decimals)  # whole tokens
        self.rule_deposit(user, sub, syms.index(c), size, 100)
        if now.deficit:
            # Every deposited unit is more than the cash above the reserves: the vault's own error, not the token's
            # (ERC20InsufficientBalance, before the liquidity check counted the deficit).
            everything = now.total_deposits - now.total_deposits // 10**8 - 2
            if self.predict_debit(key, d, everything, check_health_only_with_debt=False) == "InsufficientLiquidity":
                with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
                    v.borrow.call(sub_id, md.token, everything, who, {"from": who})
                _count("with a deficit: borrowing every deposited unit refused (InsufficientLiquidity)")
            else:
                _count("with a deficit: too small to refuse every deposited unit")
        amount = lend - lend // 10**8 - 2  # all but dust: a debt rounds up; borrows + deficit <= deposits
        if not self._borrow_exactly(who, sub_id, key, d, amount):
            action = self.log[-1].get("action", {})
            _count(f"stopped: the borrow was refused ({action.get('expect_revert') or action.get('may_revert')})")
            return
        # 3. the collateral crashes; the sub-account is liquidated (all), which settles what the collateral could not
        price_c = mc.price
        deficit_before = int(v.deficit(md.token))
        set_price(self, c, max(price_c // CRASH, 1))
        self.log.append({"prices": {c: plain(Decimal(mc.price) / WAD)}})
        try:
            before_liq = len(self.log)
            self.rule_liquidate(user, sub, syms.index(d), syms.index(c), 100)
            tx = history[-1]
            liquidated = len(self.log) > before_liq and "BadDebtSettled" in tx.events
        finally:
            set_price(self, c, price_c)
            self.log.append({"prices": {c: plain(Decimal(price_c) / WAD)}})
        if not liquidated:
            _count("stopped: no settlement in the liquidation")
            return
        ev = [e for e in tx.events["BadDebtSettled"] if str(e["token"]) == str(md.token)]
        deficit = int(v.deficit(md.token))
        assert len(ev) == 1, "one settlement of the wiped-out market"
        loss = ev[0]["debt"] - ev[0]["coveredByReserves"]
        assert deficit - deficit_before == loss - ev[0]["socialised"], "I24 deficit = the loss beyond the floor"
        index = int(v.marketState(md.token)[2])
        assert index >= pm.MIN_DEPOSIT_INDEX, "I24 the deposit index went below its floor"
        if deficit == deficit_before:
            _count("settled without a deficit")
            return
        assert index == pm.MIN_DEPOSIT_INDEX, "a deficit is recorded only once the index is at its floor"
        _count("wiped out: deficit recorded")
        # 4. a new deposit is not diluted by the old loss
        n = len(self.users)
        newcomer = (user + 1) % n
        nwho, nsub, nkey = self._who(newcomer, 0)
        had = int(v.balanceOf(nwho, nsub, md.token))
        self.rule_deposit(newcomer, 0, syms.index(d), 1, 100)
        got = int(v.balanceOf(nwho, nsub, md.token)) - had
        assert got >= 10 ** md.decimals - 1, f"I24 a deposit after the wipe-out was diluted: {got}"
        # 5. coverDeficit lowers it by what it pays, never more than owed
        payer = self.users[0]
        owed = self.m[d].books.deficit
        with brownie.reverts(revert_pattern=err("AmountAboveDeficit")):
            v.coverDeficit.call(md.token, owed + 1, False, {"from": payer})
        half = owed // 2 or owed
        tx = v.coverDeficit(md.token, half, False, {"from": payer})
        assert tx.events["DeficitCovered"]["deficit"] == owed - half == int(v.deficit(md.token))
        self.m[d].books.deficit -= half
        self.slack[d + ":covered"] = 1
        _count("deficit covered in part")

    def _borrow_exactly(self, who, sub, key, sym: str, amount: int) -> bool:
        """`rule_borrow` of exactly `amount` (the model's verdict, the same event checks); True if it succeeded."""
        mm = self.m[sym]
        expected = self.predict_debit(key, sym, amount, check_health_only_with_debt=False)

        def apply(tx, t):
            ev = tx.events["Borrow"]
            ch = model_debit(mm, key, amount, t)
            assert (ev["fromDeposit"], ev["scaledBalance"]) == (ch.from_deposit, ch.scaled)

        record = {"action": {"account": who_name(who), "position": sub, "borrow": {sym: self.whole(sym, amount)}}}
        return self.act(record, expected, lambda: self.proto.vault.borrow(sub, mm.token, amount, who, {"from": who}), apply)

    def check_deficits(self, books: dict) -> None:
        super().check_deficits(books)  # type: ignore[misc]
        for sym, mm in self.m.items():
            assert books[str(mm.token).lower()].depositIndex >= pm.MIN_DEPOSIT_INDEX, f"I24 {sym} index below floor"
