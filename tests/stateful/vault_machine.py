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
#: Liquidation coverage per policy, printed beside the step counts: "policy: outcome" -> count, where the outcome is
#: "liquidated", "absorbed", "bought" or the custom error the vault refused with.
LIQUIDATION_OUTCOMES: dict[str, int] = {}


def count_outcome(policy, outcome: str) -> None:
    key = f"{policy.name.lower().replace('_', '-')}: {outcome}"
    LIQUIDATION_OUTCOMES[key] = LIQUIDATION_OUTCOMES.get(key, 0) + 1
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
            self._idx, self._deficits = {}, {}
            self.start = start_state(self.m)
            return
        self._setup_from_chain(head.timestamp)
        VaultMachine._setup_cache[cache_key] = copy.deepcopy(self.m, {id(mm.token): mm.token for mm in self.m.values()})
        self._idx, self._deficits = {}, {}
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
            b.deficit = int(p.vault.deficit(mk.token))
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
        self.check_deficits(books)
        states = self._states()[0]
        for (who, sub), st in zip(accounts, states):
            key = (str(who), sub)
            for tok, bal in zip(st[0], st[1]):
                sym = self.symbol_of(tok)
                assert int(bal) == self.m[sym].preview(t).amount_of(key), f"balance {key} {sym}"

    def check_deficits(self, books: dict) -> None:
        """I24 after every step: each market's recorded deficit equals the model's (bad debt the depositors could
        not bear above the deposit index floor), it falls only in a step that covered it, and a market with a
        deficit still takes a deposit of a million whole tokens (the floor keeps its books usable)."""
        self._deficits = getattr(self, "_deficits", {})
        for sym, mm in self.m.items():
            deficit = books[str(mm.token).lower()].deficit
            assert deficit == mm.books.deficit, f"I24 deficit {sym}: vault {deficit}, model {mm.books.deficit}"
            if not self.slack.pop(sym + ":covered", 0):
                assert deficit >= self._deficits.get(sym, 0), f"I24 deficit of {sym} fell without a cover"
            if deficit and self.transfer_gate(sym, self.users[0], self.proto.vault) is None:
                self.proto.vault.deposit.call(self.users[0], self.subs[0], mm.token, 10**6 * 10**mm.decimals,
                                              {"from": self.users[0]})
            self._deficits[sym] = deficit

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
        if liquidity and b.unbacked > b.total_deposits:  # borrows and the deficit (I24) against the deposits
            gap = b.unbacked - b.total_deposits
            return either("InsufficientLiquidity") if gap * 10**6 <= b.total_deposits + 10**6 \
                else "InsufficientLiquidity"
        if liquidity and b.total_deposits - b.unbacked <= b.total_deposits // 10**6 + 2:
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
        for sym, mm in self.m.items():  # a deficit (I24) is the part of the deposits no token backs: pay it first
            owed = int(v.deficit(mm.token))
            if owed:
                v.coverDeficit(mm.token, owed, False, {"from": self.users[0]})
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
    """Price moves, liquidations under the vault's policy and bad-debt settlement on top of the core rules (machine
    b). The whole liquidation -- the policy's quote, the dust rule, the repay that must burn scale, the balances,
    an in-call settlement and the health rule (I9) -- runs on the model first (`simulate_liquidation`): its verdict
    is the expected outcome, and after a success the same operations run on the books at the block's timestamp
    and every amount of the event must match. After every liquidation, under every policy: I8, I9, I10 at the
    policy's incentive, I11/I26's size cap, the named amount as an upper bound, dust on both sides (I26), I14."""

    st_move = st.sampled_from([-60, -40, -25, -10, -5, 5, 10, 25, 40])
    st_coll = st.integers(min_value=0, max_value=11)

    def setup(self):
        super().setup()
        v = self.proto.vault
        self.policy = pm.Policy(int(v.liquidationPolicy()))
        self.lparams = pm.LiquidationParams.from_chain(v.liquidationParams())
        self.dust = (int(v.minDebtLeftValue()), int(v.minCollateralLeftValue()))
        self.protocol_key = (str(v.address), 0)

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
        if self.policy == pm.Policy.ABSORB:
            expected = "WrongLiquidationPolicy"
        elif requested == 0:
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
                expected = self.predict_liquidation(key, lkey, d, c, requested, t)

        def apply(tx, t):
            ev = tx.events["Liquidated"]
            books = self.preview_all(t)
            q, before, after, held_, debt_, touched = self.run_liquidation(books, key, lkey, d, c, requested, t, tx)
            self.commit(books, touched, t)
            assert (ev["repaid"], ev["seizedTotal"], ev["toLiquidator"], ev["protocolCut"], ev["incentive"]) == (
                q.repaid, q.seized, q.to_liquidator, q.protocol_cut, q.incentive)
            assert (ev["healthFactorBefore"], ev["healthFactorAfter"]) == (before.health_factor, after.health_factor)
            assert ev["liquidatorSubId"] == 0  # the liquidation below credits (liq, 0)
            self.check_liquidation(q, before, after, requested, held_, debt_, md, mc)

        done = self.act({"action": {"account": who_name(liq), "liquidate": {"account": who_name(who), "position": sub, "debt": d, "collateral": c,
                                                                            "amount": "all" if requested == MAX else self.whole(d, requested)}}},
                        expected, lambda: self.proto.vault.liquidate(who, sub, md.token, mc.token, requested, 0, {"from": liq}), apply)
        count_outcome(self.policy, "liquidated" if done else self.log[-1]["action"].get("expect_revert")
                      or self.log[-1]["action"].get("may_revert", "?"))

    def rule_liquidate_unhealthy(self, st_user, st_market="st_market", st_coll="st_coll", st_pct="st_pct"):
        """`rule_liquidate` aimed at a sub-account the model says is liquidatable now, with one of its debts and one
        of its deposits (any pair: the ones that would lower health included) and a non-zero amount, so that short
        sequences reach liquidations; without such a sub-account, an ordinary draw."""
        t = self.now_guess()
        markets = self.preview_all(t)
        unhealthy = [(u, s) for u in range(len(self.users)) for s in range(len(self.subs))
                     if self.health_at(self._who(u, s)[2], t, markets).health_maint < 0]
        if not unhealthy:
            self.rule_liquidate(st_user, 0, st_market, st_coll, st_pct)
            return
        user, sub = unhealthy[st_user % len(unhealthy)]
        key = self._who(user, sub)[2]
        syms = list(self.m)
        debts = [i for i, s in enumerate(syms) if markets[s].balances.get(key, 0) < 0] or [st_market]
        colls = [i for i, s in enumerate(syms) if markets[s].balances.get(key, 0) > 0] or [st_coll]
        self.rule_liquidate(user, sub, debts[st_market % len(debts)], colls[st_coll % len(colls)], st_pct or 100)

    # -------------------------------------------------- the liquidation on the model
    def commit(self, books: dict, touched: set, t: int) -> None:
        """Make the machine's books of the markets the vault accrued and changed in a call at `t` those of `books`
        (copies accrued to `t` on which the call's operations ran); the others stay as the vault keeps them."""
        for sym in touched:
            self.m[sym].books = books[sym]
            self.m[sym].last = max(self.m[sym].last, t)

    def run_liquidation(self, books, key, lkey, d, c, requested, t, tx=None):
        """VaultLiquidation.liquidate on `books` (every market accrued to `t`, changed in place): (quote, health
        before, health after, deposit before, debt before, markets the vault accrued). Raises
        pm.LiquidationRefused with the vault's error."""
        md, mc = self.m[d], self.m[c]
        before = self.health_at(key, t, books)
        bd, bc = books[d], books[c]
        debt, held = -bd.amount_of(key), bc.amount_of(key)
        q = pm.quote_liquidation(
            debt=debt, collateral=held, requested=requested, health=before, price_debt=md.price,
            decimals_debt=md.decimals, price_coll=mc.price, decimals_coll=mc.decimals, coll=bc.params,
            debt_params=bd.params, policy=self.policy, params=self.lparams, min_debt_left=self.dust[0],
            min_coll_left=self.dust[1])
        if bd.credit(key, q.repaid).debt_repaid == 0:
            raise pm.LiquidationRefused("NothingToLiquidate", q.repaid, q.seized)
        bc.debit(key, q.seized)
        bc.reserves += q.protocol_cut
        bc.credit(lkey, q.to_liquidator)
        touched = {d, c}
        if self.owes(books, key) and not any(b.amount_of(key) > 0 for b in books.values()):
            touched |= self.settle_books(books, key, tx)
        after = self.health_at(key, t, books)
        if pm.health_lowered(q, before, after):
            raise pm.LiquidationRefused("HealthFactorNotImproved", before.health_factor, after.health_factor)
        return q, before, after, held, debt, touched

    @staticmethod
    def owes(books: dict, key) -> bool:
        return any(b.balances.get(key, 0) < 0 for b in books.values())

    def settle_books(self, books: dict, key, tx=None) -> set:
        """VaultLiquidation._settleBadDebt on `books` (accrued to the call's time), checked against its
        BadDebtSettled events when `tx` is given. Returns the markets it touched (the vault accrues them)."""
        events = {str(e["token"]): e for e in tx.events["BadDebtSettled"]} if tx is not None and "BadDebtSettled" in tx.events else {}
        touched = set()
        for sym, b in books.items():  # worthless deposit scale first, as the vault's first loop
            if b.balances.get(key, 0) > 0:
                b.clear_deposit(key)
                touched.add(sym)
        for sym, b in books.items():
            if b.balances.get(key, 0) >= 0:
                continue
            touched.add(sym)
            old_index = b.deposit_index
            w = b.write_off(key)
            if w.socialised and tx is not None:
                self.slack[sym + ":socialised"] = 1
            assert w.debt >= w.covered + w.socialised and b.deposit_index <= old_index  # I14
            if tx is not None:
                ev = events[str(self.m[sym].token)]
                assert (ev["debt"], ev["coveredByReserves"], ev["socialised"], ev["newDepositIndex"]) == (
                    w.debt, w.covered, w.socialised, w.new_deposit_index)
        return touched

    def predict_liquidation(self, key, lkey, d, c, requested, t) -> str:
        """The outcome now and two seconds of interest later: when they differ, either (a boundary)."""
        outcomes = []
        for when in (t, t + 2):
            try:
                q, before, after, _, _, _ = self.run_liquidation(self.preview_all(when), key, lkey, d, c, requested, when)
                near = (q.repaid <= 2 or q.seized <= 2
                        or abs(after.health_factor - before.health_factor) <= before.health_factor // 10**9 + 2)
                outcomes.append(either("NothingToLiquidate") if near else "ok")
            except pm.LiquidationRefused as r:
                outcomes.append(r.error)
        if outcomes[0] == outcomes[1]:
            return outcomes[0]
        bad = [o for o in outcomes if o != "ok"]
        return either(bad[0].split(":")[-1])

    def check_liquidation(self, q, before, after, requested, held, debt, md, mc) -> None:
        """I8, I9, I10, I11/I26 for one successful liquidation, at the policy's incentive and size cap."""
        assert before.health_maint < 0, "I8"
        assert q.repaid <= requested, "I26 the named amount is an upper bound"
        # I10: seized value <= repaid value x (1 + incentive)
        assert pm.value_down(q.seized, mc.price, mc.decimals) <= pm.w_mul_up(pm.value_up(q.repaid, md.price, md.decimals), WAD + q.incentive), "I10"
        closed = q.repaid == debt or q.seized == held
        # I11 / I26: the policy's size cap, unless the call closed a side to leave no dust
        assert q.repaid <= q.cap or closed, f"I26 size cap {q} debt {debt}"
        if self.policy == pm.Policy.CLOSE_FACTOR and before.health_factor >= self.lparams.full_close_health_factor:
            assert q.repaid <= pm.w_mul_down(debt, self.lparams.close_factor) or closed, "I11 close factor"
        # I26 dust: nothing left of one side, or at least the minimum of both
        if not closed:
            assert pm.value_up(debt - q.repaid, md.price, md.decimals) >= self.dust[0], "I26 debt dust"
            assert pm.value_down(held - q.seized, mc.price, mc.decimals) >= self.dust[1], "I26 collateral dust"
        # I9: the health factor never falls while the account can pay the incentive
        if before.collateral_value >= pm.w_mul_up(before.debt_value, WAD + q.incentive) and after.debt_maint:
            assert after.health_factor >= before.health_factor, "I9"

    def rule_settle_bad_debt(self, st_user, st_sub):
        who, sub, key = self._who(st_user, st_sub)
        t = chain[-1].timestamp
        owes = self.owes({s: mm.books for s, mm in self.m.items()}, key)
        holds = any(mm.preview(t).amount_of(key) > 0 for mm in self.m.values())
        expected = "AccountHasNoDebt" if not owes else "AccountHasCollateral" if holds else "ok"

        def apply(tx, t):
            books = self.preview_all(t)
            self.commit(books, self.settle_books(books, key, tx), t)

        self.act({"action": {"account": who_name(self.liquidator), "settle_bad_debt": {"account": who_name(who), "position": sub}}},
                 expected, lambda: self.proto.vault.settleBadDebt(who, sub, {"from": self.liquidator}), apply)

    def check(self) -> None:
        super().check()
        # I13: no sub-account is left with debt and no deposit worth a unit.
        t = chain[-1].timestamp
        for who, sub in self.all_accounts():
            key = (str(who), sub)
            owes = any(mm.books.balances.get(key, 0) < 0 for mm in self.m.values())
            assert not (owes and not any(mm.preview(t).amount_of(key) > 0 for mm in self.m.values())), f"I13 orphan debt {key}"
        for mm in self.m.values():  # the protocol's sub-account never owes
            assert mm.books.balances.get(self.protocol_key, 0) >= 0


class AbsorbRules:
    """Absorb (the whole account to the protocol) and buyCollateral (the protocol sells it), checked against the
    model; mixed into a machine with LiquidationRules. Outside the Absorb policy `absorb` must revert
    WrongLiquidationPolicy; buyCollateral works under every policy."""

    def rule_absorb(self, st_user, st_sub):
        who, sub, key = self._who(st_user, st_sub)
        t = self.now_guess()
        h = self.health_at(key, t)
        if self.policy != pm.Policy.ABSORB:
            expected = "WrongLiquidationPolicy"
        else:
            verdict = self.health_verdict(h, "AccountHealthy", init=False)  # "AccountHealthy" here means unhealthy
            expected = "AccountHealthy" if verdict == "ok" else verdict if is_either(verdict) else "ok"

        def apply(tx, t):
            before = self.health_at(key, t)
            ev = tx.events["Absorbed"]
            assert (ev["collateralValue"], ev["debtValue"], ev["healthFactorBefore"]) == (
                before.collateral_value, before.debt_value, before.health_factor)
            assert before.health_maint < 0  # I8
            moved = {str(e["token"]): e["amount"] for e in tx.events["CollateralAbsorbed"]} if "CollateralAbsorbed" in tx.events else {}
            for sym, mm in self.m.items():  # deposits change hands scale for scale; the vault accrues nothing here
                if mm.books.balances.get(key, 0) > 0:
                    amount = pm.deposit_amount_down(mm.books.balances[key], mm.preview(t).deposit_index)
                    mm.books.move_deposit(key, self.protocol_key)
                    assert moved.pop(str(mm.token)) == amount
            assert not moved
            books = self.preview_all(t)
            self.commit(books, self.settle_books(books, key, tx), t)
            assert all(mm.books.balances.get(key, 0) == 0 for mm in self.m.values())  # empty: health only rose

        done = self.act({"action": {"account": who_name(self.liquidator), "absorb": {"account": who_name(who), "position": sub}}},
                        expected, lambda: self.proto.vault.absorb(who, sub, {"from": self.liquidator}), apply)
        if done:
            count_outcome(self.policy, "absorbed")

    def rule_buy_collateral(self, st_market="st_market", st_coll="st_coll", st_pct="st_pct"):
        coll, pay = self._sym(st_market), self._sym(st_coll)
        mc, mp = self.m[coll], self.m[pay]
        buyer = self.liquidator
        bkey = (str(buyer), 0)
        t = self.now_guess()
        held = max(mc.preview(t).amount_of(self.protocol_key), 0)
        incentive = pm.store_front_incentive_down(self.lparams.store_front_factor, mc.books.params.liquidation_bonus)
        pair = pm.Pair(mp.price, mp.decimals, mc.price, mc.decimals, incentive)
        whole = pm.repay_for_seize_up(held, pair) if held else 10**mp.decimals
        amount = whole * st_pct // 100
        if amount == 0:
            expected = "ZeroAmount"
        elif coll == pay:
            expected = "PayTokenIsCollateral"
        elif held == 0:
            expected = "NoCollateral"
        else:
            q = pm.quote_buy_collateral(amount, held, pair)
            expected = "ok" if q.bought > 2 else either("NothingToLiquidate") if q.bought else "NothingToLiquidate"

        def apply(tx, t):
            ev = tx.events["CollateralBought"]
            held_now = mc.preview(t).amount_of(self.protocol_key)
            q = pm.quote_buy_collateral(amount, held_now, pair)
            assert (ev["paid"], ev["bought"], ev["incentive"]) == (q.paid, q.bought, incentive)
            assert q.paid <= amount and q.bought <= held_now  # the named amount bounds the payment
            model_debit(mc, self.protocol_key, q.bought, t)
            mc.books.credit(bkey, q.bought)
            mp.accrue_to(t)
            mp.books.reserves += q.paid

        done = self.act({"action": {"account": who_name(buyer), "buy_collateral": {"collateral": coll, "pay": {pay: self.whole(pay, amount)}}}},
                        expected, lambda: self.proto.vault.buyCollateral(mc.token, mp.token, amount, 0, 0, {"from": buyer}), apply)
        if done:
            count_outcome(self.policy, "bought")


class PolicyGovernanceRules:
    """Governance switches the liquidation policy and its parameters mid-sequence, each within its bounds or
    refused with the bound's error (the model's LiquidationParams.error), each change announced by its event."""

    #: One governance act per draw: ("policy", Policy), ("params", LiquidationParams) or ("dust", (debt, coll)).
    st_governance = st.sampled_from(
        [("policy", p) for p in pm.Policy]
        + [("params", p) for p in [
            pm.LiquidationParams(),
            pm.LiquidationParams(close_factor=WAD // 4, full_close_health_factor=90 * WAD // 100),
            pm.LiquidationParams(close_factor=WAD, incentive_cursor=WAD, max_incentive=pm.MAX_INCENTIVE),
            pm.LiquidationParams(max_discount=pm.MAX_DISCOUNT, target_health_factor=125 * WAD // 100,
                                 store_front_factor=WAD),
            pm.LiquidationParams(incentive_cursor=WAD // 10, max_incentive=WAD // 50, max_discount=WAD // 20,
                                 target_health_factor=pm.MIN_TARGET_HEALTH_FACTOR, store_front_factor=0),
            pm.LiquidationParams(close_factor=0),
            pm.LiquidationParams(max_discount=pm.MAX_DISCOUNT + 1),
            pm.LiquidationParams(target_health_factor=WAD),
        ]]
        + [("dust", d) for d in [(WAD, WAD), (0, 0), (50 * WAD, 10 * WAD), (pm.MAX_DUST_VALUE, pm.MAX_DUST_VALUE),
                                  (pm.MAX_DUST_VALUE + 1, 0)]])

    def rule_govern(self, st_governance="st_governance"):
        kind, value = st_governance
        gov = self.proto.gov
        v = self.proto.vault
        if kind == "policy":
            def apply(tx, t):
                assert dict(tx.events["LiquidationPolicySet"]) == {"previous": int(self.policy), "policy": int(value)}
                self.policy = value
            self.act({"action": {"account": who_name(gov), "set_liquidation_policy": value.name.lower().replace("_", "-")}},
                     "ok", lambda: v.setLiquidationPolicy(int(value), {"from": gov}), apply)
        elif kind == "params":
            def apply(tx, t):
                assert tuple(tx.events["LiquidationParamsSet"]["params"]) == value.as_tuple()
                self.lparams = value
            self.act({"action": {"account": who_name(gov), "set_liquidation_params": list(value.as_tuple())}},
                     value.error() or "ok", lambda: v.setLiquidationParams(value.as_tuple(), {"from": gov}), apply)
        else:
            def apply(tx, t):
                assert tuple(tx.events["DustMinimumsSet"].values()) == value
                self.dust = value
            self.act({"action": {"account": who_name(gov), "set_dust_minimums": list(value)}},
                     "DustValueTooHigh" if max(value) > pm.MAX_DUST_VALUE else "ok",
                     lambda: v.setDustMinimums(*value, {"from": gov}), apply)


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
