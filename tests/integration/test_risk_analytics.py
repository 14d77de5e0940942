"""Risk analytics on a chain marginlab starts itself: replay --attribution names the MEME short as what drained
bob's account and only adds the legs to the timeline; marginlab recommend finishes a tiny search on Anvil.

Set MARGINLAB_CHAIN (or CHAIN) to ganache or anvil for the replay; recommend's sweeps run on Anvil, as sweep's do.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
DRAIN = ROOT / "scenarios" / "drain.yaml"


@pytest.fixture(autouse=True)
def isolation():
    """These tests start their own nodes through marginlab; brownie's chain is not needed."""
    yield


def test_replay_with_attribution_names_the_meme_short_and_only_adds_the_legs(tmp_path, capsys):
    assert main(["replay", str(DRAIN), "--compare", "--attribution", "--out", str(tmp_path), "--no-charts",
                 "--chain", CHAIN, "--quiet"]) == 0
    report = (tmp_path / "cross" / "report.md").read_text()
    assert "## Attribution" in report and "Drained by position 1 (-25200)." in report
    assert "| position 1 (+5000 USDC, -3000 MEME) | -25200 | 0 | -25200 |" in report
    table = (tmp_path / "compare.md").read_text()
    assert "| bob | cross | position 1 (+5000 USDC, -3000 MEME): -25200 | position 1 | position 0 | 25680 |" in table
    for mode in ("cross", "isolated"):
        timeline = json.loads((tmp_path / mode / "timeline.json").read_text())
        assert [p["position"] for p in timeline.pop("legs")["positions"]] == [0, 1]
        golden = json.loads((ROOT / "tests" / "golden" / f"drain.{mode}.json").read_text())
        assert timeline == golden  # the flag adds the legs and changes nothing else


def test_recommend_finishes_on_anvil_and_writes_its_frontier(tmp_path, capsys):
    """MEME's maintenance liability weight from 1.1 to 1.2 (its initial weight follows, 0.1 above), 2 seeds each:
    bob's account is drained the same way at both; the lower weight lends more, so it is recommended."""
    code = main(["recommend", str(DRAIN), "--vary", "markets.2.liab_weight.maint=1.1..1.2", "--budget",
                 "var95 <= 1000000", "--points", "2", "--refine", "0", "--seeds", "2", "--workers", "2",
                 "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr()
    data = json.loads((tmp_path / "recommend.json").read_text())
    assert [s["value"] for s in data["settings"]] == [1.1, 1.2]
    assert data["recommended"]["params"] == {"markets.2.liab_weight.maint": 1.1, "markets.2.liab_weight.init": 1.2}
    assert data["settings"][0]["capital_efficiency"] > data["settings"][1]["capital_efficiency"]
    assert "**Recommended: markets.2.liab_weight.maint = 1.1, markets.2.liab_weight.init = 1.2**" in \
        (tmp_path / "recommend.md").read_text()
    assert (tmp_path / "frontier.png").stat().st_size > 5000
