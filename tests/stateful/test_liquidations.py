"""Oracle moves, liquidations and bad-debt settlement (machine b): the core rules plus price moves of −60 %
to +40 %, liquidations by a keeper with any debt/collateral pair and any repay size, and `settleBadDebt`.

Invariants after every step: everything the core machine checks (I1–I3, I5, I6/I7 through reverts, I15,
I16, I18, I21 lock, exact model parity), plus
- I8: a liquidation succeeds only if the model's health_maint < 0, and must revert `AccountHealthy` otherwise;
- I9: the health factor rises when collateral ≥ debt × (1 + bonus); I10: seized value ≤ repaid × (1 + bonus);
- I11: repaid equals the model's close-factor and dust cap exactly (it is part of the quote compared);
- I13: no sub-account holds debt without a deposit after any step; I14: each BadDebtSettled equals the
  model (debt, reserves cover, socialised part, the new deposit index) and never exceeds the debt;
- I15: the deposit index falls only in a step that socialised bad debt;
- I22: at any step, a price at a guard's bound or beyond its band is never used to borrow, withdraw or liquidate,
  and deposit and repay still work (guard_rules.OracleGuardRules, eth_call probes: no state left behind);
- I23, I25 at any step and I24 after every step (hardening_rules.HardeningRules, VaultMachine.check_deficits):
  roles and pauses, the recorded deficit, deposits into another's sub-account and batch views with a price refused;
- I24 reached, not only checked (wipeout_rules.WipeOutRules): a market lent out whole to one sub-account whose
  collateral crashes is wiped out; the deficit grows by exactly the loss beyond the floor, the deposit index stops
  at the floor, a new deposit is not diluted and coverDeficit lowers the deficit by what it pays (printed counts).
I12 (no self-liquidation profit) needs one owner on both sides: tests/integration/test_incidents_euler.py.
I4's "slack never shrinks" is implied here by exact parity of scales, indexes and reserves with the model.
"""
from __future__ import annotations

import pytest

from chainkit import deploy_protocol, sim_token, WAD
from machine_runner import run_machine
from guard_rules import PROBES, OracleGuardRules
from hardening_rules import HARDENING_PROBES, HardeningRules
from wipeout_rules import WIPE_OUTS, WipeOutRules
from vault_machine import LiquidationRules

MARKETS = (("USDC", 6, 1), ("WBTC", 8, 60_000), ("WETH", 18, 2_000))


class LiquidationMachine(WipeOutRules, HardeningRules, OracleGuardRules, LiquidationRules):
    NAME = "liquidation"

    def setup(self):
        super().setup()
        LiquidationMachine.LAST = self


@pytest.fixture
def liq_proto(gov, guardian, alice, bob, carol, lp, liquidator):
    p = deploy_protocol(gov, guardian)
    for sym, dec, price in MARKETS:
        p.add_market(sym, sim_token(gov, sym, dec), price)
        for who in (alice, bob, carol, lp, liquidator):
            p.fund(sym, who, 10**9 * 10**dec)
    for sym, dec, price in MARKETS:
        p.vault.deposit(lp, 0, p[sym].token, 10**6 * 10**dec // price, {"from": lp})
    return p


def test_liquidations_and_bad_debt_match_the_model_after_every_step(state_machine, liq_proto, alice, bob, carol, lp, liquidator):
    LiquidationMachine.liquidator = liquidator
    run_machine(state_machine, LiquidationMachine, liq_proto, [alice, bob, carol], (0, 1), [(lp, 0), (liquidator, 0)],
                machine="liquidation")
    print(f"untrusted-price probes (I22): {dict(sorted(PROBES.items()))}")
    print(f"hardening probes (I23-I25): {dict(sorted(HARDENING_PROBES.items()))}")
    print(f"wipe-outs (I24 by a machine): {dict(sorted(WIPE_OUTS.items()))}")
