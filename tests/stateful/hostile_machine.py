"""The hostile-token machine (machine c) and its protocol, shared by test_hostile_donations.py (the invariants)
and test_machine_replay.py (its printed scenario replays with the same tokens). A module of its own: a test module
imported by another would have its tests collected twice."""
from __future__ import annotations

from chainkit import build, deploy_protocol
from vault_machine import CoreRules, DonationRules

FEE_BPS = 100


class HostileMachine(DonationRules, CoreRules):
    """Core rules and donations over FEE (1 % fee-on-transfer, 18 decimals), HOOK (transfer hooks, none
    registered; 8 decimals), RZERO (reverts on a zero transfer; 6 decimals) and NORET (USDT-style, no return
    value; 18 decimals). Its printed scenario lists each market's `token: {kind: ...}`, so a replay deploys the
    same tokens and credits the same amounts."""

    NAME = "hostile"

    def setup(self):
        super().setup()
        HostileMachine.LAST = self


def fee_model(amount: int) -> int:
    """FeeOnTransferToken.received at FEE_BPS: what arrives when `amount` is sent."""
    return amount - amount * FEE_BPS // 10_000


def deploy_hostile_protocol(gov, guardian, holders, lp):
    """The four hostile markets, every holder funded with 1e9 whole tokens of each, lp lending $1M of each."""
    p = deploy_protocol(gov, guardian)
    b = build()
    tokens = (
        ("FEE", b.FeeOnTransferToken.deploy("Fee", "FEE", 18, FEE_BPS, {"from": gov}), 1),
        ("HOOK", b.HookToken.deploy("Hook", "HOOK", 8, {"from": gov}), 100),
        ("RZERO", b.RevertOnZeroToken.deploy("RevertOnZero", "RZERO", 6, {"from": gov}), 1),
        ("NORET", b.NoReturnToken.deploy("NoReturn", "NORET", 18, {"from": gov}), 10),
    )
    for sym, token, price in tokens:
        p.add_market(sym, token, price)
        dec = token.decimals()
        for who in (*holders, lp):
            p.fund(sym, who, 10**9 * 10**dec)
    for sym, token, price in tokens:
        p.vault.deposit(lp, 0, token, 10**6 * 10 ** token.decimals() // price, {"from": lp})
    return p
