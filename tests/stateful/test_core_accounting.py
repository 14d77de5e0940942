"""Core accounting machine: 3 users × 2 sub-accounts, USDC (6), WBTC (8) and WETH (18 decimals), random
deposit / withdraw / borrow / repay / transfer / time jumps, checked against the integer-exact model.

Invariants checked after every step (VaultLens.invariants + accountStates, one call each):
- I1 scale sums equal the totals, exactly; I2 cash covers deposits − borrows + reserves; I3 borrows ≤
  deposits + reserves; I5 zero-debt and zero-deposit equivalences; I21 the lock is free (check_books).
- Exact parity with marginlab/model/vault.py: total scales, both indexes, reserves and every sub-account's
  balance, to the wei — this carries I15 (indexes never fall here), I16 (every rounding as the model
  rounds, in the vault's favour) and I18 (the reserve cut is the model's).
- I6 and I7 through the revert paths: every borrow, withdraw and transfer the model says would leave
  health_init < 0 must revert `AccountUnhealthy`, and every one it says is fine must succeed.
- I21 authorisation: every rule acts as the owner; repay is sent by a random payer (anyone may repay).
Not here: I8–I14 (no price moves, so nothing becomes liquidatable: the liquidation machine), I17 (the
hostile machine donates), I19–I20 (prices never go bad here: tests/integration/test_incidents_oracle.py).
"""
from __future__ import annotations

import pytest

from chainkit import deploy_protocol, sim_token
from machine_runner import run_machine
from vault_machine import CoreRules

MARKETS = (("USDC", 6, 1), ("WBTC", 8, 60_000), ("WETH", 18, 2_000))


class CoreMachine(CoreRules):
    NAME = "core"

    def setup(self):
        super().setup()
        CoreMachine.LAST = self


@pytest.fixture
def core_proto(gov, guardian, alice, bob, carol, lp):
    p = deploy_protocol(gov, guardian)
    for sym, dec, price in MARKETS:
        p.add_market(sym, sim_token(gov, sym, dec), price)
        for who in (alice, bob, carol, lp):
            p.fund(sym, who, 10**9 * 10**dec)
        p.proto_vault = p.vault
    for sym, dec, price in MARKETS:
        p.vault.deposit(lp, 0, p[sym].token, 10**6 * 10**dec // price, {"from": lp})
    return p


def test_core_accounting_matches_the_model_after_every_step(state_machine, core_proto, alice, bob, carol, lp):
    run_machine(state_machine, CoreMachine, core_proto, [alice, bob, carol], (0, 1), [(lp, 0)], machine="core")
