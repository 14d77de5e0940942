"""Whole scenarios replayed on a real local chain that marginlab starts itself (not brownie's), on free ports.

Set MARGINLAB_CHAIN (or CHAIN) to ganache or anvil; default ganache, the product default.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from marginlab.chain.backends import start_node
from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
# Scenarios whose expectations are about cross vs isolated margin replay both ways.
COMPARED = {"hedged-book", "drain"}



@pytest.fixture(autouse=True)
def isolation():
    """Overrides the root conftest's brownie snapshot: these tests start their own node through marginlab,
    so they need neither brownie's chain nor its plugin."""
    yield


def replay(*args: str) -> int:
    return main(["replay", *args, "--chain", CHAIN, "--quiet"])


def test_every_example_scenario_is_exercised():
    names = {p.stem for p in SCENARIOS}
    assert {"hedged-book", "drain", "gap-crash", "slow-bleed", "cascade-50", "stale-oracle"} <= names


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """Replay each example once per module (with --compare where its expectations need both margins)."""
    cache: dict[str, tuple[int, str, Path]] = {}

    def get(name: str) -> tuple[int, str, Path]:
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            extra = ["--compare"] if name in COMPARED else []
            args = ["replay", str(ROOT / "scenarios" / f"{name}.yaml"), "--out", str(out), "--no-charts",
                    "--chain", CHAIN, "--quiet", *extra]
            proc = subprocess.run([sys.executable, "-m", "marginlab", *args], cwd=ROOT, capture_output=True,
                                  text=True, timeout=900)
            cache[name] = (proc.returncode, proc.stderr, out)
        return cache[name]
    return get


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_scenario_replays_and_its_expectations_hold(scenario, replayed):
    code, err, out = replayed(scenario.stem)
    assert code == 0, err
    assert "Traceback" not in err
    folders = [out / "cross", out / "isolated"] if scenario.stem in COMPARED else [out]
    for folder in folders:
        timeline = json.loads((folder / "timeline.json").read_text())
        assert timeline["status"] == "complete"
        checked = [e for e in timeline["expectations"] if not e.get("skipped")]  # skipped: for the other margin
        assert checked, "an example without checked expectations proves nothing"
        assert all(e["passed"] for e in checked)


def test_hedged_book_survives_in_cross_and_is_liquidated_in_isolated(replayed):
    code, err, out = replayed("hedged-book")
    assert code == 0, err
    cross = json.loads((out / "cross" / "timeline.json").read_text())
    isolated = json.loads((out / "isolated" / "timeline.json").read_text())
    assert [x for x in cross["liquidations"] if x["account"] == "alice"] == []
    assert {x["sub_id"] for x in isolated["liquidations"] if x["account"] == "alice"} == {0, 1}
    table = (out / "compare.md").read_text()
    assert "| alice | cross | 0 |" in table
    assert "| alice | isolated | 2 |" in table


def test_same_file_and_seed_give_a_byte_identical_timeline(tmp_path, capsys):
    scenario = str(ROOT / "scenarios" / "hedged-book.yaml")
    assert replay(scenario, "--out", str(tmp_path / "a"), "--no-charts") == 0
    assert replay(scenario, "--out", str(tmp_path / "b"), "--no-charts") == 0
    a = (tmp_path / "a" / "timeline.json").read_bytes()
    assert a == (tmp_path / "b" / "timeline.json").read_bytes()
    assert (tmp_path / "a" / "timeline.csv").read_bytes() == (tmp_path / "b" / "timeline.csv").read_bytes()
    assert b"/tmp" not in a and str(tmp_path).encode() not in a


