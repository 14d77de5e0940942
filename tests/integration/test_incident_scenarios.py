"""Every incident replay in scenarios/incidents/ (RELIABILITY's incident table, and the 40 % crash of 50 accounts)
replayed through the CLI on a node marginlab starts itself, with its `expect:` block passing (exit 0).

On top of each file's own expectations, the timeline is checked for what `expect:` cannot say: every bad-debt
record splits exactly into reserves + socialised (I14), the socialised part leaves the lenders' deposits and
nothing more than the index's rounding in the vault's favour, and no sub-account ends a step unhealthy with
collateral left (the keeper liquidated or settled everything it could, I13). What the scenario format cannot
express (re-entrant tokens, donations, AMM prices) is covered by the contract-level tests named in
scenarios/incidents/README.md.

The replays run in parallel (each on its own node and port) once per module.
"""
from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from marginlab.scenario.validate import load_scenario

# The scenario tests' root, chain choice and brownie-free isolation fixture (an override of the root conftest's).
from test_scenarios import CHAIN, ROOT, isolation  # noqa: F401

INCIDENTS = sorted((ROOT / "scenarios" / "incidents").glob("*.yaml"))
NAMES = [p.stem for p in INCIDENTS]
# One file per row of RELIABILITY's incident table, plus the 40 % crash.
TABLE = {"bzx-2020", "compound-dai-2020", "venus-xvs-2021", "cream-amp-2021", "cream-yusd-2021", "rari-fei-2022",
         "inverse-2022", "mango-2022", "aave-crv-2022", "euler-2023", "inflation-2023", "crash-40-50"}
WAD = 10**18


@pytest.fixture(scope="module")
def replays(tmp_path_factory):
    def run(path: Path):
        out = tmp_path_factory.mktemp(path.stem)
        proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", str(path), "--out", str(out),
                               "--no-charts", "--chain", CHAIN, "--quiet"],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        return path.stem, (proc.returncode, proc.stderr, out)
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, INCIDENTS))


def timeline(replays, name):
    code, err, out = replays[name]
    assert code == 0, err
    return json.loads((out / "timeline.json").read_text())


def test_every_row_of_the_incident_table_has_a_replay():
    assert TABLE <= set(NAMES)
    readme = (ROOT / "scenarios" / "incidents" / "README.md").read_text()
    for name in NAMES:
        assert f"{name}.yaml" in readme, f"{name} is not described in scenarios/incidents/README.md"


@pytest.mark.parametrize("name", NAMES)
def test_incident_replays_and_its_expectations_hold(replays, name):
    code, err, out = replays[name]
    assert code == 0, err
    assert "Traceback" not in err
    t = timeline(replays, name)
    assert t["status"] == "complete"
    checked = [e for e in t["expectations"] if not e.get("skipped")]  # skipped: narrowed to another run
    assert checked, "an incident replay without checked expectations proves nothing"
    assert all(e["passed"] for e in checked)


@pytest.mark.parametrize("name", NAMES)
def test_bad_debt_is_exactly_the_recorded_deficit_and_leaves_the_lenders_deposits(replays, name):
    t = timeline(replays, name)
    steps = t["steps"]
    for bad in t["bad_debts"]:
        assert int(bad["debt"]) == int(bad["covered_by_reserves"]) + int(bad["socialised"]), bad
        assert int(bad["debt"]) > 0
    for i, step in enumerate(steps):
        if i == 0 or step["time"] != steps[i - 1]["time"]:
            continue  # interest accrued in this step: deposits move for more than one reason
        for sym, m in step["markets"].items():
            socialised = sum(int(b["socialised"]) for b in t["bad_debts"] if b["step"] == step["index"]
                             and b["asset"] == sym)
            before = int(steps[i - 1]["markets"][sym]["total_deposits"])
            dropped = before - int(m["total_deposits"])
            if socialised:
                # The deposit index moves in whole WAD units: at most one unit of it per WAD of scale.
                assert socialised <= dropped <= socialised + before // WAD + 1, (step["label"], sym, dropped)


@pytest.mark.parametrize("name", NAMES)
def test_no_sub_account_ends_a_step_unhealthy_with_collateral_left(replays, name):
    t = timeline(replays, name)
    keeper = load_scenario(ROOT / "scenarios" / "incidents" / f"{name}.yaml")[0].keeper
    if not keeper.enabled:
        pytest.skip("the keeper is off in this replay: liquidations are manual")
    for step in t["steps"]:
        for key, acct in step["accounts"].items():
            unhealthy = int(acct["health_maint"]) < 0
            capped = [x for x in t["liquidations"] if x["step"] == step["index"]]
            if unhealthy and len(capped) < (keeper.max_liquidations_per_step or float("inf")):
                assert int(acct["collateral_value"]) == 0 and int(acct["debt_value"]) == 0, (step["label"], key)


def test_crash_of_50_accounts_liquidates_every_unhealthy_account_and_books_the_bad_debt(replays):
    t = timeline(replays, "crash-40-50")
    crash = next(s for s in t["steps"] if s["label"].startswith("crash"))
    owners = {k for k in crash["accounts"] if k.startswith("acct-")}
    liquidated = {f"{x['account']}/{x['sub_id']}" for x in t["liquidations"]}
    settled = {f"{b['account']}/{b['sub_id']}" for b in t["bad_debts"]}
    assert len(owners) == 50
    for key in owners:
        state = crash["accounts"][key]
        assert int(state["health_maint"]) >= 0 or key in liquidated, key
    assert settled <= liquidated
    assert t["bad_debts"] and all(b["asset"] == "USDC" for b in t["bad_debts"])
