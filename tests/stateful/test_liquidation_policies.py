"""Liquidation policies over mixed markets (machine d): four markets that differ in asset and liability weights,
bonuses, protocol shares and decimals (6, 8, 18 and 2), the core and liquidation rules, `absorb` and
`buyCollateral`, and governance switching the policy, its parameters and the dust minimums mid-sequence. The
machine runs once per starting policy (CloseFactor, FixedIncentive, Dutch, Absorb), so every policy is covered
from the first step whatever hypothesis draws.

The liquidation machine (test_liquidations.py) lists three markets with one parameter set each, which is how the
health-lowering liquidation of issue 15 went unseen: with uniform weights a seizure moves the health factor
toward (1 + bonus) x wA / wL, which is below HF exactly when the account cannot pay the bonus. Here mixed weights
put accounts where the wrong pair lowers a solvent account's health, and the vault must refuse it.

Checked after every liquidation, under every policy (vault_machine.LiquidationRules.check_liquidation), with every
amount equal to the model's (marginlab/model/vault.py) to the wei:
- I8: only an account with health_maint < 0 is liquidated (or absorbed); the healthy ones revert AccountHealthy;
- I9: the health factor never falls while collateral >= debt x (1 + the incentive paid); the model predicts each
  HealthFactorNotImproved refusal and the vault must give exactly it;
- I10: seized value <= repaid value x (1 + the policy's incentive);
- I11 / I26: the policy's size cap (close factor below its threshold, the amount that restores health, the whole
  debt), exceeded only to close a side; the repay never exceeds the amount named; dust: the call leaves nothing
  of the debt or of the collateral, or at least the minimum of both;
- I13, I14: no orphan debt; each write-off (bad debt, absorbed debt) equals the model's split, reserves first;
- absorb: every deposit moves scale for scale to the protocol's sub-account (vault, 0), every debt is written off,
  the account is left empty; buyCollateral: the store-front quote, the payment bounded by the amount named;
- after every step: everything the core machine checks (I1-I3, I5, I15, I16, I18, I21 lock, exact model parity),
  with the protocol's sub-account among the holders summed for I1.
Not here: I12 (one owner on both sides: tests/integration/test_incidents_euler.py); fee-on-transfer debt tokens
(tests/unit/test_liquidate_fee_on_transfer.py).
"""
from __future__ import annotations

import random

import pytest
from hypothesis import strategies as st

from chainkit import WAD, deploy_protocol, sim_token
from machine_runner import run_machine
from marginlab.model import vault as pm
from vault_machine import NAMES, AbsorbRules, LiquidationRules, PolicyGovernanceRules

