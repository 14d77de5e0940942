"""Every example and incident scenario, replayed in cross and in isolated margin, writes exactly the committed
golden `timeline.json` (tests/golden/, written by `make golden`), byte for byte.

They run on Anvil whatever CHAIN is: timelines are byte-identical across chains, and `python tools/golden.py
--check --chain ganache` shows it for Ganache; the Ganache path of every example is replayed by
tests/integration/test_scenarios.py. A change of behaviour on purpose re-baselines them in its own commit.
"""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import golden  # noqa: E402

SCENARIOS = golden.scenario_files()


@pytest.fixture(autouse=True)
def isolation():
    """These tests start their own nodes through marginlab; brownie's chain is not needed."""
    yield


def test_every_example_and_incident_has_its_golden_timelines():
    committed = {p.name for p in golden.GOLDEN.glob("*.json")}
    expected = {golden.golden_name(s, m) for s in SCENARIOS for m in golden.MODES}
    assert committed == expected
    assert len(SCENARIOS) >= 19


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[golden.golden_name(s, "").rstrip(".json") for s in SCENARIOS])
def test_replay_matches_its_golden_timelines_byte_for_byte(scenario, tmp_path):
    texts = golden.replay_both(scenario, "anvil", tmp_path)
    for mode, text in texts.items():
        path = golden.GOLDEN / golden.golden_name(scenario, mode)
        want = path.read_text(encoding="utf-8")
        if text != want:
            diff = "\n".join(list(difflib.unified_diff(want.splitlines(), text.splitlines(), str(path), "replayed",
                                                       lineterm="", n=1))[:60])
            pytest.fail(f"{path.name} differs from the replay (re-baseline with `make golden` only for a change "
                        f"of behaviour made on purpose):\n{diff}")
