"""Pure parts of the engine: the plan built from a scenario, and the keeper's choices (no chain)."""
from __future__ import annotations

import random
from decimal import Decimal

from marginlab.protocols.base import AccountView
from marginlab.protocols.marginlab.liquidation import vault_offers
from marginlab.sim.keeper import LiquidationKeeper
from marginlab.timeline import SubAccountState
from marginlab.scenario.plan import build_plan, expect_applies
from marginlab.scenario.model import Keeper
from marginlab.scenario.validate import parse_scenario_text
from marginlab.scenario.source import parse_yaml_bytes

WAD = 10**18

SCENARIO = """\
name: plan
seed: 4
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
accounts:
  - name: alice
    margin: isolated
    positions:
      - {deposit: {WETH: 0.1}, borrow: {USDC: 100}}
      - {deposit: {USDC: 50}}
  - {name: bot, count: 3, borrow_scale: {first: 0.5, last: 1}, positions: [{deposit: {WETH: 1}, borrow: {USDC: 1000.000001}}]}
steps:
  - {prices: {WETH: "-10%"}}
  - {prices: {WETH: "+10%"}, action: {account: alice, position: 1, borrow: {WETH: 0.01}}}
paths:
  WETH: {model: gbm, sigma: 0.5, dt: 60, count: 2}
  USDC: {model: gbm, sigma: 0.01, dt: 90, count: 2}
expect:
  - {account: alice, liquidations: 0, margin: cross}
  - {bad_debt: 0}
"""


def _plan(mode="as-written"):
    scenario, doc = parse_scenario_text(SCENARIO, "plan.yaml")
    return build_plan(scenario, doc, mode)


def test_amounts_are_exact_token_units():
    alice = _plan().account("alice")
    assert alice.positions[0].deposit == {"WETH": 10**17}
    assert alice.positions[0].borrow == {"USDC": 100 * 10**6}


def test_isolated_margin_puts_each_position_in_its_own_sub_account():
    alice = _plan().account("alice")
    assert [alice.sub_id(i) for i in range(2)] == [0, 1]
    assert _plan().steps[1].actions[0].sub_id == 1


def test_cross_margin_puts_every_position_in_sub_account_zero():
    alice = _plan("cross").account("alice")
    assert alice.sub_ids == [0]
    assert _plan("cross").steps[1].actions[0].sub_id == 0


def test_count_generates_named_accounts_with_scaled_borrows_rounded_down():
    bots = [a for a in _plan().accounts if a.name.startswith("bot")]
    assert [b.name for b in bots] == ["bot-0", "bot-1", "bot-2"]
    assert [b.positions[0].borrow["USDC"] for b in bots] == [500_000_000, 750_000_000, 1_000_000_001]


def test_relative_moves_compound_and_are_exact():
    steps = _plan().steps
    assert steps[0].prices == {"WETH": Decimal("1800")}
    assert steps[1].prices == {"WETH": Decimal("1980")}


def test_paths_are_merged_on_one_clock_after_the_steps():
    steps = _plan().steps[2:]
    assert [(s.source, s.advance, sorted(s.prices)) for s in steps] == [
        ("paths@60s", 60, ["WETH"]), ("paths@90s", 30, ["USDC"]), ("paths@120s", 30, ["WETH"]),
        ("paths@180s", 60, ["USDC"])]


def test_margin_scoped_expectations_apply_only_to_their_run():
    cross, isolated, written = _plan("cross"), _plan("isolated"), _plan()
    exp_cross, exp_any = written.expect
    assert expect_applies(exp_cross, cross) and not expect_applies(exp_cross, isolated)
    assert not expect_applies(exp_cross, written)  # alice is isolated as written
    assert all(expect_applies(exp_any, p) for p in (cross, isolated, written))


