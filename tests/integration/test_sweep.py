"""A small Monte Carlo sweep on Dask's LocalCluster gives the sequential run's numbers, and a report with
histograms, and so does a process-pool sweep with --reads mirror. Each replay starts its own Anvil node on a free port."""
from __future__ import annotations

from pathlib import Path

import pytest

from marginlab.sweep import run_sweep, write_report

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "hedged-book.yaml"  # GBM paths: the seed changes the price path


@pytest.fixture(autouse=True)
def isolation():
    """No brownie chain needed: the sweep starts its own nodes."""
    yield


def test_dask_sweep_equals_sequential_and_writes_histograms(tmp_path):
    sequential = run_sweep(SCENARIO, 4, {}, workers=1, engine="local")
    distributed = run_sweep(SCENARIO, 4, {}, workers=2, engine="dask")
    assert distributed == sequential
    # --reads mirror values accounts in Python: every replay's figures must be the vault's own
    mirrored = run_sweep(SCENARIO, 4, {}, workers=2, engine="local", reads="mirror")
    assert mirrored == sequential
    # the seeds' paths differ, so equal worst health factors are the mirror's valuations matching the vault's
    assert len({r["worst_health_factor"] for r in sequential}) > 1
    assert [r["seed"] for r in sequential] == [7, 8, 9, 10]
    report = write_report(distributed, tmp_path, "hedged-book", 0.0, "dask", 2)
    text = report.read_text()
    assert "liquidation count" in text and "worst healthFactor" in text
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["hist-0-bad_debt.png", "hist-0-liquidations.png", "hist-0-worst_health_factor.png", "risk-0.png"]
    assert "| VaR95 of bad debt (USD) |" in text and "| borrowing power used, p95 |" in text
    assert all((tmp_path / p).stat().st_size > 1000 for p in pngs)
    assert "Every replay" in (tmp_path / "sweep.html").read_text()  # the interactive page beside sweep.md
