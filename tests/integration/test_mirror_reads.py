"""--reads mirror gives the same timeline as --reads chain, byte for byte, and stops when it loses track.

Scenarios cover liquidations (drain), socialised bad debt (gap-crash) and a valuation that fails on a stale
feed (stale-oracle) or a tripped breaker for one sub-account while the others are valued (breaker-drift, I25). The
mirror checks itself against the vault (after set-up, every 50 steps, at the end) and
that its balances add up to every market's total scales at every read; the last test removes the engine's
marking of changed sub-accounts to show that the check stops the replay.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from marginlab.cli import main
from marginlab.protocols.marginlab.reads import VaultReads

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"


@pytest.fixture(autouse=True)
def isolation():
    """These tests start their own node through marginlab (no brownie chain to snapshot)."""
    yield


def _replay(name: str, reads: str, out: Path) -> int:
    return main(["replay", str(ROOT / "scenarios" / f"{name}.yaml"), "--chain", CHAIN, "--reads", reads,
                 "--out", str(out), "--no-charts", "--quiet"])


@pytest.mark.parametrize("name", ["drain", "gap-crash", "stale-oracle", "breaker-drift"])
def test_mirror_reads_give_the_same_timeline_as_the_vaults_batch_view(name, tmp_path):
    assert _replay(name, "chain", tmp_path / "chain") == 0
    assert _replay(name, "mirror", tmp_path / "mirror") == 0
    assert (tmp_path / "chain" / "timeline.json").read_bytes() == (tmp_path / "mirror" / "timeline.json").read_bytes()


def test_a_balance_change_the_mirror_missed_stops_the_replay(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(VaultReads, "touch", lambda self, names: None)  # forget who acted
    assert _replay("hedged-book", "mirror", tmp_path) == 3  # alice tops up at step 2
    err = capsys.readouterr().err
    assert "the mirror lost track of a balance" in err and "Traceback" not in err
    assert (tmp_path / "timeline.json").exists()  # what was replayed is written


@pytest.mark.parametrize("reads", ["chain", "mirror"])
def test_reads_split_into_chunks_give_the_same_timeline(reads, tmp_path, monkeypatch):
    """Big books are read in several eth_calls of one JSON-RPC batch (a call is capped at the block gas limit;
    1,000 sub-accounts did not fit one on Anvil); one sub-account per call must change nothing."""
    assert _replay("drain", reads, tmp_path / "whole") == 0
    monkeypatch.setattr(VaultReads, "_read_chunk", lambda self: 1)
    assert _replay("drain", reads, tmp_path / "chunked") == 0
    assert (tmp_path / "whole" / "timeline.json").read_bytes() == (tmp_path / "chunked" / "timeline.json").read_bytes()


@pytest.mark.parametrize("reads", ["chain", "mirror"])
def test_one_unpriceable_sub_account_leaves_the_others_valued(reads, tmp_path):
    """I25 in the replay: while the breaker refuses WETH, the step's note names only the sub-accounts holding it,
    and a sub-account that holds no WETH is valued at the step's prices (its state moves with them)."""
    import json
    assert _replay("breaker-drift", reads, tmp_path) == 0
    steps = json.loads((tmp_path / "timeline.json").read_text())["steps"]
    prefix = "accounts not valued (a market they hold has no price): "
    noted = [(prev, st) for prev, st in zip(steps, steps[1:]) if st.get("note")]
    assert noted and all(st["note"].startswith(prefix) for _, st in noted)
    moved = 0
    for prev, st in noted:
        named = {part.split(" ")[0] for part in st["note"][len(prefix):].split("; ")}
        assert named and named < set(st["accounts"])
        for key in named:
            assert st["accounts"][key] == prev["accounts"][key]  # carried: its last valued state
        moved += sum(st["accounts"][k] != prev["accounts"][k] for k in set(st["accounts"]) - named)
    assert moved > 0
