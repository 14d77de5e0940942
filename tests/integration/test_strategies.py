"""Trader strategies (issue 21, item 2) replayed on real chains: the stop-loss that keeps the BTC of
drain-stop-loss.yaml, top-ups within a budget, deleverage, a take-profit with a seeded chance of missing a step,
a top-up the wallet cannot pay (it fails as on chain), byte-identical per seed and across backends and protocols.

The chain is MARGINLAB_CHAIN (or CHAIN; default ganache); revm, in process, is the second backend.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"

TRADERS = """\
name: traders
seed: 5
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 1000000, WETH: 500}}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 10}, borrow: {USDC: 14000}}], wallet: {USDC: 1500}}
  - {name: carol, positions: [{deposit: {WETH: 1}, borrow: {USDC: 1400}}]}
  - {name: erin, positions: [{deposit: {WETH: 1}, borrow: {USDC: 1500}}]}
  - {name: dave, positions: [{deposit: {USDC: 3000}, borrow: {WETH: 1}}], wallet: {WETH: 0.01}}
strategies:
  - {account: alice, delay: 1, top_up: {below: 1.15, deposit: {USDC: 1000}, budget: {USDC: 1500}}}
  - {account: carol, top_up: {below: 1.2, deposit: {WETH: 0.5}, budget: {WETH: 1}}}
  - {account: erin, deleverage: {below: 1.2, repay: {USDC: 200}}}
  - {account: dave, miss: 0.5, take_profit: {price: {symbol: WETH, below: 1850}}}
steps:
  - {prices: {WETH: 1880}}
  - {advance: 3600}
  - {prices: {WETH: 1800}}
  - {prices: {WETH: 1750}}
  - {advance: 3600}
  - {advance: 3600}
  - {advance: 3600}
"""

UTILISATION = """\
name: utilisation-exit
seed: 2
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp-a, deposits: {USDC: 100000}}
  - {name: lp-b, deposits: {USDC: 200000}}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 500}, borrow: {USDC: 275000}}]}
strategies:
  - {account: lp-a, withdraw: {utilisation_above: 0.9, for_steps: 2, share: 0.5}}
steps:
  - {advance: 3600}
  - {advance: 3600}
  - {advance: 3600}
  - {action: {account: alice, repay: {USDC: 100000}}}
expect:
  - {account: lp-a, withdrawals_refused: 2, recovered: {USDC: 50004.497003}}
