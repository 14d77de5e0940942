"""The hostile-token machine (machine c) and its protocol, shared by test_hostile_donations.py (the invariants)
and test_machine_replay.py (its printed scenario replays with the same tokens). A module of its own: a test module
imported by another would have its tests collected twice."""
from __future__ import annotations

from hypothesis import strategies as st

from chainkit import build, deploy_protocol
from vault_machine import TOKEN_EVENTS, CoreRules, DonationRules, count_step, who_name

FEE_BPS = 100
PAUSE = "PAUSE"  # the USDC-style market: its issuer pauses and blocklists (rule_token_admin)


class HostileMachine(DonationRules, CoreRules):
    """Core rules and donations over FEE (1 % fee-on-transfer, 18 decimals), HOOK (transfer hooks, none
    registered; 8 decimals), RZERO (reverts on a zero transfer; 6 decimals), NORET (USDT-style, no return
    value; 18 decimals) and PAUSE (USDC-style: its issuer pauses it and blocks users or the vault itself; 6
    decimals). Its printed scenario lists each market's `token: {kind: ...}` and the issuer's acts as
    `token_admin` steps, so a replay deploys the same tokens and credits the same amounts."""

    NAME = "hostile"

    st_admin = st.sampled_from(["pause", "unpause", "block", "unblock"])
    st_target = st.integers(min_value=0, max_value=3)  # a user, or (3) the vault

    def setup(self):
        super().setup()
        self.paused = False  # the snapshot every example starts from has PAUSE live, nobody blocked
        self.blocked: set[str] = set()
        HostileMachine.LAST = self

    def transfer_gate(self, sym, sender, receiver):
        """PausableBlocklistToken._update: whenNotPaused first, then the sender's block, then the receiver's."""
        if sym != PAUSE:
            return None
        if self.paused:
            return "EnforcedPause"
        if str(sender) in self.blocked or str(receiver) in self.blocked:
            return "Blocked"
        return None

    def rule_token_admin(self, st_admin="st_admin", st_target="st_target"):
        """The issuer acts. `paused` is a state, as in a scenario: pausing a paused token does nothing. While
        PAUSE is paused or someone is blocked, every rule predicts the token's refusal where a transfer of it
        would happen (after the vault's own checks in withdraw and borrow, before them in deposit's rounding
        check), and the exact model parity after the step proves that a refused transfer changed nothing."""
        token, gov = self.m[PAUSE].token, self.proto.gov
        if st_admin in ("pause", "unpause"):
            pause = st_admin == "pause"
            if pause == self.paused:
                return
            count_step(self.NAME)
            TOKEN_EVENTS["issuer acts"] = TOKEN_EVENTS.get("issuer acts", 0) + 1
            (token.pause if pause else token.unpause)({"from": gov})
            self.paused = pause
            self.log.append({"token_admin": {PAUSE: {"paused": pause}}})
            return
        target = self.proto.vault if st_target >= len(self.users) else self.users[st_target]
        name = "vault" if target == self.proto.vault else who_name(target)
        block = st_admin == "block"
        count_step(self.NAME)
        TOKEN_EVENTS["issuer acts"] = TOKEN_EVENTS.get("issuer acts", 0) + 1
        token.setBlocked(target, block, {"from": gov})
        (self.blocked.add if block else self.blocked.discard)(str(target))
        self.log.append({"token_admin": {PAUSE: {"block" if block else "unblock": [name]}}})

    def teardown(self):
        """The issuer lifts every restriction, then everyone exits (CoreRules.teardown): nothing was lost to a
        pause or a block, only delayed."""
        token, gov = self.m[PAUSE].token, self.proto.gov
        if self.paused:
            token.unpause({"from": gov})
        for blocked in list(self.blocked):
            token.setBlocked(blocked, False, {"from": gov})
        self.paused, self.blocked = False, set()
        super().teardown()


def fee_model(amount: int) -> int:
    """FeeOnTransferToken.received at FEE_BPS: what arrives when `amount` is sent."""
    return amount - amount * FEE_BPS // 10_000


def deploy_hostile_protocol(gov, guardian, holders, lp):
    """The five hostile markets, every holder funded with 1e9 whole tokens of each, lp lending $1M of each."""
    p = deploy_protocol(gov, guardian)
    b = build()
    tokens = (
        ("FEE", b.FeeOnTransferToken.deploy("Fee", "FEE", 18, FEE_BPS, {"from": gov}), 1),
        ("HOOK", b.HookToken.deploy("Hook", "HOOK", 8, {"from": gov}), 100),
        ("RZERO", b.RevertOnZeroToken.deploy("RevertOnZero", "RZERO", 6, {"from": gov}), 1),
        ("NORET", b.NoReturnToken.deploy("NoReturn", "NORET", 18, {"from": gov}), 10),
        (PAUSE, b.PausableBlocklistToken.deploy("Pausable", PAUSE, 6, {"from": gov}), 1),
    )
    for sym, token, price in tokens:
        p.add_market(sym, token, price)
        dec = token.decimals()
        for who in (*holders, lp):
            p.fund(sym, who, 10**9 * 10**dec)
    for sym, token, price in tokens:
        p.vault.deposit(lp, 0, token, 10**6 * 10 ** token.decimals() // price, {"from": lp})
    return p
