"""A market's `token: {kind: ...}`: which contract each kind deploys, the default, and how the kind shows in the
timeline and the report (malformed values are cases in scenario_cases.py)."""
from __future__ import annotations

import json
from pathlib import Path

from marginlab.report import render_markdown
from marginlab.scenario import REFUSED_TOKEN_KINDS, TOKEN_CONTRACTS, TOKEN_KINDS
from marginlab.timeline import MarketInfo, Timeline, timeline_from_json, timeline_json
from marginlab.validate import parse_scenario_text

from scenario_cases import make, weth

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
