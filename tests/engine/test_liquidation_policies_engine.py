"""The scenario's ``liquidation:`` section and the keeper under each liquidation policy, without a chain: what the
section accepts (VaultGovernance's bounds), what it becomes on the vault, which protocols refuse it, the
``policy:`` qualifier of expectations, and the keeper's offers against the integer model (model/vault.py)."""
from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab import cli
from marginlab.errors import ScenarioError
from marginlab.model import vault as pm
from marginlab.protocols.aave_v3.protocol import AaveV3
from marginlab.protocols.base import AccountView
from marginlab.protocols.marginlab.liquidation import vault_offers
from marginlab.protocols.marginlab.params import dust_minimums, liquidation_params, liquidation_policy
from marginlab.protocols.marginlab.protocol import MarginlabVault
from marginlab.protocols.morpho_blue.protocol import MorphoBlue
from marginlab.report.expect import evaluate
from marginlab.runner import map_run, policy_variants, protocol_variants
from marginlab.scenario.model import Keeper
from marginlab.scenario.plan import build_plan, expect_applies
from marginlab.scenario.sections import LIQUIDATION_BOUNDS
from marginlab.scenario.validate import parse_scenario_text
from marginlab.sim.keeper import LiquidationKeeper
from marginlab.sweep import plan_for
from marginlab.timeline import (
    BadDebt,
    Liquidation,
    Purchase,
    SubAccountRef,
    SubAccountState,
    Timeline,
    timeline_from_json,
    timeline_json,
)

WAD = 10**18
ROOT = Path(__file__).resolve().parents[2]

BASE = """\
name: pol
markets:
  - {symbol: WETH, decimals: 18, price: 1000, asset_weight: {init: 0.8, maint: 0.85},
     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95},
     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 10}, borrow: {USDC: 7000}}]}
steps:
  - {prices: {WETH: 900}}
expect:
  - {account: alice, liquidations: ">= 1", policy: dutch}
  - {account: alice, liquidations: ">= 0"}
"""


def _plan(section: str = ""):
    scenario, doc = parse_scenario_text(BASE + section, "pol.yaml")
    return build_plan(scenario, doc)


# --------------------------------------------------------------------------------------------------- the section

def test_no_section_is_the_vault_as_deployed():
    plan = _plan()
    assert plan.liquidation.is_default and plan.liquidation_source is None
    assert liquidation_policy(plan.liquidation) == pm.Policy.CLOSE_FACTOR
    assert liquidation_params(plan.liquidation) == pm.DEFAULT_LIQUIDATION_PARAMS
    assert dust_minimums(plan.liquidation) == (pm.DEFAULT_MIN_DEBT_LEFT_VALUE, pm.DEFAULT_MIN_COLLATERAL_LEFT_VALUE)


def test_section_in_human_units_becomes_the_vaults_wads():
    plan = _plan("liquidation: {policy: dutch, max_discount: 0.1, target_health_factor: 1.05, min_debt_left: 5}\n")
    section = plan.liquidation
    assert not section.is_default and plan.liquidation_source is not None and plan.liquidation_source.line == 14
    assert liquidation_policy(section) == pm.Policy.DUTCH
    params = liquidation_params(section)
    assert params.max_discount == WAD // 10 and params.target_health_factor == 105 * WAD // 100
    assert params.close_factor == pm.CLOSE_FACTOR  # not given: the vault's default
    assert params.error() is None
    assert dust_minimums(section) == (5 * WAD, pm.DEFAULT_MIN_COLLATERAL_LEFT_VALUE)
    assert section.describe() == "dutch (max_discount 0.1, target_health_factor 1.05, min_debt_left 5)"


