"""--compare-protocols: protocols × margin modes on one scenario, each run on a fresh chain of CHAIN, one table with
per-operation gas read from that run's own receipts; the timelines are those a plain replay writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"


@pytest.fixture(autouse=True)
def isolation():
    """marginlab starts its own nodes here; brownie's chain is not needed."""
    yield


def test_drain_on_both_protocols_and_both_margins(tmp_path):
    out = tmp_path / "cp"
    proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", str(ROOT / "scenarios" / "drain.yaml"),
                           "--compare-protocols", "marginlab,morpho-blue", "--compare", "--chain", CHAIN,
                           "--out", str(out), "--quiet", "--no-charts"], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((out / "compare-protocols.json").read_text())
    assert [(r["protocol"], r["margin"], r["expressible"]) for r in rows] == [
        ("marginlab", "cross", True), ("marginlab", "isolated", True), ("morpho-blue", "cross", False),
        ("morpho-blue", "isolated", True)]
    by = {(r["protocol"], r["margin"]): r for r in rows}
    for key in [("marginlab", "cross"), ("marginlab", "isolated"), ("morpho-blue", "isolated")]:
        gas = by[key]["gas"]
        assert {"deposit", "borrow", "liquidate"} <= set(gas), key
        assert all(g["median"] > 21_000 and g["receipts"] >= 1 for g in gas.values()), key
    # Both isolated runs liquidate bob's MEME short once; Morpho's own incentive leaves more bad debt behind.
    assert by[("marginlab", "isolated")]["liquidations"] == by[("morpho-blue", "isolated")]["liquidations"] == 1
    assert by[("morpho-blue", "cross")]["refusals"][0].endswith("(no cross margin across assets)")
    table = (out / "compare-protocols.md").read_text()
    assert "| morpho-blue | cross | not expressible: morpho-blue: bob's sub-account 0" in table
    assert "## Gas per operation" in table and "liquidation_bonus` not honoured" in table
    assert (out / "compare-protocols.html").is_file() and (out / "marginlab" / "compare.html").is_file()
    # Sending set-up and keeper operations one per transaction (for their gas) changes nothing in the timeline.
    for mode in ("cross", "isolated"):
        replayed = (out / "marginlab" / mode / "timeline.json").read_text()
        assert replayed == (ROOT / "tests" / "golden" / f"drain.{mode}.json").read_text(), mode
