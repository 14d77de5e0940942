"""The shared body of the stateful machines: a shadow ledger on marginlab/model/vault.py and one checked action.

Every rule goes through `act()`: the model predicts the outcome (success, or the custom error the vault must
raise, or "either" when the answer sits within a second of interest of a boundary), the transaction is sent,
the outcome is compared, and on success the model applies the same operation at the transaction's block
timestamp. `check()` then reads one VaultLens call and one `accountStates` call and asserts the invariants
listed in each machine's module docstring against the model, to the wei where the math is exact.
"""
from __future__ import annotations

import copy
import os
import time
from decimal import Decimal
from typing import Any, Callable

import pytest
from brownie import chain, web3
from brownie.exceptions import VirtualMachineError
from eth_abi import decode as abi_decode

from marginlab.model import vault as pm
from chainkit import WAD, Books, check_books, feed_answer
from marginlab.numbers import plain

MAX = 2**256 - 1
EITHER = "either"


def either(error: str) -> str:
    """The verdict 'either outcome', with the error the vault would give if it reverts (a replay's may_revert)."""
    return f"{EITHER}:{error}"


def is_either(expected: str) -> bool:
    return expected.startswith(EITHER)
#: Health within this relative band of zero is "either": the model prices at a guessed timestamp.
HEALTH_BAND = 10**12  # 1e-6 of the debt value, WAD-relative

#: Executed steps, per machine name and in total; printed by tests/stateful/conftest.py.
STEPS: dict[str, int] = {}
#: Hostile-token coverage, printed beside the step counts: the issuer's acts and the transfers its token refused.
TOKEN_EVENTS: dict[str, int] = {}
#: Wall time spent inside machine runs (excludes deploys), for steps/s.
TIMING = {"since": None, "seconds": 0.0}
#: The full exit teardown (everyone repays and withdraws, then the books must be empty) runs on the first
#: example and every Nth after it: it costs a second of transactions per example, more than the example's steps.
TEARDOWN_EVERY = max(1, int(os.environ.get("MARGINLAB_TEARDOWN_EVERY", "3")))
_EXAMPLES = {"count": 0}
#: MARGINLAB_PROGRESS=FILE: a one-line status (steps per machine, examples begun) rewritten there every
#: PROGRESS_EVERY seconds, which `make fuzz` (tools/fuzz_machines.sh) prints while its hours-long run goes on.
PROGRESS_FILE = os.environ.get("MARGINLAB_PROGRESS", "")
PROGRESS_EVERY = 15.0
_PROGRESS = {"written": 0.0, "started": time.monotonic()}


#: What a paused or blocklisting token reverts with (PausableBlocklistToken).
TOKEN_ERRORS = ("EnforcedPause", "Blocked")


def count_step(machine: str) -> None:
    """Count one executed step of `machine`; refresh the progress file when one is asked for and due."""
    STEPS[machine] = STEPS.get(machine, 0) + 1
    if not PROGRESS_FILE:
        return
    now = time.monotonic()
    if now - _PROGRESS["written"] < PROGRESS_EVERY:
        return
    _PROGRESS["written"] = now
    parts = ", ".join(f"{name} {steps:,}" for name, steps in sorted(STEPS.items()))
    line = (f"{sum(STEPS.values()):,} steps ({parts}), {_EXAMPLES['count']:,} examples begun, "
            f"{now - _PROGRESS['started']:.0f} s\n")
    tmp = PROGRESS_FILE + ".tmp"
    with open(tmp, "w") as out:
        out.write(line)
    os.replace(tmp, PROGRESS_FILE)


def _abi_type(o: dict) -> str:
    if o["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in o["components"]) + ")" + o["type"][len("tuple"):]
    return o["type"]


class RawView:
    """A view call with fixed arguments through a bare `eth_call` and eth_abi: the calldata is encoded once and
    brownie's per-call ABI formatting (ReturnValue and struct objects, about 0.1 s for the lens) is skipped.
    Returns plain tuples/lists of ints and checksum-less lowercase address strings."""

    def __init__(self, method, *args) -> None:
        self.to = str(method._address)
        self.data = method.encode_input(*args)
        self.types = [_abi_type(o) for o in method.abi["outputs"]]

    def __call__(self):
        reply = web3.provider.make_request("eth_call", [{"to": self.to, "data": self.data}, "latest"])
        if "error" in reply:
            raise AssertionError(f"eth_call failed: {reply['error']}")
        return abi_decode(self.types, bytes.fromhex(reply["result"][2:]))


