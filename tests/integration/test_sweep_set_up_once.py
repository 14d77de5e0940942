"""On the local process pool an Anvil sweep sets up once per worker too (evm_snapshot/evm_revert on the node the
worker keeps): the figures are those of a fresh node per replay, in both mining modes, and the workers stop their
nodes when the pool shuts down."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from marginlab import sweep

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "hedged-book-correlated.yaml"


@pytest.fixture(autouse=True)
def isolation():
    """No brownie chain: the sweep starts its own nodes."""
    yield


def anvil_nodes() -> set[str]:
    """Process ids of Anvil nodes started from this checkout (marginlab passes --order fifo)."""
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if str(ROOT) in line and "anvil" in line
            and "--order fifo" in line}


@pytest.mark.parametrize("mining", ["auto", "per-step"])
def test_anvil_set_up_once_on_the_pool_gives_a_fresh_nodes_figures(mining):
    before = anvil_nodes()
    text = SCENARIO.read_text()
    results = sweep.run_sweep(SCENARIO, 3, {}, workers=2, engine="local", backend="anvil", mining=mining)
    fresh = [sweep.run_one(text, r["seed"], {}, "anvil", mining, file=str(SCENARIO), reuse=False) for r in results]
    assert results == fresh
    assert anvil_nodes() <= before  # the pool's workers stopped the nodes they kept
