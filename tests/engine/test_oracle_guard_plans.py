"""The scenario's oracle guards without a chain: what the plan carries, the router calls the marginlab protocol
sends for them (none without guards, so today's timelines are unchanged), and the one-line refusal of every other
protocol (docs/oracle-guards.md)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.protocols.aave_v3.protocol import AaveV3
from marginlab.protocols.marginlab.protocol import MarginlabVault
from marginlab.protocols.marginlab.setup import UINT128_MAX, guard_calls, guard_changes
from marginlab.protocols.morpho_blue.protocol import MorphoBlue
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def _plan(rel: str):
    scenario, doc = load_scenario(ROOT / "scenarios" / rel)
    return build_plan(scenario, doc, "as-written")


@pytest.mark.parametrize("rel", sorted(str(p.relative_to(ROOT / "scenarios"))
                                       for p in (ROOT / "scenarios").glob("**/*.yaml")
                                       if "patches" not in p.parts))
def test_a_scenario_without_guards_sends_no_guard_call(rel):
    text = (ROOT / "scenarios" / rel).read_text()
    if "oracle_guards" in text or "sequencer:" in text:
        pytest.skip("sets guards")
    try:
        plan = _plan(rel)
    except Exception:  # files that need their CSVs or other setup are covered elsewhere
        pytest.skip("not loadable alone")
    assert guard_calls(plan) == []


def test_bounds_band_and_sequencer_become_router_calls():
    luna = _plan("incidents/venus-luna-2022.yaml")
    assert guard_calls(luna) == [("LUNA", "setFeedBounds", (10**17, UINT128_MAX))]
    skrw = _plan("incidents/skrw-misprice-2019.yaml")
    assert guard_calls(skrw) == [("SKRW", "setPriceBand", (5000, 3600))]
    seq = _plan("sequencer-outage.yaml")
    assert seq.sequencer is not None and seq.sequencer.grace_period == 3600 and seq.sequencer_line == 8
    assert guard_calls(seq) == [("WETH", "setSequencerFeed", (3600,)), ("USDC", "setSequencerFeed", (3600,))]


def test_faults_are_normalised_to_one_word():
    luna = _plan("incidents/venus-luna-2022.yaml")
    assert luna.steps[0].oracle == {"LUNA": "clamp:0.1"} and luna.steps[5].oracle == {"LUNA": "ok"}
    assert _plan("incidents/skrw-misprice-2019.yaml").steps[0].oracle == {"SKRW": "misprice:3"}
    assert _plan("sequencer-outage.yaml").steps[0].oracle == {"sequencer": "down"}


def test_a_governance_change_switches_off_what_the_new_guards_leave_out():
    luna = _plan("incidents/venus-luna-2022.yaml")
    act = luna.steps[5].governance[0]
    assert act.changed == ("oracle_guards",)
    assert act.market.oracle_guards is not None and act.market.oracle_guards.min_price == Decimal("0.0001")
    assert guard_changes(act.market) == [("setFeedBounds", (10**14, UINT128_MAX)), ("setPriceBand", (0, 0))]


def test_marginlab_maps_the_guards_and_the_peers_refuse_them_in_one_line_each():
    for rel in ("incidents/venus-luna-2022.yaml", "incidents/skrw-misprice-2019.yaml", "sequencer-outage.yaml"):
        plan = _plan(rel)
        assert not MarginlabVault.map_plan(plan).refusals
        for cls in (AaveV3, MorphoBlue):
            refusals = [i for i in cls.map_plan(plan).refusals
                        if "oracle_guards" in i.reason or "sequencer" in i.reason]
            assert len(refusals) == 1, (cls.name, rel, refusals)
            issue = refusals[0]
            assert issue.line > 0 and "\n" not in issue.reason and issue.reason.startswith(f"{cls.name}: ")
    assert AaveV3.governance_refusal(_plan("incidents/venus-luna-2022.yaml").steps[5].governance[0])