class ModelMarket:
    """One market in the shadow ledger: pm.MarketBooks plus what the vault keeps beside it."""

    def __init__(self, symbol: str, token: Any, decimals: int, params: pm.Params, rates: pm.RateModel, price: int, t0: int, fee=None):
        self.symbol, self.token, self.decimals = symbol, token, decimals
        self.books = pm.MarketBooks(decimals, params, rates)
        self.price = price
        self.last = t0
        self.fee = fee  # callable amount -> received, for fee-on-transfer tokens

    def received(self, amount: int) -> int:
        return self.fee(amount) if self.fee else amount

    def accrue_to(self, t: int) -> None:
        if t > self.last:
            self.books.accrue(t - self.last)
        self.last = max(self.last, t)

    def preview(self, t: int) -> pm.MarketBooks:
        b = copy.deepcopy(self.books)
        if t > self.last:
            b.accrue(t - self.last)
        return b


class VaultMachine:
    """Base of the machines. Subclasses set NAME, build the protocol in the test and pass it to __init__."""

    NAME = "vault"

    def __init__(self, proto: Any, users: list, subs: tuple, extra_accounts: list, fees: dict | None = None) -> None:
        self.proto = proto
        self.users = users
        self.subs = subs
        self.extra_accounts = extra_accounts  # (account, sub) pairs that may hold balances (liquidators)
        self.fees = fees or {}

    # brownie calls setup() at the start of every example, after reverting to the snapshot. The snapshot is the
    # same chain state every time (same block hash), so what setup reads from it is read once and copied.
    _setup_cache: dict = {}

    def setup(self) -> None:
        _EXAMPLES["count"] += 1
        head = chain[-1]
        cache_key = (id(self.proto), type(self).__name__, head.hash.hex())
        cached = VaultMachine._setup_cache.get(cache_key)
        self.boundary: set[int] = set()  # indexes into self.log of actions the model called either way
        if cached is not None:
            self.m = copy.deepcopy(cached, {id(mm.token): mm.token for mm in cached.values()})
            self.log, self.slack = [], {}
            self._idx = {}
            self.start = start_state(self.m)
            return
        self._setup_from_chain(head.timestamp)
        VaultMachine._setup_cache[cache_key] = copy.deepcopy(self.m, {id(mm.token): mm.token for mm in self.m.values()})
        self._idx = {}
        self.start = start_state(self.m)

    def _setup_from_chain(self, t0: int) -> None:
        p = self.proto
        self.m: dict[str, ModelMarket] = {}
        for sym, mk in p.markets.items():
            raw = p.vault.marketParams(mk.token)
            ms = p.vault.marketState(mk.token)
            rates = pm.RateModel(*[int(x) for x in (p.irm.baseRatePerYear(), p.irm.slope1PerYear(), p.irm.slope2PerYear(), p.irm.kink())])
            mm = ModelMarket(sym, mk.token, mk.decimals, pm.Params.from_chain(raw), rates, p.router.price(mk.token), int(ms[-1]), self.fees.get(sym))
            b = mm.books
            b.deposit_index, b.borrow_index = int(ms[2]), int(ms[3])
            b.total_deposit_scale, b.total_borrow_scale, b.reserves = int(ms[4]), int(ms[5]), int(ms[8])
            self.m[sym] = mm
        for who, sub in self.all_accounts():
            for sym, mm in self.m.items():
                s = int(p.vault.scaledBalanceOf(who, sub, mm.token))
                if s:
                    mm.books.balances[(str(who), sub)] = s
        self.log: list[dict] = []
        self.slack: dict[str, int] = {}

    def all_accounts(self) -> list:
        return [(u, s) for u in self.users for s in self.subs] + list(self.extra_accounts)

    # ------------------------------------------------------------------ model views
    def now_guess(self) -> int:
        return max(chain.time(), chain[-1].timestamp + 1)

    def health_at(self, key, t: int, markets: dict | None = None) -> pm.Health:
        markets = markets or {s: mm.preview(t) for s, mm in self.m.items()}
        positions = []
        for sym, mm in self.m.items():
            b = markets[sym]
            amt = b.amount_of(key)
            if amt:
                positions.append(pm.Position(amt, mm.price, mm.decimals, b.params))
        return pm.health(positions)

    def has_debt(self, key, markets) -> bool:
        return any(markets[s].balances.get(key, 0) < 0 for s in self.m)

    def has_deposit(self, key, markets) -> bool:
        return any(markets[s].balances.get(key, 0) > 0 for s in self.m)

    @staticmethod
    def health_verdict(h: pm.Health, error: str, init: bool = True) -> str:
        """'ok', `error`, or either(error) when within HEALTH_BAND of the boundary."""
        value = h.health_init if init else h.health_maint
        band = max(h.debt_value, h.collateral_value) // (WAD // HEALTH_BAND) + 10
        if abs(value) <= band:
            return either(error)
        return "ok" if value >= 0 else error

    # ------------------------------------------------------------------ tokens that refuse transfers
    def transfer_gate(self, sym: str, sender: Any, receiver: Any) -> str | None:
        """The error a transfer of `sym` from `sender` to `receiver` reverts with in the token itself (a paused or
        blocklisting token: EnforcedPause, Blocked), or None. Machines with such a token override it."""
        return None

    @staticmethod
    def gated(expected: str, gate: str | None) -> str | None:
        """The outcome of an action whose transfer out of the vault comes after all of the vault's checks: the
        vault's own error if it has one, else the token's. None (skip the action) when the vault's outcome is
        either way at a boundary: the token then makes it 'error or other error', which no scenario can say."""
        if gate is None or expected == "ok":
            return gate or expected
        return None if is_either(expected) else expected

    # ------------------------------------------------------------------ one checked action
    def act(self, record: dict, expected: str, send: Callable[[], Any], apply: Callable[[Any, int], None]) -> bool:
        """Send, compare with `expected` ('ok', an error name or either(error)), apply on success. True if it
        succeeded. The log records the outcome for the printed scenario: expect_revert, or may_revert at a boundary."""
        count_step(self.NAME)
        self.log.append(record)
        boundary = is_either(expected)
        if boundary:
            self.boundary.add(len(self.log) - 1)
        if expected in TOKEN_ERRORS:
            TOKEN_EVENTS["refused by the token"] = TOKEN_EVENTS.get("refused by the token", 0) + 1
        try:
            tx = send()
        except VirtualMachineError as e:
            name = (e.revert_msg or "").split(":")[0].strip()
            assert expected != "ok", f"{record}: the model expected success, the vault reverted {e.revert_msg}"
            if not boundary:
                assert name == expected, f"{record}: expected {expected}, got {e.revert_msg}"
            # the replay must see the same revert; at a boundary, this revert or success
            record["action"]["may_revert" if boundary else "expect_revert"] = name
            return False
        assert expected == "ok" or boundary, f"{record}: the model expected {expected}, the vault succeeded"
        if boundary:
            record["action"]["may_revert"] = expected.split(":", 1)[1]
        apply(tx, tx.timestamp)
        return True

    # ------------------------------------------------------------------ invariants after every step
    def check(self) -> None:
        p = self.proto
        accounts = self.all_accounts()
        owners = [a for a, _ in accounts]
        subs = [s for _, s in accounts]
        if getattr(self, "_views_for", None) is not p:
            self._lens = RawView(p.lens.invariants, p.vault, owners, subs)
            self._states = RawView(p.vault.accountStates, owners, subs)
            self._views_for = p
        raw = self._lens()[0]
        books = check_books(p, owners, subs,  # I1, I2, I3, I5, lock (I21)
                            books={r[0].lower(): Books(r[0].lower(), *r[1:]) for r in raw})
        t = chain[-1].timestamp
        for sym, mm in self.m.items():
            b = books[str(mm.token).lower()]
            mb = mm.preview(t)
            # Exact agreement with the integer model: scales, indexes, reserves (I1, I15, I18 by the model).
            assert (b.totalDepositScale, b.totalBorrowScale) == (mb.total_deposit_scale, mb.total_borrow_scale), sym
            assert (b.depositIndex, b.borrowIndex, b.reserves) == (mb.deposit_index, mb.borrow_index, mb.reserves), sym
            # I15: the indexes never fall except by socialised bad debt (recorded in self.slack).
            prev = getattr(self, "_idx", {}).get(sym)
            if prev:
                assert b.borrowIndex >= prev[1], f"I15 borrow index fell {sym}"
                if not self.slack.pop(sym + ":socialised", 0):
                    assert b.depositIndex >= prev[0], f"I15 deposit index fell {sym}"
            self._idx = getattr(self, "_idx", {})
            self._idx[sym] = (b.depositIndex, b.borrowIndex)
        states = self._states()[0]
        for (who, sub), st in zip(accounts, states):
            key = (str(who), sub)
            for tok, bal in zip(st[0], st[1]):
                sym = self.symbol_of(tok)
                assert int(bal) == self.m[sym].preview(t).amount_of(key), f"balance {key} {sym}"

    def symbol_of(self, token) -> str:
        for s, mm in self.m.items():
            if str(mm.token).lower() == str(token).lower():
                return s
        raise KeyError(token)

    # ------------------------------------------------------------------ failure output
    #: Said at the top of the scenario file when the replay cannot reproduce something.
    REPLAY_NOTE = ""

    def yaml(self) -> str:
        """This example's sequence as a complete scenario file that `marginlab replay` runs (machine_scenario.py)."""
        from machine_scenario import scenario_yaml
        return scenario_yaml(self)

    def whole(self, sym: str, units: int) -> str:
        """Units as exact whole tokens in plain notation (never 1E-18: a scenario amount is read from text)."""
        return plain(Decimal(units) / Decimal(10 ** self.m[sym].decimals))


