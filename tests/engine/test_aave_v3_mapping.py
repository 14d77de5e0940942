"""Aave v3's mapping rules and the independent model's math, without a chain."""
from __future__ import annotations

import sys
from pathlib import Path

from marginlab.protocols.aave_v3.layout import layout, reserve_params
from marginlab.protocols.aave_v3.protocol import AaveV3
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import load_scenario, parse_scenario_text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from models import aave_v3 as av  # noqa: E402


def _plan(name: str, mode: str = "as-written"):
    scenario, doc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    return build_plan(scenario, doc, mode)


def test_the_hedged_book_maps_weights_to_basis_points_and_lists_what_aave_does_otherwise():
    mapping = AaveV3.map_plan(_plan("hedged-book"))
    assert not mapping.refusals
    weth = reserve_params(_plan("hedged-book").market("WETH"))
    assert (weth.ltv, weth.threshold, weth.bonus, weth.reserve_factor) == (8000, 8500, 10500, 1000)
    assert weth.irm == (8 * 10**26, 0, 4 * 10**25, 75 * 10**25)
    not_honoured = {(d.scope, d.setting) for d in mapping.not_honoured}
    assert not_honoured == {("WBTC", "liab_weight"), ("protocol", "dust rule"), ("protocol", "bad debt"),
                            ("alice/0", "netting")}


def test_isolated_margin_nets_nothing_and_strict_refuses_every_setting_aave_does_not_honour():
    assert not any(d.setting == "netting" for d in AaveV3.map_plan(_plan("hedged-book", "isolated")).decisions)
    strict = AaveV3.map_plan(_plan("hedged-book"), strict=True)
    assert len(strict.refusals) == 4
    assert all("(--strict)" in issue.reason and issue.reason.startswith("aave-v3: ") for issue in strict.refusals)


def test_a_feed_without_8_decimals_and_settle_bad_debt_are_refused_with_their_line():
    text = """\
name: t
markets:
  - {symbol: WETH, decimals: 18, price: 2000, feed_decimals: 18, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
accounts:
  - {name: a, positions: [{deposit: {WETH: 1}, borrow: {USDC: 100}}]}
steps:
  - {action: {account: a, settle_bad_debt: {account: a}}}
"""
    scenario, doc = parse_scenario_text(text, "t.yaml")
    out = layout(build_plan(scenario, doc, "as-written"))
    lines = sorted((i.line, i.field) for i in out.refusals)
    assert lines == [(3, "markets[0].feed_decimals"), (8, "steps[0].action")]


def test_the_model_takes_half_the_debt_above_health_factor_0_95_and_all_of_it_below():
    config = av.ReserveConfig(ltv=8000, threshold=8500, bonus=10500, decimals=18, protocol_fee=1000)
    usdc = av.ReserveConfig(ltv=9000, threshold=9500, bonus=10200, decimals=6, protocol_fee=0)

    def reserves(weth_price: int) -> dict[str, av.Reserve]:
        return {"WETH": av.Reserve(0, config, weth_price * 10**8, av.RAY, av.RAY),
                "USDC": av.Reserve(1, usdc, 10**8, av.RAY, av.RAY)}

    user = av.User({"WETH": 10 * 10**18}, {"USDC": 16_000 * 10**6}, config=0b0110)  # WETH collateral, USDC borrowed
    partial = av.liquidate(reserves(1860), user, "WETH", "USDC")  # HF 0.988
    assert partial.debt_repaid == 8_000 * 10**6
    seized = 8_000 * 10**18 * 105 // 100 // 1860  # base collateral × bonus, in WETH wei
    assert partial.collateral_to_liquidator + partial.protocol_fee == seized
    assert partial.protocol_fee == av.percent_mul(seized - av.percent_div(seized, 10500), 1000)
    full = av.liquidate(reserves(1700), user, "WETH", "USDC")  # HF 0.903
    assert full.debt_repaid == 16_000 * 10**6
    gap = av.liquidate(reserves(1000), user, "WETH", "USDC")  # collateral worth less than debt × bonus
    assert gap.scaled_supply_after == 0 and 0 < gap.debt_repaid < 16_000 * 10**6
    assert av.account_data(reserves(1000), user).health_factor < av.HEALTH_FACTOR_LIQUIDATION_THRESHOLD
