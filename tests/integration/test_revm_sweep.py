"""A sweep on revm sets up once per worker and replays every seed from a snapshot: the figures are those of a fresh
replay per seed (on revm, and so on Anvil, whose timelines revm's equal byte for byte), in every mining mode and
parameter set, and across the process pool."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from marginlab import sweep

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "hedged-book-correlated.yaml"  # liquidations, and seeds that move them


@pytest.fixture(autouse=True)
def isolation():
    """No brownie chain: revm runs in this process."""
    yield


def fresh(seed: int, params: dict, mining: str) -> dict:
    """One replay on a chain of its own, set up from nothing."""
    from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
    from marginlab.scenario.plan import build_plan
    from marginlab.scenario.validate import parse_scenario_text
    from marginlab.sim.engine import Replay

    data = yaml.safe_load(SCENARIO.read_text())
    data["seed"] = seed
    for path, value in params.items():
        sweep._apply(data, path, value)
    plan = build_plan(*parse_scenario_text(yaml.safe_dump(data, sort_keys=False), str(SCENARIO)))
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(backend="revm", mining=mining), RevertDecoder(artifacts.all_abis()))
    return sweep.figures(seed, params, Replay(plan, chain, artifacts).run())


@pytest.mark.parametrize("mining, sets", [("auto", {"markets.0.liquidation_bonus": [0.05, 0.08]}), ("per-step", {})])
def test_set_up_once_gives_the_fresh_replays_figures(mining, sets, monkeypatch):
    made = []
    original = sweep.SetUpOnce.__init__
    monkeypatch.setattr(sweep.SetUpOnce, "__init__", lambda self, *a: made.append(a) or original(self, *a))
    results = sweep.run_sweep(SCENARIO, 2, sets, workers=1, backend="revm", mining=mining)
    base = int(yaml.safe_load(SCENARIO.read_text())["seed"])
    assert [r["seed"] for r in results] == [base, base + 1] * (2 if sets else 1)
    assert len(made) == (2 if sets else 1)  # one set-up per parameter set, not per seed
    assert not sweep.SetUpOnce._kept  # released when the sweep ran in this process
    for r in results:
        assert r == fresh(r["seed"], r["params"], mining)
    assert len({r["liquidations"] for r in results}) > 1 or len({r["worst_health_factor"] for r in results}) > 1


def test_a_process_pool_sweep_on_revm_equals_the_sequential_one():
    assert sweep.run_sweep(SCENARIO, 3, {}, workers=2, backend="revm") == \
        sweep.run_sweep(SCENARIO, 3, {}, workers=1, backend="revm")
