"""Reports render from a hand-made timeline alone: no chain, exact numbers, reproducible bytes."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from marginlab.report.expect import evaluate
from marginlab.report.metrics import owner_summary
from marginlab.scenario.plan import build_plan
from marginlab.report.markdown import render_compare, render_csv, render_markdown, write_report
from marginlab.timeline import (BadDebt, Liquidation, MarketInfo, MarketState, StepRecord, SubAccountRef,
                                SubAccountState, Timeline, timeline_from_json, timeline_json)
from marginlab.scenario.validate import parse_scenario_text

WAD = 10**18
ETH = 10**18
USD = 10**6


def _market_state() -> MarketState:
    return MarketState(total_deposits=100_000 * USD, total_borrows=50_000 * USD, reserves=12 * USD,
                       deposit_index=WAD, borrow_index=WAD + 5, utilisation=WAD // 2, borrow_rate=WAD // 20,
                       supply_rate=WAD // 50)


def _record(index: int, eth_price: str, weth: int, usdc: int, hf: int | None, time: int = 0) -> StepRecord:
    return StepRecord(
        index=index, source="setup" if index < 0 else f"steps[{index}]", label=None, time=time,
        prices={"WETH": eth_price, "USDC": "1"}, oracle={},
        accounts={"alice/0": SubAccountState({"WETH": weth, "USDC": usdc}, 0, 0, hf, 0, 0)},
        markets={"WETH": _market_state(), "USDC": _market_state()})


@pytest.fixture
def timeline() -> Timeline:
    t = Timeline(
        scenario="hand-made", seed=7, mode="cross",
        markets=[MarketInfo("WETH", 18, 8, "2000", "0.8", "0.85", "1", "1", "0.05", "0.1", "0.1"),
                 MarketInfo("USDC", 6, 8, "1", "0.9", "0.95", "1", "1", "0.02", "0", "0.1")],
        sub_accounts=[SubAccountRef("alice/0", "alice", 0, "cross", [0, 1])])
    t.setup = _record(-1, "2000", 10 * ETH, -12_000 * USD, 14 * WAD // 10)
    t.steps = [_record(0, "1400", 10 * ETH, -12_000 * USD, 99 * WAD // 100, time=0),
               _record(1, "1400", 5 * ETH, -5_000 * USD, 119 * WAD // 100, time=3600)]
    t.liquidations = [Liquidation(step=0, liquidator="keeper", account="alice", sub_id=0, debt="USDC",
                                  collateral="WETH", repaid=7_000 * USD, seized=5 * ETH, to_liquidator=5 * ETH - 10**16,
                                  protocol_cut=10**16, repaid_value=7_000 * WAD, seized_value=7_000 * WAD,
                                  health_factor_before=99 * WAD // 100, health_factor_after=119 * WAD // 100)]
    t.bad_debts = [BadDebt(step=1, account="alice", sub_id=0, asset="USDC", debt=3 * USD,
                           covered_by_reserves=2 * USD, socialised=1 * USD, value=3 * WAD)]
    t.status = "complete"
    return t


def test_timeline_json_is_sorted_and_writes_amounts_as_strings(timeline):
    data = json.loads(timeline_json(timeline))
    assert list(data) == sorted(data)
    assert data["steps"][0]["accounts"]["alice/0"]["balances"]["WETH"] == str(10 * ETH)
    assert data["steps"][1]["time"] == 3600
    assert data["liquidations"][0]["sub_id"] == 0
    assert data["liquidations"][0]["repaid"] == "7000000000"


def test_timeline_json_round_trips_byte_for_byte(timeline):
    text = timeline_json(timeline)
    assert timeline_json(timeline_from_json(text)) == text


def test_owner_summary_is_exact(timeline):
    s = owner_summary(timeline, "alice")
    assert s.liquidations == 1
    assert s.collateral_seized == Decimal(7000)
    assert s.bad_debt == Decimal(3)
    assert s.end_equity == Decimal(2000)  # 5 WETH × 1400 − 5000 USDC
    assert s.max_leverage == Decimal(7)  # 14000 of assets over 2000 of equity after the crash
    assert s.min_health_factor == Decimal("0.99")


def test_markdown_report_reads_top_to_bottom(timeline):
    md = render_markdown(timeline, [("Prices", "prices.png")])
    order = ["## Summary", "## Markets", "## Sub-accounts", "## Steps", "## Liquidations", "## Bad debt",
             "## End state", "## Expectations", "## Charts"]
    positions = [md.index(h) for h in order]
    assert positions == sorted(positions)
    assert "| 0 | keeper | alice/0 | 7000 USDC | 5 WETH | 4.99 WETH | 0.01 WETH | 7000 | 7000 | 0.99 → 1.19 |" in md
    assert "| 1 | alice/0 | USDC | 3 | 2 | 1 | 3 |" in md
    assert "![Prices](prices.png)" in md


def test_csv_has_one_row_per_step_and_sub_account(timeline):
    rows = render_csv(timeline).splitlines()
    assert rows[0].startswith("step,source,time,sub_account,owner,sub_id,price_WETH,price_USDC")
    assert len(rows) == 1 + 3
    assert rows[2].split(",")[:6] == ["0", "steps[0]", "0", "alice/0", "alice", "0"]


def test_write_report_writes_every_file(timeline, tmp_path):
    write_report(timeline, tmp_path)
    for name in ("timeline.json", "timeline.csv", "report.md", "prices.png", "health_factor.png",
                 "collateral_seized.png", "bad_debt.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "prices.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_table_lists_each_owner_under_both_margins(timeline):
    md = render_compare({"cross": timeline, "isolated": timeline})
    assert "| alice | cross | 1 | 7000 | 3 | 2000 | 7 |" in md
    assert "| alice | isolated | 1 | 7000 | 3 | 2000 | 7 |" in md


SCENARIO = """\
name: hand-made
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 10}, borrow: {USDC: 12000}}]}
expect:
  - {account: alice, liquidations: 1}
  - {account: alice, liquidations: 0, margin: isolated}
  - {bad_debt: "<= 1"}
  - {account: alice, balances: {WETH: ">= 5", USDC: -5000}, final_equity: 2000, health_factor_min: "< 1"}
"""


def test_expectations_are_evaluated_from_the_timeline(timeline):
    scenario, doc = parse_scenario_text(SCENARIO, "s.yaml")
    plan = build_plan(scenario, doc, "cross")
    assert plan.expect_lines == tuple(doc.lines[("expect", i)] for i in range(len(scenario.expect)))
    results = evaluate(plan, timeline)
    assert [r.skipped for r in results] == [False, True] + [False] * (len(results) - 2)
    assert [(r.line, r.description, r.actual, r.passed) for r in results] == [
        (8, "alice: liquidations == 1", "1", True),
        # an expectation for the isolated run only is reported as skipped in the cross run, never as passed
        (9, "alice: liquidations", "skipped: only for margin isolated", False),
        (10, "protocol: bad debt (USD) <= 1", "3", False),
        (11, "alice: lowest health factor < 1", "0.99", True),
        (11, "alice: final equity (USD) == 2000", "2000", True),
        (11, "alice: final WETH balance >= 5", "5", True),
        (11, "alice: final USDC balance == -5000", "-5000", True),
    ]