#: (symbol, decimals, price, parameter overrides): every market differs from the others.
MARKETS = (
    ("USDC", 6, 1, dict(assetWeightInit=90 * WAD // 100, assetWeightMaint=95 * WAD // 100,
                        liquidationBonus=2 * WAD // 100, protocolShare=20 * WAD // 100)),
    ("WBTC", 8, 60_000, dict(assetWeightInit=75 * WAD // 100, assetWeightMaint=80 * WAD // 100,
                             liabWeightInit=110 * WAD // 100, liabWeightMaint=105 * WAD // 100,
                             liquidationBonus=7 * WAD // 100)),
    ("WETH", 18, 2_000, dict(assetWeightInit=80 * WAD // 100, assetWeightMaint=85 * WAD // 100,
                             liquidationBonus=5 * WAD // 100)),
    ("GEM", 2, 5, dict(assetWeightInit=50 * WAD // 100, assetWeightMaint=60 * WAD // 100,
                       liabWeightInit=130 * WAD // 100, liabWeightMaint=120 * WAD // 100,
                       liquidationBonus=10 * WAD // 100, protocolShare=5 * WAD // 100, reserveFactor=25 * WAD // 100)),
)


class PolicyMachine(PolicyGovernanceRules, AbsorbRules, LiquidationRules):
    NAME = "policies"
    REPLAY_NOTE = ("The vault's liquidation policy, its parameters and the dust minimums are set by governance here\n"
                   "(rule_govern: set_liquidation_policy / set_liquidation_params / set_dust_minimums) and accounts are absorbed\n"
                   "and their collateral bought (absorb / buy_collateral): a replay needs the scenario file's\n"
                   "`liquidation:` section and those verbs, which the scenario side adds on top of this contract.")

    st_seed = st.integers(min_value=0, max_value=2**32 - 1)

    def setup(self):
        super().setup()
        PolicyMachine.LAST = self

    def rule_keeper_round(self, st_seed="st_seed"):
        """A keeper round: every sub-account the model says is liquidatable is absorbed (under Absorb), or tried
        with each of its (debt, collateral) pairs in a random order -- the pairs that would lower a solvent
        account's health included, which the vault must refuse -- for a random amount (a quarter, a half or all
        of the debt, or MAX), until it is healthy."""
        rng = random.Random(st_seed)
        syms = list(self.m)
        for user in range(len(self.users)):
            for sub in range(len(self.subs)):
                key = self._who(user, sub)[2]
                t = self.now_guess()
                markets = self.preview_all(t)
                if self.health_at(key, t, markets).health_maint >= 0:
                    continue
                if self.policy == pm.Policy.ABSORB:
                    self.rule_absorb(user, sub)
                    continue
                pairs = [(d, c) for d, ds in enumerate(syms) for c, cs in enumerate(syms)
                         if markets[ds].balances.get(key, 0) < 0 < markets[cs].balances.get(key, 0)]
                rng.shuffle(pairs)
                for d, c in pairs:
                    t = self.now_guess()
                    if self.health_at(key, t).health_maint >= 0:
                        break
                    self.rule_liquidate(user, sub, d, c, rng.choice([25, 50, 99, 100]))

    def initialize_leveraged_books(self, st_seed="st_seed"):
        """Every example starts with each user's sub-account 0 holding two different collaterals (of one to a
        hundred thousand dollars each) against one or two debts borrowed to 80-99 % of its initial room, then one
        of the collaterals falls 8-30 % and a keeper round runs, so that every example liquidates (or absorbs)
        mixed accounts whatever rules hypothesis draws next. Each deposit, borrow, price move and liquidation is a
        checked, logged step."""
        rng = random.Random(st_seed)
        n = len(self.m)
        held = set()
        for user in range(len(self.users)):
            colls = rng.sample(range(n), 2)
            held.update(colls)
            for market in colls:
                sym = self._sym(market)
                usd = rng.choice([1_000, 10_000, 100_000])
                whole_tokens = max(1, usd // max(1, self.m[sym].price // WAD))  # worth ~usd, at least one token
                self.rule_deposit(user, 0, market, whole_tokens, 100)
            debts = [m for m in range(n) if m not in colls]
            rng.shuffle(debts)
            for debt, share in zip(debts, (rng.choice([80, 90, 95, 99]), rng.choice([0, 0, 50, 90]))):
                # rule_borrow's room ignores the liability weight: scale the share down by it to stay below 100 %.
                weight = self.m[self._sym(debt)].books.params.liab_weight_init
                if share:
                    self.rule_borrow(user, 0, debt, share * WAD // weight)
        self.rule_move_price(rng.choice(sorted(held)), -rng.choice([8, 12, 20, 30]))
        self.rule_keeper_round(rng.randrange(2**32))


@pytest.fixture
def policy_proto(gov, guardian, alice, bob, carol, lp, liquidator):
    p = deploy_protocol(gov, guardian)
    for sym, dec, price, overrides in MARKETS:
        p.add_market(sym, sim_token(gov, sym, dec), price, **overrides)
        for who in (alice, bob, carol, lp, liquidator):
            p.fund(sym, who, 10**9 * 10**dec)
    for sym, dec, price, _ in MARKETS:
        p.vault.deposit(lp, 0, p[sym].token, 10**6 * 10**dec // price, {"from": lp})
    return p


@pytest.mark.parametrize("policy", list(pm.Policy), ids=lambda p: p.name.lower())
def test_every_liquidation_keeps_i9_and_i26_under_every_policy_over_mixed_markets(
        state_machine, policy_proto, policy, gov, alice, bob, carol, lp, liquidator):
    policy_proto.vault.setLiquidationPolicy(int(policy), {"from": gov})
    PolicyMachine.liquidator = liquidator
    NAMES[str(policy_proto.vault.address)] = "protocol"
    extra = [(lp, 0), (liquidator, 0), (policy_proto.vault.address, 0)]  # (vault, 0) holds absorbed collateral
    run_machine(state_machine, PolicyMachine, policy_proto, [alice, bob, carol], (0, 1), extra, machine="policies")
