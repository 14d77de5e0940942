"""``--chain revm`` (an EVM in the test process, marginlab/chain/revm.py) writes the committed golden timelines of
every example and incident scenario, in cross and in isolated margin, byte for byte — the files Anvil wrote — and
the same in per-step mining. No node is started, so the whole set takes seconds of CPU.
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
    """No brownie chain: revm runs in this process."""
    yield


def check(scenario: Path, texts: dict[str, str]) -> None:
    for mode, text in texts.items():
        path = golden.GOLDEN / golden.golden_name(scenario, mode)
        want = path.read_text(encoding="utf-8")
        if text != want:
            diff = "\n".join(list(difflib.unified_diff(want.splitlines(), text.splitlines(), str(path), "revm",
                                                       lineterm="", n=1))[:60])
            pytest.fail(f"{path.name}: the revm replay differs from the golden timeline:\n{diff}")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[golden.golden_name(s, "").rstrip(".json") for s in SCENARIOS])
def test_revm_replay_matches_the_golden_timelines(scenario, tmp_path):
    check(scenario, golden.replay_both(scenario, "revm", tmp_path))


@pytest.mark.parametrize("name", ["cascade-50", "hedged-book"])
def test_revm_per_step_mining_matches_too(name, tmp_path):
    from marginlab.chain import ChainOptions
    from marginlab.runner import plan_runs, protocol_variants, run_all
    from marginlab.scenario.validate import load_scenario

    scenario = ROOT / "scenarios" / f"{name}.yaml"
    model, doc = load_scenario(scenario)
    specs = plan_runs(protocol_variants(model, doc, None), tmp_path, compare=True)
    run_all(specs, doc, tmp_path, ChainOptions(backend="revm", mining="per-step"), charts=False, progress=False)
    check(scenario, {s.mode: (s.folder / "timeline.json").read_text(encoding="utf-8") for s in specs})


def test_a_comparison_on_revm_shows_no_gas_table_and_says_why(tmp_path, capsys):
    # revm keeps one EVM state open across transactions (storage stays warm), so its gas is not a node's: the
    # comparison leaves the gas table out rather than show figures that look measured.
    from marginlab.cli import main

    out = tmp_path / "out"
    code = main(["replay", str(ROOT / "scenarios" / "drain.yaml"), "--chain", "revm",
                 "--compare-protocols", "marginlab,morpho-blue", "--compare", "--out", str(out)])
    assert code == 0
    table = (out / "compare-protocols.md").read_text()
    assert "| marginlab | cross | complete |" in table
    assert "Gas per operation" not in table
    assert "gas: not measured on revm" in capsys.readouterr().err


def test_aave_v3_liquidations_in_one_round_replay_on_revm_as_on_anvil(tmp_path):
    # Aave's liquidation events carry the health factor at the block before each liquidation; a keeper round of
    # 130 liquidations (auto mining: a block each) used to read them after the round, further back than revm
    # keeps state, and the replay crashed. They are read as each liquidation is mined.
    from marginlab.cli import main

    texts = []
    for chain in ("revm", "anvil"):
        out = tmp_path / chain
        assert main(["replay", str(ROOT / "scenarios" / "cascade-50.yaml"), "--protocol", "aave-v3", "--chain", chain,
                     "--out", str(out), "--no-charts", "--quiet"]) == 0
        texts.append((out / "timeline.json").read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    assert '"liquidations": [' in texts[0] and texts[0].count('"health_factor_before"') >= 100
