"""A protocol from a user's own file (``--protocol FILE.py:CLASS``): examples/mini-vault, through the CLI.

The example replays, its liquidation equals an integer model of MiniVault.sol's math written here from the
contract, a fresh process loads the adapter and writes the same bytes, it compares against marginlab's vault, and
what it cannot express (cross margin across assets) or cannot load is one line each, exit 2; a gap crash leaves
bad debt as debt, to the wei. Starts its own nodes on MARGINLAB_CHAIN (or CHAIN), default ganache.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "examples/mini-vault/scenario.yaml"
ADAPTER = "examples/mini-vault/adapter.py:MiniVault"
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"

WAD = 10**18
SECONDS_PER_YEAR = 365 * 24 * 3600


@pytest.fixture(autouse=True)
def isolation():
    """Overrides the root conftest's brownie snapshot: these tests start their own nodes through marginlab."""
    yield


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    """The documented commands are relative to the repository."""
    monkeypatch.chdir(ROOT)


def replay(*args: str) -> int:
    return main(["replay", *args, "--chain", CHAIN, "--quiet", "--no-charts"])


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example replayed twice: in this process, and as the documented command in a fresh one."""
    out = tmp_path_factory.mktemp("mini-vault")
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        code = replay(SCENARIO, "--protocol", ADAPTER, "--out", str(out / "here"))
    finally:
        os.chdir(cwd)
    proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", SCENARIO, "--protocol", ADAPTER, "--chain",
                           CHAIN, "--quiet", "--no-charts", "--out", str(out / "fresh")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    return code, proc, out


# --------------------------------------------------------------------------------------------------- the model

def mul_div_up(x: int, y: int, d: int) -> int:
    """Math.mulDiv(x, y, d, Rounding.Ceil); the contract's rounded-down divisions are Python's //."""
    return -(-(x * y) // d)


def price_wad(usd: int, feed_decimals: int = 8) -> int:
    """MiniVault._price: the feed's answer × 10^(18 − feed decimals)."""
    return usd * 10**feed_decimals * (WAD // 10**feed_decimals)


def borrow_rate(supply: int, borrows: int, base: int, slope1: int, slope2: int, kink: int) -> int:
    """MiniVault._borrowRate (per year, WAD)."""
    u = borrows * WAD // supply if supply else 0
    if u <= kink:
        return base + slope1 * u // kink
    return base + slope1 + slope2 * (u - kink) // (WAD - kink)


def test_the_example_replays_with_every_expectation_passing(example):
    code, _, out = example
    assert code == 0
    timeline = json.loads((out / "here" / "timeline.json").read_text())
    assert timeline["status"] == "complete"
    assert len(timeline["steps"]) == 3
    checked = [e for e in timeline["expectations"] if not e.get("skipped")]
    assert len(checked) == 9 and all(e["passed"] for e in checked), timeline["expectations"]
    # The one qualified `protocol: marginlab` is shown, not checked.
    assert [e["description"] for e in timeline["expectations"] if e.get("skipped")] == \
        ["alice position 0: collateral_seized"]
    assert timeline["provenance"]["protocol"] == "mini-vault"
    assert timeline["provenance"]["compiler"].startswith("solc 0.8.24+")


def test_the_liquidation_equals_an_integer_model_of_the_contract(example):
    _, _, out = example
    timeline = json.loads((out / "here" / "timeline.json").read_text())
    usdc, weth = 10**6, 10**18
    # Set-up, all at one timestamp: lp supplies 1,000,000 USDC; 15,000 + 20,000 + 16,000 USDC are borrowed, shares 1:1.
    supply, borrows, alice_shares = 1_000_000 * usdc, 51_000 * usdc, 15_000 * usdc
    # Step 0 advances a day; nothing touches USDC until the keeper's liquidation in step 1 accrues it.
    rate = borrow_rate(supply, borrows, 2 * WAD // 100, WAD // 10, WAD, 8 * WAD // 10)
    interest = mul_div_up(borrows, rate * 86_400, WAD * SECONDS_PER_YEAR)
    borrows += interest
    debt = mul_div_up(alice_shares, borrows, 51_000 * usdc)
    # Step 1: WETH 2000 → 1700. alice/0 holds 10 WETH; liquidation threshold 0.85, bonus 0.05.
    weth_price, usdc_price = price_wad(1700), price_wad(1)
    coll_value = 10 * weth * weth_price // weth
    debt_value = mul_div_up(debt, usdc_price, usdc)
    health_before = (coll_value * 85 // 100) * WAD // debt_value
    assert health_before < WAD
    seized = debt * usdc_price // usdc * (WAD + 5 * WAD // 100) // WAD * weth // weth_price
    assert seized <= 10 * weth  # the whole debt is repaid: no cap by the collateral

    (liq,) = timeline["liquidations"]
    assert (liq["step"], liq["liquidator"], liq["account"], liq["sub_id"], liq["debt"], liq["collateral"]) == \
        (1, "keeper", "alice", 0, "USDC", "WETH")
    assert (int(liq["repaid"]), int(liq["seized"]), int(liq["to_liquidator"]), int(liq["protocol_cut"])) == \
        (debt, seized, seized, 0)
    assert (int(liq["health_factor_before"]), liq["health_factor_after"]) == (health_before, None)
    assert (debt, seized) == (15_001_083_905, 9_265_375_353_088_235_294)  # the figures the guide quotes
    final = timeline["steps"][-1]["accounts"]
    assert final["alice/0"]["balances"] == {"WETH": str(10 * weth - seized)}
    # Lenders earn all the interest (no reserve factor): lp's one share per unit now redeems supply + interest.
    assert final["lp/0"]["balances"] == {"USDC": str(supply + interest)}


def test_the_same_command_in_a_fresh_process_writes_the_same_bytes(example):
    _, proc, out = example
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    here = (out / "here" / "timeline.json").read_bytes()
    assert here == (out / "fresh" / "timeline.json").read_bytes()
    assert str(out).encode() not in here


def test_compare_protocols_puts_the_mini_vault_beside_marginlab(tmp_path, capsys):
    code = replay(SCENARIO, "--compare-protocols", f"marginlab,{ADAPTER}", "--out", str(tmp_path))
    assert code == 0, capsys.readouterr().err
    table = (tmp_path / "compare-protocols.md").read_text()
    # Same price path, same liquidation: marginlab's close factor repays half of it, the mini vault all of it.
    assert "| marginlab | as-written | complete | 1 | 7875.57 | 0 |" in table
    assert "| mini-vault | as-written | complete | 1 | 15751.14 | 0 |" in table


EVERY_VERB = """\
name: mini-vault-verbs
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05, reserve_factor: 0}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02, reserve_factor: 0}
liquidity:
  - {name: lp, deposits: {USDC: 100000}}
accounts:
  - name: alice
    margin: isolated
    positions:
      - {deposit: {WETH: 1}, borrow: {USDC: 1000}}
      - {deposit: {WETH: 1}}
  - {name: bob, margin: isolated, positions: [{deposit: {WETH: 1}}]}
steps:
  - {action: {account: alice, position: 1, deposit: {WETH: 0.5}}}
  - {action: {account: alice, position: 1, withdraw: {WETH: 0.2}}}
  - {action: {account: alice, position: 0, repay: {USDC: 100}}}
  - {action: {account: alice, position: 0, borrow: {USDC: 100}}}
  - {action: {account: bob, owner: alice, position: 0, repay: {USDC: 50}}}
  - {action: {account: bob, owner: alice, position: 1, deposit: {WETH: 0.1}}}
  - {action: {account: lp, withdraw: {USDC: 1000}}}
  - {action: {account: bob, donate: {USDC: 5}}}
  - {prices: {WETH: 1000}}
  - {action: {account: bob, liquidate: {account: alice, position: 0, debt: USDC, collateral: WETH, amount: 200}}}
  - {action: {account: alice, position: 1, withdraw: {WETH: all}}}
keeper: {enabled: false}
expect:
  - {account: alice, position: 0, balances: {WETH: 0.79, USDC: -750}}
  - {account: alice, position: 0, liquidations: 1}
  - {account: alice, position: 1, balances: {WETH: 0}}
  - {account: lp, balances: {USDC: 99000}}
  - {account: bob, balances: {WETH: 1}}
"""


def test_every_verb_the_mini_vault_expresses_reaches_it_with_exact_balances(tmp_path, capsys):
    (tmp_path / "verbs.yaml").write_text(EVERY_VERB)
    code = replay(str(tmp_path / "verbs.yaml"), "--protocol", ADAPTER, "--out", str(tmp_path / "out"))
    assert code == 0, capsys.readouterr().err
    timeline = json.loads((tmp_path / "out" / "timeline.json").read_text())
    assert [a["call"] for s in timeline["steps"] for a in s["actions"]] == [
        "deposit(0.5 WETH, sub 1)", "withdraw(0.2 WETH, sub 1)", "repay(100 USDC, sub 0)", "borrow(100 USDC, sub 0)",
        "repay(50 USDC, alice/0)", "deposit(0.1 WETH, alice/1)", "withdraw(1000 USDC, sub 0)",
        "donate(5 USDC to the vault)", "liquidate(alice/0, repay 200 USDC for WETH)", "withdraw(all WETH, sub 1)"]
    assert len(timeline["expectations"]) == 6 and all(e["passed"] for e in timeline["expectations"])
    # 200 USDC repaid at $1 for WETH at $1000 with a 5 % bonus: 0.21 WETH, to bob's wallet.
    (liq,) = timeline["liquidations"]
    assert (liq["liquidator"], liq["repaid"], liq["seized"]) == ("bob", str(200 * 10**6), str(21 * 10**16))


EDGES = """\
name: mini-vault-edges
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05, reserve_factor: 0, heartbeat: 3600}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02, reserve_factor: 0}
liquidity:
  - {name: lp, deposits: {USDC: 100000}}
accounts:
  - {name: alice, margin: isolated, positions: [{deposit: {WETH: 10}, borrow: {USDC: 15000}}]}
steps:
  - {action: {account: alice, borrow: {USDC: 2000}, expect_revert: BorrowLimitExceeded}}
  - {oracle: {WETH: stale}, action: {account: alice, borrow: {USDC: 1}, expect_revert: StalePrice}}
  - {oracle: {WETH: ok}}
  - {label: "WETH halves", prices: {WETH: 1000}}
expect:
  - {account: alice, reverts: 2}
  - {bad_debt: "> 5000"}
"""


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    """A borrow past the limit, a stale feed, then a gap crash, in one replay."""
    folder = tmp_path_factory.mktemp("edges")
    (folder / "edges.yaml").write_text(EDGES)
    code = replay(str(folder / "edges.yaml"), "--protocol", ADAPTER, "--out", str(folder / "out"))
    return code, json.loads((folder / "out" / "timeline.json").read_text())


def test_the_vaults_own_errors_are_decoded_and_expected_reverts_match_them(edges):
    code, timeline = edges
    assert code == 0
    reverts = [a["revert"] for s in timeline["steps"] for a in s["actions"]]
    assert reverts == [f"BorrowLimitExceeded({17_000 * WAD}, {16_000 * WAD})", reverts[1]]
    assert reverts[1].startswith("StalePrice(WETH, ")
    # While the feed is stale the vault cannot value alice's position: the step says so and keeps the last state.
    assert timeline["steps"][1]["note"].startswith("accounts not valued: MiniVault.snapshot reverted with StalePrice(WETH")
    assert timeline["steps"][2]["note"] is None


def test_a_gap_crash_takes_all_the_collateral_and_leaves_the_rest_as_debt(edges):
    code, timeline = edges
    assert code == 0
    usdc, weth = 10**6, 10**18
    debt, collateral = 15_000 * usdc, 10 * weth  # one borrower, no time passes: one share per unit of debt
    weth_price, usdc_price, bonus = price_wad(1000), price_wad(1), WAD + 5 * WAD // 100
    assert debt * usdc_price // usdc * bonus // WAD * weth // weth_price > collateral  # capped by the collateral
    covered = mul_div_up(mul_div_up(collateral, weth_price, weth), WAD, bonus)
    repaid = mul_div_up(covered, usdc, usdc_price)
    (liq,) = timeline["liquidations"]
    assert liq["step"] == 3
    assert (int(liq["repaid"]), int(liq["seized"])) == (repaid, collateral) == (9_523_809_524, collateral)
    # Left as debt: reported once, covered by nobody, written off by nobody, and still owed afterwards.
    (bad,) = timeline["bad_debts"]
    assert (bad["step"], bad["account"], bad["sub_id"], bad["asset"], int(bad["debt"])) == \
        (3, "alice", 0, "USDC", debt - repaid)
    assert (bad["covered_by_reserves"], bad["socialised"]) == ("0", "0")
    assert timeline["steps"][-1]["accounts"]["alice/0"]["balances"] == {"USDC": str(repaid - debt)}
    assert timeline["steps"][-1]["actions"] == []  # the keeper has nothing to settle: no attempt recorded


CROSS_BOOK = """\
name: cross-book
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: WBTC, decimals: 8, price: 40000, asset_weight: {init: 0.75, maint: 0.8}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.06}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 100000, WETH: 100}}
accounts:
  - name: alice
    margin: cross
    positions:
      - {deposit: {WETH: 10}, borrow: {USDC: 5000}}
      - {deposit: {WBTC: 1}, borrow: {USDC: 5000}}
  - {name: bob, margin: cross, positions: [{deposit: {WBTC: 1}, borrow: {WETH: 2, USDC: 1000}}]}
  - {name: carol, margin: cross, positions: [{deposit: {WETH: 1}, borrow: {USDC: 100}}]}
steps:
  - {prices: {WETH: "-10%"}}
"""


def test_a_cross_margin_book_across_assets_is_refused_one_line_per_sub_account(tmp_path, capsys):
    (tmp_path / "cross.yaml").write_text(CROSS_BOOK)
    code = replay(str(tmp_path / "cross.yaml"), "--protocol", ADAPTER, "--out", str(tmp_path / "out"))
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 3, err  # alice/0, bob/0 (carol's one pair is a position), and the count
    assert lines[0].startswith(f"{tmp_path / 'cross.yaml'}:9: accounts[0]: mini-vault cannot express this: alice/0 "
                               f"would hold WBTC, WETH as collateral and USDC as debt")
    assert lines[1].startswith(f"{tmp_path / 'cross.yaml'}:14: accounts[1]: mini-vault cannot express this: bob/0 "
                               f"would hold WBTC as collateral and USDC, WETH as debt")
    assert lines[2] == "2 problem(s) in the scenario; nothing was run."
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("spec, says", [
    ("examples/mini-vault/missing.py:MiniVault", "no such file 'examples/mini-vault/missing.py'"),
    ("examples/mini-vault/adapter.py:MiniVaul", "has no class 'MiniVaul' that subclasses"),
    ("{broken}:MiniVault", "importing {broken} failed: ModuleNotFoundError: No module named 'not_a_module'"),
], ids=["missing-file", "missing-class", "import-error"])
def test_a_broken_adapter_is_one_line_and_exit_2(tmp_path, capsys, spec, says):
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module\n")
    spec, says = spec.format(broken=broken), says.format(broken=broken)
    code = replay(SCENARIO, "--protocol", spec, "--out", str(tmp_path / "out"))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: --protocol ") and says in err, err
    assert not (tmp_path / "out").exists()
