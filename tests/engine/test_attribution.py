"""Attribution of cross-margin liquidations to positions: on drain.yaml the MEME short drained bob's account and
the contributions add up, exactly, to the change in maintenance health; so they do for every liquidation of a
cross sub-account in every golden timeline; netting is its own line; the legs survive the timeline's JSON."""
from __future__ import annotations

import sys
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from marginlab.numbers import EXACT
from marginlab.report.attribution import attribute
from marginlab.report.markdown import render_compare, render_markdown
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import load_scenario
from marginlab.timeline import (
    Liquidation,
    MarketInfo,
    PositionBook,
    PositionLegs,
    StepRecord,
    SubAccountRef,
    SubAccountState,
    Timeline,
    timeline_from_json,
    timeline_json,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from golden import golden_name, scenario_files  # noqa: E402


def _golden_with_legs(scenario: Path, mode: str = "cross") -> Timeline:
    """The committed replay of ``scenario`` with the legs its plan records (what ``--attribution`` adds)."""
    timeline = timeline_from_json((ROOT / "tests" / "golden" / golden_name(scenario, mode)).read_text())
    timeline.legs = build_plan(*load_scenario(scenario), mode).legs
    return timeline


def _adds_up(a) -> bool:
    with localcontext(EXACT):
        return sum((c.total for c in a.positions), Decimal(0)) + a.netting + a.unexplained == a.change


def test_drain_names_the_meme_short_as_the_position_that_drained_the_account():
    [a] = attribute(_golden_with_legs(ROOT / "scenarios" / "drain.yaml"))
    assert (a.key, a.step, len(a.liquidations)) == ("bob/0", 2, 2)
    drained = a.drained_by
    assert [c.position for c in drained] == [1]
    assert drained[0].legs == {"USDC": 5000 * 10**6, "MEME": -3000 * 10**18}  # the MEME short
    # MEME 1 → 8 on a 3,000 MEME borrow at liability weight 1.2: −25,200 USD; the BTC loan did not move
    assert drained[0].total == Decimal(-25200)
    assert a.positions[0].total == 0
    assert (a.netting, a.unexplained) == (0, 0)
    assert a.health_open == Decimal(19400) and a.health_before == Decimal(-5800)
    assert a.change == Decimal(-25200) and _adds_up(a)
    assert abs(a.hf_before - a.vault_hf_before) < Decimal("1e-17")  # 48,000 / 53,800 both ways
    # the MEME debt was repaid with the BTC loan's collateral
    meme = [f for f in a.flows if f.debt == "MEME"]
    assert [(f.debt_position, f.collateral_position, f.seized_usd) for f in meme] == [(1, 0, Decimal("25680"))]


GOLDEN_SCENARIOS = scenario_files()


@pytest.mark.parametrize("scenario", GOLDEN_SCENARIOS, ids=[p.stem for p in GOLDEN_SCENARIOS])
def test_every_golden_cross_liquidation_adds_up_exactly_and_matches_the_vaults_health_factor(scenario):
    """The reconstructed balances before the keeper give the vault's own health factor to within the rounding of
    one token unit per asset (1e-9 relative here). With keepers with a balance sheet (``keepers:``: one
    transaction per liquidation, withdrawals and sales between them) one reconstruction differs by 1.2e-9
    (cascade-50-deep, bot-33 at step 9; not yet traced, block timestamps do not move within a step): 1e-8 there."""
    timeline = _golden_with_legs(scenario)
    tolerance = Decimal("1e-8") if timeline.keepers is not None else Decimal("1e-9")
    for a in attribute(timeline):
        assert _adds_up(a), (a.key, a.step)
        assert abs(a.hf_before - a.vault_hf_before) < tolerance, (a.key, a.step)


def _market(symbol: str, decimals: int, price: str, aw: str, lw: str) -> MarketInfo:
    return MarketInfo(symbol, decimals, 8, price, aw, aw, lw, lw, "0.05", "0", "0.1")


def _state(balances: dict[str, int]) -> SubAccountState:
    return SubAccountState(balances, 0, 0, None, 0, 0)


def test_netting_of_opposite_legs_is_its_own_line():
    """Long 10 WETH against 10,000 USDC, and short 3 WETH against 9,000 USDC, in one sub-account: the vault holds
    +7 WETH at one weight. WETH 2,000 → 1,000: the long loses 10 × 1,000 × 0.85 = 8,500, the short gains
    3 × 1,000 × 1.0 = 3,000, and netting moves by 3 × (1.0 − 0.85) × (1,000 − 2,000) = −450: the 3 netted WETH
    count +0.85 and −1.0 in the positions, not at all in the vault. Total 7 × 0.85 × −1,000 = −5,950."""
    weth, usdc = 10**18, 10**6
    opening = {"WETH": 7 * weth, "USDC": -1000 * usdc}
    after = {"WETH": 7 * weth - 5 * weth, "USDC": -1000 * usdc + 1000 * usdc}
    sub = SubAccountRef("eve/0", "eve", 0, "cross", [0, 1])
    liq = Liquidation(0, "keeper", "eve", 0, "USDC", "WETH", 1000 * usdc, 5 * weth, 5 * weth, 0,
                      1000 * 10**18, 5000 * 10**18, 10**17, None)
    timeline = Timeline("t", 0, "cross", [_market("WETH", 18, "2000", "0.85", "1"), _market("USDC", 6, "1", "0.95",
                                                                                              "1")], [sub],
                        setup=StepRecord(-1, "setup", None, 0, {"WETH": "2000", "USDC": "1"}, {},
                                         {"eve/0": _state(opening)}, {}),
                        steps=[StepRecord(0, "steps[0]", "crash", 0, {"WETH": "1000", "USDC": "1"}, {},
                                          {"eve/0": _state(after)}, {})],
                        liquidations=[liq],
                        legs=PositionBook([PositionLegs("eve", 0, 0, {"WETH": 10 * weth, "USDC": -10000 * usdc}),
                                           PositionLegs("eve", 1, 0, {"USDC": 9000 * usdc, "WETH": -3 * weth})]))
    [a] = attribute(timeline)
    assert [c.total for c in a.positions] == [Decimal(-8500), Decimal(3000)]
    assert a.netting == Decimal(-450) and a.unexplained == 0
    assert a.change == Decimal(7 * 850 - 7 * 1700) and _adds_up(a)
    assert [c.position for c in a.drained_by] == [0]


def test_legs_survive_the_json_and_a_timeline_without_them_has_no_legs_key():
    timeline = _golden_with_legs(ROOT / "scenarios" / "drain.yaml")
    text = timeline_json(timeline)
    assert '"legs": {' in text and '"position": 1' in text
    assert timeline_from_json(text).legs == timeline.legs
    timeline.legs = None
    assert timeline_json(timeline) == (ROOT / "tests" / "golden" / "drain.cross.json").read_text()


def test_action_moves_are_recorded_per_position_and_applied_only_when_they_went_through():
    plan = build_plan(*load_scenario(ROOT / "scenarios" / "hedged-book.yaml"), "cross")
    assert plan.legs is not None
    [move] = plan.legs.moves
    assert (move.step, move.source, move.owner, move.position, move.asset, move.change) == \
        (3, "steps[3].action", "alice", 1, "USDC", 1000 * 10**6)


def test_the_report_and_the_compare_table_say_whose_debt_was_paid_with_whose_collateral():
    drain = ROOT / "scenarios" / "drain.yaml"
    cross, isolated = _golden_with_legs(drain, "cross"), _golden_with_legs(drain, "isolated")
    report = render_markdown(cross)
    assert "## Attribution" in report and "Drained by position 1 (-25200)." in report
    assert "| position 1 (+5000 USDC, -3000 MEME) | -25200 | 0 | -25200 |" in report
    table = render_compare({"cross": cross, "isolated": isolated})
    assert "| bob | cross | position 1 (+5000 USDC, -3000 MEME): -25200 | position 1 | position 0 | 25680 |" in table
    assert "| bob | cross | position 1 (+5000 USDC, -3000 MEME): -25200 | position 0 | position 0 (its own) | 26750 |" \
        in table
