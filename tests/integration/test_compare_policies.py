"""--compare-policies: one scenario under every liquidation policy of the vault, each on a fresh chain of CHAIN, one
table. One run per scenario file (every policy in it) keeps the time down: drain as written, hedged-book and
cascade-50 in both margin modes. Every replay must run without the vault refusing the keeper (exit 0), and the
table must say what each policy did: absorb moves collateral to the protocol and the keeper buys it back, Dutch
never sells collateral below max_discount, fixed incentive never pays more than max_incentive."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.timeline import timeline_from_json

ROOT = Path(__file__).resolve().parents[2]
# Anvil when it is installed, whatever CHAIN the suite runs on: twelve replays, several times faster than on
# Ganache (the policies' behaviour does not depend on the node; test_mining_modes and the golden tests cover that).
CHAIN = "anvil" if shutil.which("anvil") else os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
POLICIES = ("close-factor", "fixed-incentive", "dutch", "absorb")
MAX_DISCOUNT = Decimal("0.15")  # LiquidationParams' defaults
MAX_INCENTIVE = Decimal("0.15")


@pytest.fixture(autouse=True)
def isolation():
    """marginlab starts its own nodes here; brownie's chain is not needed."""
    yield


def _replay(tmp_path: Path, name: str, *extra: str) -> tuple[Path, list[dict]]:
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", str(ROOT / "scenarios" / f"{name}.yaml"),
                           "--compare-policies", ",".join(POLICIES), *extra, "--chain", CHAIN, "--out", str(out),
                           "--quiet", "--no-charts"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((out / "compare-policies.json").read_text())
    assert all(r["expressible"] and r["status"] == "complete" for r in rows), rows
    assert (out / "compare-policies.md").is_file()
    assert "Per liquidation policy" in (out / "compare-policies.html").read_text()
    return out, rows


def _check_incentives(folder: Path, policy: str) -> None:
    t = timeline_from_json((folder / "timeline.json").read_text())
    # The keeper's offers follow the policy in force: the vault refuses none of its orders.
    assert not [a for r in t.records for a in r.actions if a.source == "keeper" and not a.ok], folder
    report = (folder / "report.md").read_text()
    default = policy == "close-factor"
    assert (f"- Liquidation: policy {policy}" + (" (the vault's default)" if default else "")) in report
    assert t.liquidation_policy == (None if default else policy)
    for x in t.liquidations:
        if policy == "absorb":
            assert x.absorbed and x.seized_value > 0 and x.repaid == x.seized == 0
            continue
        assert x.absorbed is None
        discount = 1 - Decimal(x.repaid_value) / Decimal(x.seized_value)  # the price cut on the collateral
        if policy == "dutch":
            assert discount <= MAX_DISCOUNT + Decimal("1e-9"), (x, discount)
        if policy == "fixed-incentive":
            assert Decimal(x.seized_value) / Decimal(x.repaid_value) - 1 <= MAX_INCENTIVE + Decimal("1e-9"), x
    if policy != "absorb":
        assert not t.purchases


def test_hedged_book_and_drain_under_every_policy(tmp_path):
    out, rows = _replay(tmp_path, "hedged-book", "--compare")  # isolated margin liquidates twice
    by_hb = {(r["policy"], r["margin"]): r for r in rows}
    for policy in POLICIES:
        assert by_hb[(policy, "isolated")]["liquidations"] >= 1, policy
        for mode in ("cross", "isolated"):
            _check_incentives(out / policy / mode, policy)
    out, rows = _replay(tmp_path, "drain")
    assert [r["policy"] for r in rows] == list(POLICIES)
    for policy in POLICIES:
        _check_incentives(out / policy, policy)
    # drain liquidates bob under every policy; under absorb the protocol takes his whole account, the keeper
    # buys the collateral back, and the debt is covered by it (no bad debt).
    by = {r["policy"]: r for r in rows}
    assert all(by[p]["liquidations"] >= 1 for p in POLICIES)
    assert Decimal(by["absorb"]["collateral_lost_usd"]) > Decimal(by["close-factor"]["collateral_lost_usd"])
    assert Decimal(by["absorb"]["reserves_change_usd"]) > 0 and Decimal(by["absorb"]["absorbed_held_usd"]) == 0
    assert Decimal(by["absorb"]["bad_debt_usd"]) == 0


def test_cascade_50_under_every_policy_in_both_margins(tmp_path):
    out, rows = _replay(tmp_path, "cascade-50", "--compare")
    assert [(r["policy"], r["margin"]) for r in rows] == [(p, m) for p in POLICIES for m in ("cross", "isolated")]
    by = {(r["policy"], r["margin"]): r for r in rows}
    for policy in POLICIES:
        for mode in ("cross", "isolated"):
            assert by[(policy, mode)]["liquidations"] >= 1, (policy, mode)
            _check_incentives(out / policy / mode, policy)
    # The default policy's run is the plain replay's: its timelines are the golden ones.
    for mode in ("cross", "isolated"):
        replayed = (out / "close-factor" / mode / "timeline.json").read_text()
        assert replayed == (ROOT / "tests" / "golden" / f"cascade-50.{mode}.json").read_text(), mode
    absorb = timeline_from_json((out / "absorb" / "cross" / "timeline.json").read_text())
    # One absorption per account at most, each a liquidation; the collateral went to the protocol and back out.
    accounts = [x.account for x in absorb.liquidations]
    assert len(accounts) == len(set(accounts)) == by[("absorb", "cross")]["liquidations"]
    assert absorb.purchases and all(p.bought > 0 and p.bought_value > p.paid_value for p in absorb.purchases)
    absorbed = sum(u for x in absorb.liquidations for u in (x.absorbed or {}).values())
    assert absorbed == sum(p.bought for p in absorb.purchases)  # the keeper bought all of it (one asset: WETH)
    assert Decimal(by[("absorb", "cross")]["collateral_lost_usd"]) > 0
    assert Decimal(by[("absorb", "cross")]["absorbed_held_usd"]) == 0
    table = (out / "compare-policies.md").read_text()
    assert "| absorb | cross | complete |" in table and "| dutch | isolated | complete |" in table