@pytest.mark.parametrize("field", [f for f in LIQUIDATION_BOUNDS if not f.startswith("min_")])
def test_bounds_are_the_vaults(field):
    """The highest and lowest values the section accepts pass LiquidationParams.error(); one WAD unit beyond
    each bound is refused by both."""
    low, high, low_ok, _ = LIQUIDATION_BOUNDS[field]
    step = Decimal(1).scaleb(-18)
    for value, ok in ((high, True), (high + step, False), (low if low_ok else low + step, True),
                      (low - step if low_ok else low, False)):
        if value < 0:
            continue
        text = f"liquidation: {{{field}: '{value}'}}\n"
        params_error = pm.LiquidationParams(**{field: int(value * WAD)}).error()
        if ok:
            assert params_error is None, (field, value)
            assert getattr(_plan(text).liquidation, field) == value
        else:
            assert params_error is not None, (field, value)
            with pytest.raises(ScenarioError) as exc:
                _plan(text)
            (issue,) = exc.value.issues
            assert str(issue).startswith(f"pol.yaml:14: liquidation.{field}: must be "), str(issue)


def test_dust_bounds_are_the_vaults():
    assert _plan("liquidation: {min_collateral_left: 1000}\n").liquidation.min_collateral_left == 1000
    with pytest.raises(ScenarioError) as exc:
        _plan("liquidation: {min_collateral_left: 1000.000000000000000001}\n")
    assert "liquidation.min_collateral_left: must be between 0 and 1000 USD" in str(exc.value.issues[0])


def test_sweep_sets_the_policy():
    path = ROOT / "scenarios" / "drain.yaml"
    assert plan_for(path, {"liquidation.policy": "dutch"}).liquidation.policy == "dutch"
    assert plan_for(path, {"liquidation.max_discount": 0.05}).liquidation.max_discount == Decimal("0.05")


# --------------------------------------------------------------------------------------------------- protocols

@pytest.mark.parametrize("cls", [MorphoBlue, AaveV3])
def test_other_protocols_refuse_a_section_in_one_line(cls):
    plan = _plan("liquidation: {policy: absorb}\n")
    refusals = map_run(cls, plan, False).refusals
    mine = [i for i in refusals if i.field == "liquidation"]
    assert len(mine) == 1
    assert str(mine[0]) == (f"pol.yaml:14: liquidation: {cls.name} has no switchable liquidation policy: "
                            f"liquidation: absorb is marginlab's vault only")
    assert not [i for i in map_run(cls, _plan(), False).refusals if i.field == "liquidation"]


def test_the_vault_expresses_every_policy():
    for policy in ("close-factor", "fixed-incentive", "dutch", "absorb"):
        assert not map_run(MarginlabVault, _plan(f"liquidation: {{policy: {policy}}}\n"), False).refusals


def test_policy_variants_keep_the_sections_parameters():
    scenario, doc = parse_scenario_text(BASE + "liquidation: {max_discount: 0.1}\n", "pol.yaml")
    variants = policy_variants(protocol_variants(scenario, doc, None)[0], ["close-factor", "absorb"])
    assert [v.name for v in variants] == ["close-factor", "absorb"]
    assert [v.scenario.liquidation.policy for v in variants] == ["close-factor", "absorb"]
    assert all(v.scenario.liquidation.max_discount == Decimal("0.1") for v in variants)


@pytest.mark.parametrize("arg, message", [
    ("dutch", "needs two or more different policies"),
    ("dutch,dutch", "needs two or more different policies"),
    ("dutch,auction", "unknown policy auction"),
])
def test_compare_policies_usage(arg, message, capsys):
    code = cli.main(["replay", str(ROOT / "scenarios" / "drain.yaml"), "--compare-policies", arg])
    assert code == cli.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------- expect

def test_expect_policy_qualifier():
    cf, dutch = _plan(), _plan("liquidation: {policy: dutch}\n")
    assert not expect_applies(cf.expect[0], cf) and expect_applies(cf.expect[1], cf)
    assert expect_applies(dutch.expect[0], dutch)
    t = Timeline("pol", 0, "as-written", [], [])
    results = evaluate(cf, t)
    assert results[0].skipped and results[0].actual == "skipped: only for policy dutch"
    assert not results[1].skipped


