"""Hostile tokens and donations (machine c): a 1 % fee-on-transfer token (18 decimals), an ERC777-style hook
token (8 decimals, no hook registered: the hook path itself is in test_incidents_reentrancy.py), a
revert-on-zero token (6 decimals) and a USDT-style no-return token (18 decimals), with the core rules plus
direct transfers ("donations") of any of them to the vault.

Invariants after every step: everything the core machine checks — the fee token is credited exactly what
arrived (`Deposit.amount` and `Repay.amount` equal the model's `received`), which is what keeps I1/I2 exact —
plus I17: a donation changes no index, scale, balance or health, which the exact model parity after the
donation step proves (the model does nothing for a donation, and every balance and index must still match).
Not here: rebasing tokens (unsupported; their two outcomes are pinned in test_hostile_tokens.py), I8–I14
(the liquidation machine).
"""
from __future__ import annotations

import pytest

from chainkit import build, deploy_protocol
from machine_runner import run_machine
from vault_machine import CoreRules, DonationRules

FEE_BPS = 100


class HostileMachine(DonationRules, CoreRules):
    NAME = "hostile"
    REPLAY_NOTE = ("marginlab replay lists every market as a plain ERC-20: the fee-on-transfer, hook, revert-on-zero\n"
                   "and no-return behaviours of FEE, HOOK, RZERO and NORET are not replayed (FEE credits 1 % more).")

    def setup(self):
        super().setup()
        HostileMachine.LAST = self


@pytest.fixture
def hostile_proto(gov, guardian, alice, bob, carol, lp):
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
        for who in (alice, bob, carol, lp):
            p.fund(sym, who, 10**9 * 10**dec)
    for sym, token, price in tokens:
        p.vault.deposit(lp, 0, token, 10**6 * 10 ** token.decimals() // price, {"from": lp})
    return p


def test_hostile_tokens_and_donations_keep_the_books_exact(state_machine, hostile_proto, alice, bob, carol, lp):
    fee = hostile_proto["FEE"].token
    fees = {"FEE": lambda amount: amount - amount * FEE_BPS // 10_000}
    assert fees["FEE"](10**18) == fee.received(10**18)
    run_machine(state_machine, HostileMachine, hostile_proto, [alice, bob, carol], (0, 1), [(lp, 0)], machine="hostile",
                fees=fees)
