"""The oracle-guard incidents replayed with ``--ab scenarios/patches/no-oracle-guards.yaml`` (issue 16): the file as
written (guards on) refuses the borrow against the wrong price and ends without bad debt; the same file without
its guards lends against the wrong price and leaves the bad debt the guards prevented. On revm: seconds, and the
timelines are the golden ones on every chain (test_revm_golden.py)."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
PATCH = ROOT / "scenarios" / "patches" / "no-oracle-guards.yaml"


@pytest.fixture(autouse=True)
def isolation():
    """No brownie chain: revm runs in this process."""
    yield


@pytest.mark.parametrize("incident, prevented", [("venus-luna-2022", Decimal("49090.92336")),
                                                 ("skrw-misprice-2019", Decimal("3991926.07"))])
def test_the_guards_prevent_the_bad_debt_the_unguarded_replay_leaves(incident, prevented, tmp_path, capsys):
    out = tmp_path / incident
    code = main(["replay", str(ROOT / "scenarios" / "incidents" / f"{incident}.yaml"), "--ab", str(PATCH),
                 "--chain", "revm", "--out", str(out), "--no-charts", "--quiet"])
    assert code == 1  # the unguarded run fails the file's expectations (the borrow no longer reverts)
    rows = {r["run"]: r for r in json.loads((out / "compare-ab.json").read_text())}
    guarded, unguarded = rows["without"], rows["with-no-oracle-guards"]
    assert guarded["status"] == unguarded["status"] == "complete"
    assert Decimal(guarded["bad_debt_usd"]) == 0 and guarded["liquidations"] == 0
    assert Decimal(unguarded["bad_debt_usd"]) >= prevented
    timeline = json.loads((out / "without" / "timeline.json").read_text())
    assert all(e["passed"] for e in timeline["expectations"])  # the borrow reverts by name; attacker profit ≤ 0
    err = capsys.readouterr().err
    assert "expect failed [with-no-oracle-guards" in err and "expect failed [without" not in err