def test_an_absorption_is_one_liquidation_and_its_debt_is_not_bad_debt_while_collateral_covers_it():
    plan = _plan("liquidation: {policy: absorb}\n")
    t = Timeline("pol", 0, "as-written", [], [SubAccountRef("alice/0", "alice", 0, "cross", [0])])
    t.liquidations.append(Liquidation(1, "keeper", "alice", 0, "USDC", "WETH", 0, 0, 0, 0, 7000 * WAD, 9000 * WAD,
                                      WAD * 9 // 10, None, absorbed={"WETH": 10 * WAD}))
    t.bad_debts.append(BadDebt(1, "alice", 0, "USDC", 7000 * 10**6, 0, 7000 * 10**6, 7000 * WAD, in_absorb=True))
    from marginlab.scenario.sections import Expect
    plan = type(plan)(**{**plan.__dict__, "expect": (Expect(account="alice", liquidations="1"),
                                                     Expect(bad_debt="0"))})
    assert [r.passed for r in evaluate(plan, t)] == [True, True]


def test_timeline_keeps_absorptions_and_purchases_and_leaves_them_out_when_none():
    t = Timeline("pol", 0, "as-written", [], [])
    assert "absorbed" not in timeline_json(t) and "purchases" not in timeline_json(t)
    t.liquidations.append(Liquidation(1, "keeper", "alice", 0, "USDC", "WETH", 0, 0, 0, 0, 7 * WAD, 9 * WAD, 1, None,
                                      absorbed={"WETH": 10 * WAD}))
    t.bad_debts.append(BadDebt(1, "alice", 0, "USDC", 1, 0, 1, 1, in_absorb=True))
    t.purchases = [Purchase(1, "keeper", "WETH", "USDC", 5, 6, 7, 8, 9)]
    t.liquidation_policy, t.keeper_rule = "absorb", "least-cost"
    back = timeline_from_json(timeline_json(t))
    assert back == t


# --------------------------------------------------------------------------------------------------- offers

# WETH (18 decimals, $1000, wA 0.85, bonus 5 %, share 10 %) against USDC debt (6 decimals, $1, wL 1)
PRICES = {"WETH": Decimal(1000), "USDC": Decimal(1)}
DECIMALS = {"WETH": 18, "USDC": 6}
BONUS = {"WETH": Decimal("0.05"), "USDC": Decimal("0.02")}
SHARE = {"WETH": Decimal("0.1"), "USDC": Decimal("0.1")}
AW = {"WETH": Decimal("0.85"), "USDC": Decimal("0.95")}
LW = {"WETH": Decimal(1), "USDC": Decimal(1)}
P = {"WETH": pm.Params(8 * WAD // 10, 85 * WAD // 100, WAD, WAD, 5 * WAD // 100, WAD // 10),
     "USDC": pm.Params(9 * WAD // 10, 95 * WAD // 100, WAD, WAD, 2 * WAD // 100, WAD // 10)}


def _account(weth: int, usdc_debt: int) -> tuple[AccountView, pm.Health]:
    positions = [pm.Position(weth, 1000 * WAD, 18, P["WETH"]), pm.Position(-usdc_debt, WAD, 6, P["USDC"])]
    h = pm.health(positions)
    state = SubAccountState({"WETH": weth, "USDC": -usdc_debt}, h.health_init, h.health_maint, h.health_factor,
                            h.collateral_value, h.debt_value)
    return AccountView("alice/0", "alice", 0, state, h.health_maint < 0), h


@pytest.mark.parametrize("policy", [pm.Policy.CLOSE_FACTOR, pm.Policy.FIXED_INCENTIVE, pm.Policy.DUTCH])
@pytest.mark.parametrize("debt_usd", [8_800, 9_300, 9_900])  # HF 0.966 (partial), 0.914 (full close), 0.859
@pytest.mark.parametrize("params", [pm.DEFAULT_LIQUIDATION_PARAMS,
                                    pm.LiquidationParams(close_factor=WAD // 4, incentive_cursor=WAD // 2,
                                                         max_incentive=WAD // 20, max_discount=WAD // 10,
                                                         target_health_factor=110 * WAD // 100)])
def test_offers_follow_the_model(policy, debt_usd, params):
    """The offer's value is what the vault repays when the keeper names type(uint256).max (model.quote_liquidation)
    and its incentive is the policy's (model.liquidation_incentive)."""
    acct, h = _account(10 * WAD, debt_usd * 10**6)
    (offer,) = vault_offers(acct, PRICES, DECIMALS, BONUS, SHARE, AW, LW, policy, params)
    q = pm.quote_liquidation(debt=debt_usd * 10**6, collateral=10 * WAD, requested=pm.MAX_UINT256, health=h,
                             price_debt=WAD, decimals_debt=6, price_coll=1000 * WAD, decimals_coll=18,
                             coll=P["WETH"], debt_params=P["USDC"], policy=policy, params=params)
    incentive = Decimal(q.incentive) / WAD
    assert offer.cost / offer.value == incentive
    assert abs(offer.profit - offer.value * incentive * Decimal("0.9")) < Decimal("1e-12")
    repaid_usd = Decimal(q.repaid) / 10**6
    assert abs(offer.value - repaid_usd) <= Decimal("0.000002"), (offer.value, repaid_usd)
    if policy == pm.Policy.DUTCH:
        assert incentive <= Decimal(params.max_discount) / WAD / (1 - Decimal(params.max_discount) / WAD)


def test_dutch_incentive_grows_as_health_falls_and_stops_at_max_discount():
    incentives = []
    for debt in (8_800, 9_300, 9_900, 12_000):
        acct, _ = _account(10 * WAD, debt * 10**6)
        (offer,) = vault_offers(acct, PRICES, DECIMALS, BONUS, SHARE, AW, LW, pm.Policy.DUTCH)
        incentives.append(offer.cost / offer.value)
    assert incentives == sorted(incentives)
    assert incentives[-1] == Decimal(pm.w_div_down(WAD, 85 * WAD // 100) - WAD) / WAD  # 1 / (1 - maxDiscount) - 1


def test_lowers_health_uses_the_policys_incentive():
    """Mixed weights (the review's book): the pair the vault refuses for lowering health moves with the
    incentive, so a policy paying less may allow a pair the close factor's bonus does not."""
    acct, _ = _account(10 * WAD, 8_800 * 10**6)
    cf = vault_offers(acct, PRICES, DECIMALS, BONUS, SHARE, AW, LW, pm.Policy.CLOSE_FACTOR)
    fixed = vault_offers(acct, PRICES, DECIMALS, BONUS, SHARE, AW, LW, pm.Policy.FIXED_INCENTIVE)
    assert cf and fixed  # (1 + i) x 0.85 / 1 is below HF 0.966 for both


def test_absorb_offers_the_whole_account_once_and_the_keeper_absorbs():
    acct, h = _account(10 * WAD, 8_800 * 10**6)
    (offer,) = vault_offers(acct, PRICES, DECIMALS, BONUS, SHARE, AW, LW, pm.Policy.ABSORB)
    assert offer.absorb and offer.value == Decimal(8800)
    # the keeper's discount buying 10 WETH back at storeFrontFactor (0.5) x 5 % = 2.5 %
    assert abs(offer.profit - (Decimal(10_000) - Decimal(10_000) / Decimal("1.025"))) < Decimal("1e-12")
    (order,) = LiquidationKeeper(Keeper()).update(
        random.Random(0), [acct],
        lambda a: vault_offers(a, PRICES, DECIMALS, BONUS, SHARE, AW, LW, pm.Policy.ABSORB))
    assert order.absorb and not order.is_settlement and order.label == "absorb(alice/0)"
