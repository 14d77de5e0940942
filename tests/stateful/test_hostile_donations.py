"""Hostile tokens and donations (machine c): a 1 % fee-on-transfer token (18 decimals), an ERC777-style hook
token (8 decimals, no hook registered: the hook path itself is in test_incidents_reentrancy.py), a
revert-on-zero token (6 decimals), a USDT-style no-return token (18 decimals) and a USDC-style pausable,
blocklisting token (6 decimals) whose issuer pauses it and blocks users or the vault at random, with the core
rules plus direct transfers ("donations") of any of them to the vault (hostile_machine.py).

Invariants after every step: everything the core machine checks — the fee token is credited exactly what
arrived (`Deposit.amount` and `Repay.amount` equal the model's `received`), which is what keeps I1/I2 exact —
plus I17: a donation changes no index, scale, balance or health, which the exact model parity after the
donation step proves (the model does nothing for a donation, and every balance and index must still match).
While the pausable token is paused or someone is blocked, every action that would move it must revert with the
token's error (EnforcedPause, Blocked) unless the vault's own check comes first, and the parity after the step
proves that the refused action changed nothing; the teardown lifts every restriction and everyone exits.
Not here: rebasing tokens (unsupported; their two outcomes are pinned in test_hostile_tokens.py), I8–I14
(the liquidation machine).
"""
from __future__ import annotations

from hostile_machine import FEE_BPS, HostileMachine, fee_model
from machine_runner import run_machine


def test_hostile_tokens_and_donations_keep_the_books_exact(state_machine, hostile_proto, alice, bob, carol, lp):
    fee = hostile_proto["FEE"].token
    assert fee.feeBps() == FEE_BPS and fee_model(10**18) == fee.received(10**18)
    run_machine(state_machine, HostileMachine, hostile_proto, [alice, bob, carol], (0, 1), [(lp, 0)], machine="hostile",
                fees={"FEE": fee_model})