def start_state(markets: dict[str, ModelMarket]) -> dict[str, tuple[int, dict]]:
    """Per market, the feed price (WAD) and every holder's amount when the example starts: the state a replay
    of its sequence has to set up before the first step."""
    return {sym: (mm.price, {key: mm.books.amount_of(key) for key in mm.books.balances})
            for sym, mm in markets.items()}


# ------------------------------------------------------------------ model operations shared by the machines
def model_credit(mm: ModelMarket, key, amount: int, t: int) -> pm.BalanceChange:
    mm.accrue_to(t)
    return mm.books.credit(key, amount)


def model_debit(mm: ModelMarket, key, amount: int, t: int) -> pm.BalanceChange:
    mm.accrue_to(t)
    return mm.books.debit(key, amount)


def set_price(machine: VaultMachine, sym: str, price_wad: int) -> None:
    mm = machine.m[sym]
    mk = machine.proto[sym]
    answer = price_wad * 10**mk.feed_decimals // WAD
    mk.feed.setAnswer(answer, {"from": machine.proto.gov})
    mm.price = answer * WAD // 10**mk.feed_decimals


# ------------------------------------------------------------------ the rules every machine shares
from hypothesis import strategies as st  # noqa: E402

from chainkit import DAY  # noqa: E402


class CoreRules(VaultMachine):
    """deposit / withdraw / borrow / repay / transfer / advance, each with its success and revert path.

    Amounts are a percentage of what the model says is available: 0 hits `ZeroAmount`, above 100 the
    over-limit error (InsufficientDeposit, AccountUnhealthy or InsufficientLiquidity), 100 means "all".
    """

    st_user = st.integers(min_value=0, max_value=2)
    st_sub = st.integers(min_value=0, max_value=1)
    st_pct = st.sampled_from([0, 1, 10, 25, 50, 75, 90, 99, 100, 101, 120, 200])
    st_seconds = st.sampled_from([1, 60, 3600, DAY, 7 * DAY, 30 * DAY])
    st_size = st.sampled_from([1, 10, 100, 1_000, 10_000])
    st_market = st.integers(min_value=0, max_value=11)

    def _who(self, user, sub):
        u = self.users[user % len(self.users)]
        return u, self.subs[sub % len(self.subs)], (str(u), self.subs[sub % len(self.subs)])

    def _sym(self, i):
        syms = list(self.m)
        return syms[i % len(syms)]

    # -------------------------------------------------- deposit
    def rule_deposit(self, st_user, st_sub, st_market="st_market", st_size="st_size", st_pct="st_pct"):
        who, sub, key = self._who(st_user, st_sub)
        sym = self._sym(st_market)
        mm = self.m[sym]
        amount = st_size * 10**mm.decimals * st_pct // 100
        guess = self.preview_all(self.now_guess())
        change = pm.credit(guess[sym].balances.get(key, 0), mm.received(amount), guess[sym].deposit_index, guess[sym].borrow_index)
        # Vault.deposit: zero amount, then the pull (the token's own refusal), then the rounding check.
        gate = self.transfer_gate(sym, who, self.proto.vault) if amount else None
        expected = "ZeroAmount" if amount == 0 else gate or \
            ("ZeroAmount" if change.debt_repaid == 0 and change.deposit_scale_delta == 0 else "ok")

        def apply(tx, t):
            ev = tx.events["Deposit"]
            assert ev["amount"] == mm.received(amount)
            ch = model_credit(mm, key, ev["amount"], t)
            assert ev["debtRepaid"] == ch.debt_repaid
            assert ev["scaledBalance"] == ch.scaled

        self.act({"action": {"account": who_name(who), "position": sub, "deposit": {sym: self.whole(sym, amount)}}}, expected,
                 lambda: self.proto.vault.deposit(who, sub, mm.token, amount, {"from": who}), apply)

    # -------------------------------------------------- withdraw
    def rule_withdraw(self, st_user, st_sub, st_market="st_market", st_pct="st_pct"):
        who, sub, key = self._who(st_user, st_sub)
        sym = self._sym(st_market)
        mm = self.m[sym]
        held = max(mm.preview(chain[-1].timestamp).amount_of(key), 0)
        amount = MAX if st_pct == 100 and held else held * st_pct // 100 if st_pct <= 100 else held * st_pct // 100 + 10**mm.decimals
        if amount == 0:
            expected = "ZeroAmount"
        elif amount != MAX and amount > held:
            expected = "InsufficientDeposit"
        else:
            expected = self.predict_debit(key, sym, held if amount == MAX else amount, check_health_only_with_debt=True)
        expected = self.gated(expected, self.transfer_gate(sym, self.proto.vault, who))
        if expected is None:
            return

        def apply(tx, t):
            ev = tx.events["Withdraw"]
            ch = model_debit(mm, key, ev["amount"], t)
            assert ev["scaledBalance"] == ch.scaled
            if amount == MAX:
                assert ch.scaled == 0

        self.act({"action": {"account": who_name(who), "position": sub, "withdraw": {sym: "all" if amount == MAX else self.whole(sym, amount)}}},
                 expected, lambda: self.proto.vault.withdraw(sub, mm.token, amount, who, {"from": who}), apply)

    # -------------------------------------------------- borrow
    def rule_borrow(self, st_user, st_sub, st_market="st_market", st_pct="st_pct"):
        who, sub, key = self._who(st_user, st_sub)
        sym = self._sym(st_market)
        mm = self.m[sym]
        t = self.now_guess()
        h = self.health_at(key, t)
        room = max(h.health_init, 0) * 10**mm.decimals // mm.price + max(mm.preview(t).amount_of(key), 0)
        amount = room * st_pct // 100 if room else (st_pct * 10**mm.decimals // 100)
        expected = "ZeroAmount" if amount == 0 else self.predict_debit(key, sym, amount, check_health_only_with_debt=False)
        expected = self.gated(expected, self.transfer_gate(sym, self.proto.vault, who))
        if expected is None:
            return

        def apply(tx, t):
            ev = tx.events["Borrow"]
            ch = model_debit(mm, key, amount, t)
            assert (ev["fromDeposit"], ev["scaledBalance"]) == (ch.from_deposit, ch.scaled)

        self.act({"action": {"account": who_name(who), "position": sub, "borrow": {sym: self.whole(sym, amount)}}}, expected,
                 lambda: self.proto.vault.borrow(sub, mm.token, amount, who, {"from": who}), apply)

    # -------------------------------------------------- repay
    def rule_repay(self, st_user, st_sub, st_market="st_market", st_pct="st_pct", st_payer="st_user"):
        who, sub, key = self._who(st_user, st_sub)
        payer = self.users[st_payer % len(self.users)]
        sym = self._sym(st_market)
        mm = self.m[sym]
        debt = max(-mm.preview(chain[-1].timestamp).amount_of(key), 0)
        amount = MAX if st_pct >= 100 else debt * st_pct // 100
        if amount == 0:
            expected = "ZeroAmount"
        elif debt == 0:
            expected = "NoDebt"
        else:  # the pull comes after both checks
            expected = self.transfer_gate(sym, payer, self.proto.vault) or "ok"

        def apply(tx, t):
            ev = tx.events["Repay"]
            mm.accrue_to(t)
            debt_now = -mm.books.amount_of(key)
            assert ev["amount"] == mm.received(min(amount, debt_now))
            ch = mm.books.credit(key, ev["amount"])
            assert ev["scaledBalance"] == ch.scaled

        owner = {} if payer == who else {"owner": who_name(who)}  # anyone may repay for a sub-account
        self.act({"action": {"account": who_name(payer), **owner, "position": sub, "repay": {sym: "all" if amount == MAX else self.whole(sym, amount)}}},
                 expected, lambda: self.proto.vault.repay(who, sub, mm.token, amount, {"from": payer}), apply)

    # -------------------------------------------------- transfer between sub-accounts
    def rule_transfer(self, st_user, st_sub, st_market="st_market", st_pct="st_pct", st_to="st_sub"):
        who, sub, key = self._who(st_user, st_sub)
        to = self.subs[st_to % len(self.subs)]
        sym = self._sym(st_market)
        mm = self.m[sym]
        held = max(mm.preview(chain[-1].timestamp).amount_of(key), 0)
        amount = held * st_pct // 100 if st_pct <= 100 else held + 10**mm.decimals
        if to == sub:
            expected = "SameSubAccount"
        elif amount == 0:
            expected = "ZeroAmount"
        elif amount > held:
            expected = "InsufficientDeposit"
        else:
            expected = self.predict_debit(key, sym, amount, check_health_only_with_debt=True, liquidity=False)

        def apply(tx, t):
            model_debit(mm, key, amount, t)
            mm.books.credit((str(who), to), amount)

        self.act({"action": {"account": who_name(who), "position": sub, "transfer": {"to_position": to, "amounts": {sym: self.whole(sym, amount)}}}},
                 expected, lambda: self.proto.vault.transfer(sub, to, mm.token, amount, {"from": who}), apply)

    # -------------------------------------------------- time
    def rule_advance(self, st_seconds):
        count_step(self.NAME)
        chain.sleep(st_seconds)
        chain.mine()
        self.log.append({"advance": st_seconds})

    # -------------------------------------------------- predictions
    def preview_all(self, t: int) -> dict:
        return {s: mm.preview(t) for s, mm in self.m.items()}

    def predict_debit(self, key, sym, amount, *, check_health_only_with_debt: bool, liquidity: bool = True) -> str:
        """Outcome of taking `amount` of `sym` out of `key`: liquidity first, then health (Vault order)."""
        t = self.now_guess()
        markets = self.preview_all(t)
        b = markets[sym]
        b.debit(key, amount)
        if liquidity and b.total_borrows > b.total_deposits:
            gap = b.total_borrows - b.total_deposits
            return either("InsufficientLiquidity") if gap * 10**6 <= b.total_deposits + 10**6 \
                else "InsufficientLiquidity"
        if liquidity and b.total_deposits - b.total_borrows <= b.total_deposits // 10**6 + 2:
            return either("InsufficientLiquidity")
        if check_health_only_with_debt and not self.has_debt(key, markets):
            return "ok"
        return self.health_verdict(self.health_at(key, t, markets), "AccountUnhealthy")

    # -------------------------------------------------- invariants and teardown
    def invariant_books(self):
        self.check()

    def teardown(self):
        """Everyone who can exits: debts repaid in full, then every deposit withdrawn (first example and every
        TEARDOWN_EVERY-th: the next example starts from the snapshot either way)."""
        if (_EXAMPLES["count"] - 1) % TEARDOWN_EVERY:
            return
        v = self.proto.vault
        for who, sub in self.all_accounts():
            for sym, mm in self.m.items():
                bal = v.balanceOf(who, sub, mm.token)
                if bal < 0:
                    while v.balanceOf(who, sub, mm.token) < 0:  # fee tokens leave a remainder per repay
                        debt = -v.balanceOf(who, sub, mm.token)
                        v.deposit(who, sub, mm.token, debt * 2 + 10**mm.decimals, {"from": who})
        for who, sub in self.all_accounts():
            for sym, mm in self.m.items():
                if v.scaledBalanceOf(who, sub, mm.token) > 0 and v.balanceOf(who, sub, mm.token) > 0:
                    v.withdraw(sub, mm.token, MAX, who, {"from": who})
        for sym, mm in self.m.items():
            s = v.marketState(mm.token)
            assert s[5] == 0, f"{sym}: borrow scale left after everyone repaid"
            # Only sub-accounts whose scale is worth less than one unit may remain (dust, rounded down).
            assert s[6] <= len(self.all_accounts()), f"{sym}: deposits left after everyone withdrew"
            assert mm.token.balanceOf(v) >= s[8], f"{sym}: I2 reserves not covered after exit"


