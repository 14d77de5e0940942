"""Governance inside a replay (guardian pauses, governor unpauses and sets parameters) and --ab patches, on the
chain the suite runs on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
HEDGED = ROOT / "scenarios" / "hedged-book.yaml"
PATCH = ROOT / "scenarios" / "patches" / "hedged-book-stricter.yaml"

PAUSED = """\
name: paused
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 100000}}
accounts:
  - name: alice
    positions:
      - {deposit: {WETH: 10}, borrow: {USDC: 1000}}
steps:
  - {label: paused, governance: {pause: [borrow, withdraw]}, action: {account: alice, borrow: {USDC: 100}, expect_revert: BorrowPaused}}
  - {action: {account: alice, repay: {USDC: 100}}}
  - {label: back, governance: {unpause: [borrow], set_params: {WETH: {asset_weight: {init: 0.5, maint: 0.6}}}}, action: {account: alice, borrow: {USDC: 100}, expect_revert: WithdrawPaused}}
  - {action: {account: alice, withdraw: {WETH: 1}, expect_revert: WithdrawPaused}}
expect:
  - {account: alice, balances: {USDC: -900}}
"""


@pytest.fixture(autouse=True)
def isolation():
    """marginlab starts its own nodes here; brownie's chain is not needed."""
    yield


def test_the_guardian_pauses_the_governor_unpauses_and_sets_parameters(tmp_path, capsys):
    path = tmp_path / "paused.yaml"
    path.write_text(PAUSED)
    assert main(["replay", str(path), "--chain", CHAIN, "--out", str(tmp_path / "o"), "--quiet", "--no-charts"]) == 0, \
        capsys.readouterr().err
    t = json.loads((tmp_path / "o" / "timeline.json").read_text())
    calls = [[(a["account"], a["call"], a["ok"]) for a in s["actions"]] for s in t["steps"]]
    assert calls[0][0] == ("guardian", "pause(borrow, withdraw)", True)
    assert calls[0][1][2] is False and t["steps"][0]["actions"][1]["error_name"] == "BorrowPaused"
    assert calls[2][:2] == [("governor", "set_params(WETH: asset_weight 0.5/0.6)", True),
                            ("governor", "unpause(borrow)", True)]
    # A borrow takes tokens out as a withdrawal does: the withdraw pause still refuses it (I23).
    assert calls[2][2][2] is False and t["steps"][2]["actions"][2]["error_name"] == "WithdrawPaused"
    assert t["steps"][3]["actions"][0]["error_name"] == "WithdrawPaused"  # withdraw is still paused
    # The new weights count from step 2 on: 10 WETH at 0.85, then at 0.6 maint, against ~900 USDC of debt.
    before, after = (int(t["steps"][k]["accounts"]["alice/0"]["health_maint"]) for k in (1, 2))
    assert before - after == 10 * 2000 * (85 - 60) * 10**16  # 5,000 of weight, nothing borrowed
    assert all(e["passed"] for e in t["expectations"])


def test_ab_replays_the_hedged_book_without_and_with_the_patch(tmp_path):
    out = tmp_path / "ab"
    proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", str(HEDGED), "--ab", str(PATCH), "--compare",
                           "--chain", CHAIN, "--out", str(out), "--quiet", "--no-charts"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    rows = {(r["run"], r["margin"]): r for r in json.loads((out / "compare-ab.json").read_text())}
    assert set(rows) == {("without", "cross"), ("without", "isolated"), ("with-stricter", "cross"),
                         ("with-stricter", "isolated")}
    # a 5 % USDC bonus (was 2 %) costs the isolated short more collateral and pays the keeper more
    assert float(rows[("with-stricter", "isolated")]["collateral_seized_usd"]) > \
        float(rows[("without", "isolated")]["collateral_seized_usd"])
    assert rows[("with-stricter", "isolated")]["gas"]["governance"]["receipts"] == 3
    for mode in ("cross", "isolated"):  # the run without the patch is the plain replay
        assert (out / "without" / mode / "timeline.json").read_text() == \
            (ROOT / "tests" / "golden" / f"hedged-book.{mode}.json").read_text()
    patched = json.loads((out / "with-stricter" / "isolated" / "timeline.json").read_text())
    assert [s["label"] for s in patched["steps"][:3]] == ["ETH -30 %, BTC -25 %", "patch: set_params", "patch: pause"]


def test_a_patch_anchored_to_no_step_is_one_line_naming_the_patch_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("governance:\n  - {after: nope, pause: [borrow]}\n")
    assert main(["replay", str(HEDGED), "--ab", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{bad}:2: governance[0].after: no step 'nope' in {HEDGED}")
    assert not (tmp_path / "o").exists()


def test_morpho_refuses_a_pause_before_any_chain_work(tmp_path, capsys):
    path = tmp_path / "paused.yaml"
    path.write_text(PAUSED)
    assert main(["replay", str(path), "--protocol", "morpho-blue", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "steps[0].governance.pause: morpho-blue: Morpho Blue cannot be paused" in err