def test_a_replay_writes_json_csv_markdown_and_charts(tmp_path, capsys):
    assert replay(str(ROOT / "scenarios" / "gap-crash.yaml"), "--out", str(tmp_path)) == 0
    for name in ("timeline.json", "timeline.csv", "report.md", "prices.png", "health_factor.png",
                 "collateral_seized.png", "bad_debt.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    report = (tmp_path / "report.md").read_text()
    assert "## Bad debt" in report and "| carol/0 | USDC |" in report
    assert "![Health factor per sub-account](health_factor.png)" in report


def test_stale_feed_records_the_expected_revert(tmp_path, capsys):
    assert replay(str(ROOT / "scenarios" / "stale-oracle.yaml"), "--out", str(tmp_path), "--no-charts") == 0
    timeline = json.loads((tmp_path / "timeline.json").read_text())
    failed = [a for s in timeline["steps"] for a in s["actions"] if not a["ok"]]
    assert len(failed) == 1
    assert failed[0]["revert"].startswith("StalePrice(")
    assert failed[0]["expected_revert"] == "StalePrice"


LONG_PATH = """\
name: long-walk
seed: 9
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 100000}}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 10}, borrow: {USDC: 5000}}]}
paths:
  WETH: {model: gbm, sigma: 0.5, dt: 3600, count: 600}
"""


def test_a_node_killed_mid_replay_ends_with_exit_3_and_the_partial_timeline(tmp_path):
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG_PATH)
    node = start_node(CHAIN)
    out = tmp_path / "out"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "marginlab", "replay", str(scenario), "--rpc-url", node.url,
                                 "--out", str(out), "--no-charts"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "steps (" in line:  # the replay is under way: pull the plug
                node.process.kill()
                break
        rest = proc.stderr.read()
        code = proc.wait(timeout=120)
    finally:
        node.stop()
    err = "".join(seen) + rest
    assert code == 3, err
    assert "Traceback" not in err
    assert "chain died (step " in err and "last block" in err
    timeline = json.loads((out / "timeline.json").read_text())
    assert timeline["status"] == "chain-died"
    assert 0 < len(timeline["steps"]) < 600
    assert timeline["error"].startswith("chain died")
    assert "chain-died" in (out / "report.md").read_text()


EVERY_VERB = """\
name: every-verb
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 100000}}
accounts:
  - name: alice
    margin: isolated
    positions:
      - {deposit: {WETH: 1}, borrow: {USDC: 1500}}
      - {deposit: {USDC: 100}}
  - {name: bob, positions: [{deposit: {USDC: 10}}]}
steps:
  - {action: {account: alice, position: 1, deposit: {USDC: 50}}}
  - {action: {account: alice, position: 1, withdraw: {USDC: 20}}}
  - {action: {account: alice, position: 1, transfer: {to_position: 0, amounts: {USDC: 30}}}}
  - {action: {account: alice, position: 0, repay: {USDC: 100}}}
  - {action: {account: alice, position: 0, borrow: {USDC: 100}}}
  - {prices: {WETH: 1700}}
  - {action: {account: bob, liquidate: {account: alice, position: 0, debt: USDC, collateral: WETH, amount: 200}}}
keeper: {enabled: false}
expect:
  - {account: alice, position: 0, liquidations: 1}
  - {account: alice, balances: {USDC: -1170}}  # -1500 +30 +100 -100 +200 (sub 0) and +100 (sub 1)
  - {account: bob, balances: {WETH: "> 0.1"}}
"""


def test_every_action_verb_replays_with_exact_balances(tmp_path, capsys):
    scenario = tmp_path / "verbs.yaml"
    scenario.write_text(EVERY_VERB)
    code = replay(str(scenario), "--out", str(tmp_path / "o"), "--no-charts")
    assert code == 0, capsys.readouterr().err
    timeline = json.loads((tmp_path / "o" / "timeline.json").read_text())
    calls = [a["call"] for s in timeline["steps"] for a in s["actions"]]
    assert calls == ["deposit(50 USDC, sub 1)", "withdraw(20 USDC, sub 1)", "transfer(30 USDC, sub 1 → sub 0)",
                     "repay(100 USDC, sub 0)", "borrow(100 USDC, sub 0)",
                     "liquidate(alice/0, repay 200 USDC for WETH)"]
    final = timeline["steps"][-1]["accounts"]
    assert final["alice/1"]["balances"] == {"USDC": "100000000"}
    (liq,) = timeline["liquidations"]
    assert (liq["liquidator"], liq["repaid"]) == ("bob", "200000000")