def who_name(account) -> str:
    return NAMES.get(str(account), str(account))


NAMES: dict[str, str] = {}


class LiquidationRules(CoreRules):
    """Price moves, liquidations and bad-debt settlement on top of the core rules (machine b)."""

    st_move = st.sampled_from([-60, -40, -25, -10, -5, 5, 10, 25, 40])
    st_coll = st.integers(min_value=0, max_value=11)

    def rule_move_price(self, st_market="st_market", st_move="st_move"):
        count_step(self.NAME)
        sym = self._sym(st_market)
        new = max(self.m[sym].price * (100 + st_move) // 100, WAD // 100)
        set_price(self, sym, new)
        # The price the feed now answers (truncated to its decimals), which a replay's feed can answer exactly.
        self.log.append({"prices": {sym: plain(Decimal(self.m[sym].price) / WAD)}})

    def rule_liquidate(self, st_user, st_sub, st_market="st_market", st_coll="st_coll", st_pct="st_pct"):
        who, sub, key = self._who(st_user, st_sub)
        liq = self.liquidator
        lkey = (str(liq), 0)
        d, c = self._sym(st_market), self._sym(st_coll)
        md, mc = self.m[d], self.m[c]
        t = self.now_guess()
        markets = self.preview_all(t)
        h = self.health_at(key, t, markets)
        debt = max(-markets[d].amount_of(key), 0)
        held = max(markets[c].amount_of(key), 0)
        requested = MAX if st_pct >= 100 else max(debt * st_pct // 100, 0)
        if requested == 0:
            expected = "ZeroAmount"
        else:
            verdict = self.health_verdict(h, "AccountHealthy", init=False)
            if verdict == "ok":
                expected = "AccountHealthy"
            elif is_either(verdict):
                expected = verdict
            elif debt == 0:
                expected = "NoDebt"
            elif held == 0:
                expected = "NoCollateral"
            else:
                q = self.quote(key, d, c, requested, t)
                expected = "NothingToLiquidate" if q.repaid == 0 or q.seized == 0 else "ok"
                if q.repaid <= 2 or q.seized <= 2:
                    expected = either("NothingToLiquidate")  # a second of interest can flip a dust quote

        def apply(tx, t):
            ev = tx.events["Liquidated"]
            before = self.health_at(key, t)
            q = self.quote(key, d, c, requested, t)
            assert (ev["repaid"], ev["seizedTotal"], ev["toLiquidator"], ev["protocolCut"]) == (q.repaid, q.seized, q.to_liquidator, q.protocol_cut)
            assert before.health_maint < 0  # I8
            # I10: seized value ≤ repaid value × (1 + bonus)
            bonus = mc.books.params.liquidation_bonus
            assert pm.value_down(q.seized, mc.price, mc.decimals) <= pm.w_mul_up(pm.value_up(q.repaid, md.price, md.decimals), WAD + bonus)
            md.accrue_to(t)
            mc.accrue_to(t)
            md.books.credit(key, q.repaid)
            mc.books.debit(key, q.seized)
            mc.books.reserves += q.protocol_cut
            mc.books.credit(lkey, q.to_liquidator)
            markets_now = {s: mm.books for s, mm in self.m.items()}
            if self.has_debt(key, markets_now) and not self.has_deposit(key, markets_now):
                self.settle_model(key, t, tx)
            after = self.health_at(key, t)
            # I9: the health factor rises while collateral covers debt × (1 + bonus).
            if before.collateral_value >= pm.w_mul_up(before.debt_value, WAD + bonus) and after.debt_maint:
                assert ev["healthFactorAfter"] >= ev["healthFactorBefore"], "I9"

        self.act({"action": {"account": who_name(liq), "liquidate": {"account": who_name(who), "position": sub, "debt": d, "collateral": c,
                                                                     "amount": "all" if requested == MAX else self.whole(d, requested)}}},
                 expected, lambda: self.proto.vault.liquidate(who, sub, md.token, mc.token, requested, 0, {"from": liq}), apply)

    def rule_settle_bad_debt(self, st_user, st_sub):
        who, sub, key = self._who(st_user, st_sub)
        books = {s: mm.books for s, mm in self.m.items()}
        if not self.has_debt(key, books):
            expected = "AccountHasNoDebt"
        elif self.has_deposit(key, books):
            expected = "AccountHasCollateral"
        else:
            expected = "ok"
        self.act({"action": {"account": who_name(self.liquidator), "settle_bad_debt": {"account": who_name(who), "position": sub}}}, expected,
                 lambda: self.proto.vault.settleBadDebt(who, sub, {"from": self.liquidator}),
                 lambda tx, t: self.settle_model(key, t, tx))

    def quote(self, key, d, c, requested, t) -> pm.LiquidationQuote:
        markets = self.preview_all(t)
        h = self.health_at(key, t, markets)
        md, mc = self.m[d], self.m[c]
        pair = pm.Pair(md.price, md.decimals, mc.price, mc.decimals, mc.books.params.liquidation_bonus)
        return pm.quote_liquidation(-markets[d].amount_of(key), markets[c].amount_of(key), requested, h.health_factor,
                                    pair, mc.books.params.protocol_share, int(self.proto.vault.dustValue()))

    def settle_model(self, key, t, tx) -> None:
        """Vault._settleBadDebt, checked against the BadDebtSettled events (I13, I14)."""
        events = {str(e["token"]): e for e in tx.events["BadDebtSettled"]} if "BadDebtSettled" in tx.events else {}
        for sym, mm in self.m.items():
            b = mm.books
            s = b.balances.get(key, 0)
            if s >= 0:
                continue
            mm.accrue_to(t)
            debt = pm.debt_amount_up(-s, b.borrow_index)
            covered = min(debt, b.reserves)
            socialised = debt - covered
            b.reserves -= covered
            b.total_borrow_scale += s
            b.balances[key] = 0
            old_index = b.deposit_index
            if socialised:
                if b.total_deposit_scale == 0:
                    socialised = 0
                else:
                    b.deposit_index = pm.socialise(b.deposit_index, b.total_deposit_scale, socialised)
                    self.slack[sym + ":socialised"] = 1
            ev = events[str(mm.token)]
            assert (ev["debt"], ev["coveredByReserves"], ev["socialised"], ev["newDepositIndex"]) == (debt, covered, socialised, b.deposit_index)
            assert debt >= covered + socialised  # I14: never more than the debt
            assert b.deposit_index <= old_index

    def check(self) -> None:
        super().check()
        # I13: no sub-account is left with debt and no deposit.
        books = {s: mm.books for s, mm in self.m.items()}
        for who, sub in self.all_accounts():
            key = (str(who), sub)
            assert not (self.has_debt(key, books) and not self.has_deposit(key, books)), f"I13 orphan debt {key}"


class DonationRules:
    """A direct ERC-20 transfer of any listed token to the vault (a "donation"): no deposit, nothing credited.
    Mixed into a machine; the exact model parity after the step is the I17 check (the model does nothing)."""

    st_donation = st.sampled_from([1, 10**3, 10**6, 10**18])

    def rule_donate(self, st_user, st_market="st_market", st_donation="st_donation"):
        count_step(self.NAME)
        who = self.users[st_user % len(self.users)]
        sym = self._sym(st_market)
        mm = self.m[sym]
        # Users hold 1e9 whole tokens: 1e17 units of an 8-decimal token, 1e15 of a 6-decimal one, less than the
        # largest donation, whose transfer then reverted (ERC20InsufficientBalance) on any chain.
        amount = min(st_donation, mm.token.balanceOf(who))
        if not amount:
            return
        gate = self.transfer_gate(sym, who, self.proto.vault)
        if gate is not None:  # the token refuses: nothing moves, nothing to give back
            TOKEN_EVENTS["refused by the token"] = TOKEN_EVENTS.get("refused by the token", 0) + 1
            with pytest.raises(VirtualMachineError) as refused:
                mm.token.transfer(self.proto.vault, amount, {"from": who})
            assert (refused.value.revert_msg or "").split(":")[0].strip() == gate, refused.value.revert_msg
            self.log.append({"action": {"account": who_name(who), "donate": {sym: self.whole(sym, amount)},
                                        "expect_revert": gate}})
            return
        mm.token.transfer(self.proto.vault, amount, {"from": who})
        # Give the donor back what it gave away: the model treats wallets as never running dry, and a donor left
        # with nothing made a later deposit revert (ERC20InsufficientBalance) where the model expected success.
        self.proto.fund(sym, who, amount)
        self.log.append({"action": {"account": who_name(who), "donate": {sym: self.whole(sym, amount)}}})