def test_yaml_numbers_are_decimals_from_the_text_and_lines_are_kept():
    doc = parse_yaml_bytes(b"a:\n  - 0.1\n  - {b: 1e3, c: 7}\n", "x.yaml")
    assert doc.data["a"][0] == Decimal("0.1")
    assert doc.data["a"][1] == {"b": "1e3", "c": 7}  # YAML 1.1: 1e3 is text; amounts parse it exactly later
    assert doc.line_of(("a", 1, "c")) == 3
    assert doc.line_of(("a", 1, "missing")) == 3


# --------------------------------------------------------------------------------------------------- keeper

# (decimals, price, liquidation bonus, protocol share) per market
MARKETS = {"WETH": (18, Decimal(1000), Decimal("0.05"), Decimal(0)),
           "USDC": (6, Decimal(1), Decimal("0.02"), Decimal(0)),
           "WBTC": (8, Decimal(50000), Decimal("0.07"), Decimal("0.5"))}


def _acct(key: str, balances: dict[str, int], hm: int = -1, hf: int | None = WAD * 97 // 100) -> AccountView:
    return AccountView(key, key.split("/")[0], 0, SubAccountState(balances, 0, hm, hf, 0, 0), hm < 0)


def _offers(acct: AccountView):
    return vault_offers(acct, {s: m[1] for s, m in MARKETS.items()}, {s: m[0] for s, m in MARKETS.items()},
                        {s: m[2] for s, m in MARKETS.items()}, {s: m[3] for s, m in MARKETS.items()})


def _update(policy: Keeper, *accounts: AccountView):
    return LiquidationKeeper(policy).update(random.Random(0), list(accounts), _offers)


def test_keeper_picks_the_pair_that_repays_the_most_value():
    acct = _acct("a/0", {"WETH": 2 * 10**18, "WBTC": 10**6, "USDC": -3000 * 10**6})
    (action,) = _update(Keeper(), acct)
    assert not action.is_settlement
    # close factor 50 % of 3000 USDC = 1500; WETH covers 2000/1.05, WBTC only 500/1.07: WETH wins.
    assert (action.debt, action.collateral, action.expected_value) == ("USDC", "WETH", Decimal(1500))


def test_keeper_may_close_the_whole_debt_below_095():
    acct = _acct("a/0", {"WETH": 10 * 10**18, "USDC": -3000 * 10**6}, hf=WAD * 90 // 100)
    (action,) = _update(Keeper(), acct)
    assert action.expected_value == Decimal(3000)


def test_keeper_leaves_healthy_accounts_alone():
    assert _update(Keeper(), _acct("a/0", {"WETH": 10**18, "USDC": -10 * 10**6}, hm=5, hf=2 * WAD)) == []


def test_keeper_settles_debt_without_collateral():
    (action,) = _update(Keeper(), _acct("a/0", {"USDC": -10 * 10**6}, hf=0))
    assert action.is_settlement


def test_keeper_respects_its_policy():
    accts = [_acct(f"a{i}/0", {"WETH": 10**18, "USDC": -990 * 10**6}) for i in range(3)]
    assert len(_update(Keeper(max_liquidations_per_step=2), *accts)) == 2
    assert _update(Keeper(min_profit=Decimal(100)), *accts) == []  # 495 repaid × 5 % = 24.75 < 100
    assert _update(Keeper(enabled=False), *accts) == []


# The review's book (issue 15): 66,000 USDC and 0.7 WBTC against 40 WETH at WETH 2,520, HF 0.9554, with the
# shipped markets (deployments/markets.yaml).
SHIPPED = {"WETH": (18, Decimal(2520), Decimal("0.05"), Decimal("0.1"), Decimal("0.85"), Decimal(1)),
           "WBTC": (8, Decimal(60000), Decimal("0.07"), Decimal("0.1"), Decimal("0.80"), Decimal("1.05")),
           "USDC": (6, Decimal(1), Decimal("0.02"), Decimal("0.1"), Decimal("0.95"), Decimal(1))}


def _shipped_offers(acct: AccountView, weth: Decimal = Decimal(2520)):
    col = {k: {s: m[k] for s, m in SHIPPED.items()} for k in range(6)}
    col[1]["WETH"] = weth
    return vault_offers(acct, col[1], col[0], col[2], col[3], col[4], col[5])


def _review_book(weth: int = 2520, health_usd: int | None = None) -> AccountView:
    """The review's book at a WETH price; weighted collateral 62,700 + 33,600 = 96,300, raw 108,000."""
    balances = {"USDC": 66_000 * 10**6, "WBTC": 7 * 10**7, "WETH": -40 * 10**18}
    debt = 40 * weth
    health = (health_usd if health_usd is not None else 96_300 - debt) * WAD
    hf = 96_300 * WAD // debt
    return AccountView("a/0", "a", 0, SubAccountState(balances, health, health, hf, 108_000 * WAD, debt * WAD), True)


def test_the_pair_the_vault_refuses_for_lowering_health_is_not_offered():
    # HF 0.9554: seizing USDC (2 % bonus, weight 0.95) moves HF away from 1.02 × 0.95 = 0.969, i.e. down (to
    # 0.9417 for half the debt), and the vault refuses it while the account can pay the bonus; so both rules take
    # WBTC (7 %, weight 0.80, liability weight 1: a pair that lifts HF), though USDC would repay more.
    acct = _review_book()
    assert [o.collateral for o in _shipped_offers(acct)] == ["WBTC"]
    for rule in ("most-value", "least-cost"):
        (order,) = LiquidationKeeper(Keeper(choose=rule)).update(random.Random(0), [acct], _shipped_offers)
        assert (order.debt, order.collateral) == ("WETH", "WBTC")
    # An account that cannot pay the bonus (raw collateral < debt × 1.02) is offered every pair: the vault lets
    # its health fall on the way to closing it.
    broke = AccountView(acct.key, acct.owner, 0, SubAccountState(acct.state.balances, acct.state.health_init,
                                                                 acct.state.health_maint, acct.state.health_factor,
                                                                 100_000 * WAD, 100_800 * WAD), True)
    assert sorted(o.collateral for o in _shipped_offers(broke)) == ["USDC", "WBTC"]


def test_least_cost_takes_the_pair_that_restores_health_and_most_value_the_biggest():
    # At WETH 2,480 HF is 96,300 / 99,200 = 0.9708 > 0.969: seizing USDC raises HF a little and is allowed.
    acct = _review_book(2480)
    offers = {o.collateral: o for o in _shipped_offers(acct, Decimal(2480))}
    # seizing USDC for half the WETH debt gains 49,600 × (1 − 1.02 × 0.95) = 1,537.6 of health: not enough
    assert offers["USDC"].value == Decimal(49600) and offers["USDC"].health_gain == Decimal("1537.6")
    assert offers["WBTC"].health_gain > 2900  # 42,000 / 1.07 × (1 − 1.07 × 0.8)

    def at_2480(a: AccountView):
        return _shipped_offers(a, Decimal(2480))

    (greedy,) = LiquidationKeeper(Keeper()).update(random.Random(0), [acct], at_2480)
    (careful,) = LiquidationKeeper(Keeper(choose="least-cost")).update(random.Random(0), [acct], at_2480)
    assert (greedy.debt, greedy.collateral) == ("WETH", "USDC")
    assert (careful.debt, careful.collateral) == ("WETH", "WBTC")


def test_least_cost_without_a_restoring_pair_buys_the_most_health_per_dollar():
    deeper = _review_book(2480, health_usd=-10**6)
    (careful,) = LiquidationKeeper(Keeper(choose="least-cost")).update(
        random.Random(0), [deeper], lambda a: _shipped_offers(a, Decimal(2480)))
    # per dollar of bonus: USDC 1,537.6 / 992 = 1.55; WBTC 0.144 / 0.07 = 2.06
    assert careful.collateral == "WBTC"
