"""A market's `token: {kind: ...}`: which contract each kind deploys, the default, and how the kind shows in the
timeline and the report (malformed values are cases in scenario_cases.py)."""
from __future__ import annotations

import json
from pathlib import Path

from marginlab.scenario.actions import verb_word
from marginlab.report.markdown import render_markdown
from marginlab.scenario.fields import REFUSED_TOKEN_KINDS, TOKEN_CONTRACTS, TOKEN_KINDS
from marginlab.scenario.plan import build_plan
from marginlab.timeline import MarketInfo, StepRecord, Timeline, timeline_from_json, timeline_json
from marginlab.scenario.validate import parse_scenario_text

from scenario_cases import PAUSABLE_USDC, make, weth

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def _market(token: str | None = None):
    fields = {} if token is None else {"token": token}
    scenario, _ = parse_scenario_text(make({4: weth(**fields)}), "s.yaml")
    return scenario.markets[0]


def test_a_market_without_token_is_a_plain_sim_token():
    m = _market()
    assert (m.token.kind, m.token.fee_bps, m.token.contract, m.token.constructor_extra) == ("plain", None, "SimToken", ())


def test_fee_on_transfer_carries_its_fee_to_the_constructor():
    m = _market("{kind: fee-on-transfer, fee_bps: 100}")
    assert (m.token.contract, m.token.constructor_extra, str(m.token)) == \
        ("FeeOnTransferToken", (100,), "fee-on-transfer (100 bps)")


def test_every_kind_names_a_contract_of_the_repository_and_rebasing_is_not_one():
    for kind in TOKEN_KINDS:
        m = _market(f"{{kind: {kind}, fee_bps: 1}}" if kind == "fee-on-transfer" else f"{{kind: {kind}}}")
        assert m.token.kind == kind
        folder = CONTRACTS / "sim" / ("" if kind == "plain" else "hostile")
        assert (folder / f"{m.token.contract}.sol").is_file(), kind
    assert "rebasing" in REFUSED_TOKEN_KINDS and "rebasing" not in TOKEN_CONTRACTS
    assert (CONTRACTS / "sim" / "hostile" / "RebasingToken.sol").is_file()  # it exists; a replay refuses it


def _timeline(token: str | None) -> Timeline:
    return Timeline(scenario="t", seed=0, mode="cross", sub_accounts=[],
                    markets=[MarketInfo("FEE", 18, 8, "1", "0.8", "0.85", "1", "1", "0.05", "0", "0.1", token),
                             MarketInfo("USDC", 6, 8, "1", "0.9", "0.95", "1", "1", "0.02", "0", "0.1")])


def test_the_timeline_names_a_hostile_token_and_leaves_plain_ones_as_they_were():
    plain = json.loads(timeline_json(_timeline(None)))
    assert all("token" not in m for m in plain["markets"])  # the bytes of plain-token timelines do not change
    text = timeline_json(_timeline("fee-on-transfer (100 bps)"))
    hostile = json.loads(text)
    assert hostile["markets"][0]["token"] == "fee-on-transfer (100 bps)" and "token" not in hostile["markets"][1]
    assert timeline_json(timeline_from_json(text)) == text


def test_the_report_has_a_token_column_only_when_a_market_is_not_plain():
    assert "| token |" not in render_markdown(_timeline(None))
    report = render_markdown(_timeline("fee-on-transfer (100 bps)"))
    assert "| reserve factor | token |" in report
    assert "| 0.1 | fee-on-transfer (100 bps) |" in report and "| 0.1 | plain |" in report


# ------------------------------------------------------------------ token_admin: the issuer's acts
def _steps(*tokens: dict[str, str] | None) -> Timeline:
    t = _timeline(None)
    t.steps = [StepRecord(i, f"steps[{i}]", None, 0, {"FEE": "1", "USDC": "1"}, {}, {}, {}, tokens=tok)
               for i, tok in enumerate(tokens)]
    return t


def test_token_state_is_written_only_once_a_token_was_acted_on_and_reads_back():
    text = timeline_json(_steps(None, {"USDC": "paused"}, {"USDC": "live; blocked: vault"}))
    steps = json.loads(text)["steps"]
    assert "tokens" not in steps[0]  # a scenario without token_admin keeps its timeline bytes
    assert [s.get("tokens") for s in steps[1:]] == [{"USDC": "paused"}, {"USDC": "live; blocked: vault"}]
    assert timeline_json(timeline_from_json(text)) == text


def test_the_steps_table_shows_a_token_that_is_not_plainly_live():
    report = render_markdown(_steps({"USDC": "paused"}, {"USDC": "live"}, {"USDC": "live; blocked: vault"}))
    rows = [line for line in report.splitlines() if line.startswith("| 0 |") or line.startswith("| 1 |")
            or line.startswith("| 2 |")]
    assert "token USDC paused" in rows[0]
    assert "token USDC" not in rows[1]
    assert "token USDC live; blocked: vault" in rows[2]


def test_token_admin_is_planned_in_order_before_the_steps_actions():
    text = make({5: PAUSABLE_USDC,
                 13: "  - {token_admin: {USDC: {paused: true, block: [vault, alice]}}, "
                     "action: {account: alice, repay: {USDC: 1}, expect_revert: EnforcedPause}}"})
    scenario, doc = parse_scenario_text(text, "s.yaml")
    [step] = build_plan(scenario, doc).steps
    admin = step.token_admin["USDC"]
    assert (admin.paused, admin.block, admin.unblock) == (True, ["vault", "alice"], [])
    assert [verb_word(a) for a in step.actions] == ["repay"]