"""


@pytest.fixture(autouse=True)
def isolation():
    """These tests start their own nodes through marginlab: no brownie chain to snapshot."""
    yield


def _replay(file: Path, out: Path, chain: str, *extra: str) -> int:
    return main(["replay", str(file), "--out", str(out), "--chain", chain, "--quiet", "--no-charts", *extra])


def _actions(timeline: dict) -> list[tuple[int, str, bool, str, str | None]]:
    return [(s["index"], a["account"], a["ok"], a["call"], a.get("error_name")) for s in timeline["steps"]
            for a in s["actions"]]


def test_a_stop_loss_on_the_losing_short_keeps_the_cross_accounts_btc(tmp_path):
    code = _replay(ROOT / "scenarios" / "drain-stop-loss.yaml", tmp_path, CHAIN, "--compare")
    assert code == 0  # its expectations: no liquidation, 1 WBTC kept, no bad debt, in both margin modes
    cross = json.loads((tmp_path / "cross" / "timeline.json").read_text())
    assert cross["liquidations"] == []
    assert cross["steps"][-1]["accounts"]["bob/0"]["balances"]["WBTC"] == str(10**8)
    # The stop fired in the first step (MEME ×2: the short lost 3000 USD, 60 % of its 5000 USD margin), before
    # the keeper, and repaid the MEME from the wallet; the short's USDC stays, netted against the USDC loan.
    acts = _actions(cross)
    assert acts[0][:3] == (0, "bob", True) and "stop_loss[0] (loss 3000.00 USD > 750 USD): repay(all MEME" in acts[0][3]
    assert "USDC deposit stays in sub 0: netted" in acts[1][3]
    assert "MEME" not in cross["steps"][-1]["accounts"]["bob/0"]["balances"]
    compare = (tmp_path / "compare.md").read_text()
    assert "| bob | cross | 0 |" in compare
    # The margin comparison carries the book's capital efficiency (tests/engine/test_capital.py checks the figures).
    assert "## Capital efficiency" in compare and "| bob | cross | 65000 | 0.678 | 44070 | 1.4749 | 12263.33 |" in compare


def test_top_up_deleverage_take_profit_and_a_failing_top_up(tmp_path):
    file = tmp_path / "traders.yaml"
    file.write_text(TRADERS)
    assert _replay(file, tmp_path / "out", "revm") == 0
    timeline = json.loads((tmp_path / "out" / "timeline.json").read_text())
    acts = _actions(timeline)
    alice = [a for a in acts if a[1] == "alice"]
    # Below 1.15 in step 0, delay 1: tops up 1000 in step 1; below again in step 3, tops up the 500 left in 4.
    assert [(a[0], a[3].split(": ", 1)[1]) for a in alice] == [(1, "deposit(1000 USDC, sub 0)"),
                                                               (4, "deposit(500 USDC, sub 0)")]
    # carol's wallet holds no WETH: every top-up reverts in the token, as on chain; nothing is minted, and a
    # failed deposit does not count against the budget, so she tries again each step she is still below 1.2.
    carol = [a for a in acts if a[1] == "carol"]
    assert len(carol) == 7 and all(not a[2] and a[4] == "ERC20InsufficientBalance" for a in carol)
    erin = [a for a in acts if a[1] == "erin"]
    assert [a[0] for a in erin] == [0, 2] and all(a[2] for a in erin)
    # dave's take-profit sees WETH ≤ 1850 from step 2; the seeded draw misses step 2, he closes in step 3.
    dave = [(a[0], a[3]) for a in acts if a[1] == "dave"]
    assert dave[0] == (2, "take_profit[3]: WETH ≤ 1850; missed this step")
    assert [d[0] for d in dave[1:]] == [3, 3] and "repay(all WETH" in dave[1][1] and "withdraw(all USDC" in dave[2][1]
    assert timeline["steps"][-1]["accounts"]["dave/0"]["balances"] == {}


def test_strategies_replay_byte_identically_per_seed_across_backends_and_on_aave(tmp_path):
    file = tmp_path / "traders.yaml"
    file.write_text(TRADERS)
    texts = []
    for n, chain in enumerate(("revm", "revm", CHAIN)):
        assert _replay(file, tmp_path / f"run{n}", chain) == 0
        texts.append((tmp_path / f"run{n}" / "timeline.json").read_bytes())
    assert texts[0] == texts[1] == texts[2]
    # Another seed draws other misses: the timeline differs.
    other = tmp_path / "other.yaml"
    other.write_text(TRADERS.replace("seed: 5", "seed: 6"))
    assert _replay(other, tmp_path / "other", "revm") == 0
    assert (tmp_path / "other" / "timeline.json").read_bytes() != texts[0]
    # The same strategies through Aave v3's own calls.
    assert _replay(file, tmp_path / "aave", "revm", "--protocol", "aave-v3") == 0
    aave = json.loads((tmp_path / "aave" / "timeline.json").read_text())
    assert any("take_profit[3]" in a[3] and a[2] for a in _actions(aave))


def test_compare_strategies_writes_one_table_per_account(tmp_path):
    code = main(["replay", str(ROOT / "scenarios" / "drain-stop-loss.yaml"), "--out", str(tmp_path), "--chain",
                 "revm", "--quiet", "--no-charts", "--compare", "--compare-strategies", "none,stop_loss"])
    assert code == 1  # without its stop-loss the file's own expectations fail: the BTC is seized in cross margin
    table = (tmp_path / "compare-strategies.md").read_text()
    assert "## bob" in table
    assert "| none | cross | complete | 2 | 52430 | 7570 | 65000 | 0 | – |" in table
    assert "| stop_loss | cross | complete | 0 | 0 | 34998.8 | 65000 | 0 | step 0: stop_loss[0] repay ✓ |" in table
    assert "| stop_loss | isolated | complete | 0 | 0 |" in table and "repay ✓, withdraw ✓ |" in table
    data = json.loads((tmp_path / "compare-strategies.json").read_text())
    assert [(r["strategies"], r["margin"], r["liquidations"]) for r in data["bob"]] == [
        ("none", "cross", "2"), ("none", "isolated", "1"), ("stop_loss", "cross", "0"), ("stop_loss", "isolated", "0")]


def test_compare_strategies_capital_used_counts_top_ups_that_went_through(tmp_path):
    file = tmp_path / "traders.yaml"
    file.write_text(TRADERS)
    assert main(["replay", str(file), "--out", str(tmp_path / "out"), "--chain", "revm", "--quiet", "--no-charts",
                 "--compare-strategies", "none,top_up"]) == 0
    table = (tmp_path / "out" / "compare-strategies.md").read_text()
    # alice: 10 WETH at 2000 at opening, then 1000 + 500 USDC of top-ups; carol's top-ups all reverted.
    assert "| top_up | as-written | complete | 0 | 0 |" in table
    assert "| 21500 | 0 | step 1: top_up[0] deposit ✓; step 4: top_up[0] deposit ✓ |" in table
    assert "| 2000 | 0 | step 0: top_up[1] deposit ✗;" in table


def test_a_lender_run_after_bad_debt_is_bounded_by_the_pools_cash(tmp_path):
    # lender-run.yaml's expect: checks pin the refused withdrawals (InsufficientLiquidity on chain) and what each
    # lender recovered; exit 0 means they all held on this chain.
    assert _replay(ROOT / "scenarios" / "lender-run.yaml", tmp_path, CHAIN) == 0
    timeline = json.loads((tmp_path / "timeline.json").read_text())
    refused = [(a["step"], a["account"]) for a in timeline["strategy_acts"] if not a["ok"]]
    assert refused == [(1, "lp-fast"), (2, "lp-fast"), (2, "lp-slow"), (3, "lp-slow"), (4, "lp-slow")]
    assert {a.get("error_name") for a in timeline["strategy_acts"] if not a["ok"]} == {"InsufficientLiquidity"}
    # No withdrawal ever takes more than the pool held: total deposits stay at or above total borrows.
    for step in timeline["steps"]:
        usdc = step["markets"]["USDC"]
        assert int(usdc["total_deposits"]) >= int(usdc["total_borrows"])
    report = (tmp_path / "report.md").read_text()
    assert "| lp-fast | 2 | 90873.267114 USDC |" in report and "| lp-slow | 3 | 41742.630564 USDC |" in report
    # Without the run, nobody asks: the comparison's none row shows no withdrawal.
    assert main(["replay", str(ROOT / "scenarios" / "lender-run.yaml"), "--out", str(tmp_path / "cmp"), "--chain",
                 "revm", "--quiet", "--no-charts", "--compare-strategies", "none,withdraw"]) == 1  # none: expects fail
    table = (tmp_path / "cmp" / "compare-strategies.md").read_text()
    assert "## lp-fast" in table and "| none | as-written | complete | 0 | 0 | 90873.64 | 100000 | 0 | – |" in table
    assert "| withdraw | as-written | complete | 0 | 0 | 1.48 | 100000 | 90873.27 | step 1: withdraw[0] withdraw ✗, " \
           "withdraw ✓;" in table


def test_a_lender_leaves_when_utilisation_stays_high(tmp_path):
    # Utilisation 275000 / 300000 ≈ 91.7 % from the start: above 0.9 in steps 0 and 1, so lp-a (for_steps: 2)
    # asks in step 1 for half its deposit; the pool holds 25000, so the vault refuses and it takes what is there;
    # it is refused again in step 2 and gets the rest after alice repays in step 3 (the file's expect: pins it).
    file = tmp_path / "util.yaml"
    file.write_text(UTILISATION)
    assert _replay(file, tmp_path / "out", "revm") == 0
    timeline = json.loads((tmp_path / "out" / "timeline.json").read_text())
    acts = [(a["step"], a["ok"]) for a in timeline["strategy_acts"]]
    assert acts == [(1, False), (1, True), (2, False), (2, True), (3, True)]


def test_the_strategy_scenarios_on_aave_and_morpho(tmp_path):
    """drain-stop-loss and lender-run through each peer protocol's own calls: the stop-loss keeps the BTC wherever
    the book can be expressed (Morpho: isolated only, cross is refused in one line); Morpho's lenders run after its
    liquidation socialises the loss and are refused (its 'insufficient liquidity') while the pool is lent out; on
    Aave, which leaves the shortfall as debt, the run is listed as not honoured and nobody withdraws."""
    stop = ROOT / "scenarios" / "drain-stop-loss.yaml"
    run = ROOT / "scenarios" / "lender-run.yaml"
    assert _replay(stop, tmp_path / "stop-aave", CHAIN, "--protocol", "aave-v3", "--compare") == 0
    assert _replay(stop, tmp_path / "stop-morpho", CHAIN, "--protocol", "morpho-blue", "--compare") == 0
    assert "not expressible: morpho-blue: bob's sub-account 0 (cross margin)" in \
        (tmp_path / "stop-morpho" / "compare.md").read_text()
    # the capital figures follow each protocol's own rules, and say so
    assert "Rules: Aave v3's" in (tmp_path / "stop-aave" / "compare.md").read_text()
    morpho_md = (tmp_path / "stop-morpho" / "isolated" / "report.md").read_text()
    assert "Rules: Morpho Blue's" in morpho_md and "| bob | cross | 65000 | not expressible |" in morpho_md
    for folder in ("stop-aave/cross", "stop-aave/isolated", "stop-morpho/isolated"):
        t = json.loads((tmp_path / folder / "timeline.json").read_text())
        assert t["liquidations"] == [] and t["steps"][-1]["accounts"]["bob/0"]["balances"]["WBTC"] == str(10**8)
        assert [a["strategy"] for a in t["strategy_acts"] if a["ok"]][0] == "stop_loss[0]"
        assert "recovered by withdrawing" not in (tmp_path / folder / "report.md").read_text()

    assert _replay(run, tmp_path / "run-morpho", CHAIN, "--protocol", "morpho-blue") == 0
    t = json.loads((tmp_path / "run-morpho" / "timeline.json").read_text())
    refused = [a for a in t["strategy_acts"] if not a["ok"]]
    assert {a["account"] for a in refused} == {"lp-fast", "lp-slow"}
    assert all(a["verb"] == "withdraw" for a in refused)
    for step in t["steps"]:  # nobody ever takes more than the pool holds
        assert int(step["markets"]["USDC"]["total_deposits"]) >= int(step["markets"]["USDC"]["total_borrows"])
    report = (tmp_path / "run-morpho" / "report.md").read_text()
    assert "insufficient liquidity" in report and "| lp-stay |" not in report.split("## Strategies")[1]

    assert _replay(run, tmp_path / "run-aave", CHAIN, "--protocol", "aave-v3") == 0
    t = json.loads((tmp_path / "run-aave" / "timeline.json").read_text())
    assert t["strategy_acts"] == [] and all(int(b["socialised"]) == 0 for b in t["bad_debts"])
    assert "strategies[0] withdraw.after_bad_debt" in t["provenance"]["mapping"]
