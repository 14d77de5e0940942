"""The ``pool`` close route of trader strategies (issue 21, item 2) on real chains: drain-stop-loss-pool.yaml's
stop-loss repays the short's MEME from its own USDC through the MEME/USDC Uniswap v2 pool (withdraw → swap → repay
rounds, nothing minted) and keeps the BTC; the same replay byte for byte on two runs and two backends; a pool too
thin for the debt leaves the position partly closed and the report says so; a deleverage through the pool.

The chain is MARGINLAB_CHAIN (or CHAIN; default ganache); revm, in process, is the second backend.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "scenarios" / "drain-stop-loss-pool.yaml"
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"


def _replay(file: Path, out: Path, chain: str, *extra: str) -> int:
    return main(["replay", str(file), "--out", str(out), "--chain", chain, "--quiet", "--no-charts", *extra])


def _acts(timeline: dict) -> list[tuple[int, str, bool]]:
    return [(a["step"], a["verb"], a["ok"]) for a in timeline["strategy_acts"]]


def test_the_pool_route_closes_the_short_and_keeps_the_btc(tmp_path):
    assert _replay(FILE, tmp_path, CHAIN, "--compare") == 0  # its expectations: no liquidation, 1 WBTC, no bad debt
    cross = json.loads((tmp_path / "cross" / "timeline.json").read_text())
    # Cross margin: the BTC's headroom lets one round withdraw what the debt needs; the 10 MEME in the wallet and
    # what the swap bought repay it all; then the short's USDC left comes back.
    assert _acts(cross) == [(0, "withdraw", True), (0, "swap", True), (0, "repay", True), (0, "withdraw", True)]
    sold = int(cross["strategy_acts"][1]["amounts"]["USDC"])
    left = int(cross["strategy_acts"][3]["amounts"]["USDC"])
    assert sold + left == 5000 * 10**6 and 3300 * 10**6 < sold < 3400 * 10**6  # 2990 MEME at 1.1, fee, slippage
    assert cross["steps"][-1]["accounts"]["bob/0"]["balances"].keys() == {"WBTC", "DAI"}
    assert cross["steps"][-1]["accounts"]["bob/0"]["balances"]["WBTC"] == str(10**8)
    assert cross["liquidations"] == []
    calls = [a["call"] for a in cross["steps"][0]["actions"] if "stop_loss[0]" in a["call"]]
    assert "swap 3" in calls[1] and "in pool MEME/USDC" in calls[1] and "repay(all MEME, sub 0)" in calls[2]
    # Isolated margin: the short's own sub-account lets go ~226 USDC at first; each repayment frees more, and the
    # loop closes it in six rounds, then withdraws the rest.
    iso = json.loads((tmp_path / "isolated" / "timeline.json").read_text())
    acts = _acts(iso)
    assert acts == [(0, v, True) for v in ["withdraw", "swap", "repay"] * 6 + ["withdraw"]]
    amounts = [int(a["amounts"]["USDC"]) for a in iso["strategy_acts"] if a["verb"] == "withdraw"][:-1]
    assert amounts[0] < 230 * 10**6 and amounts == sorted(amounts[:5]) + amounts[5:]  # growing headroom
    assert "bob/1" not in iso["steps"][-1]["accounts"] or not iso["steps"][-1]["accounts"]["bob/1"]["balances"]
    report = (tmp_path / "cross" / "report.md").read_text()
    assert "| 0 | bob | stop_loss[0] | swap | 3" in report


def test_the_pool_route_replays_byte_identically_across_runs_and_backends(tmp_path):
    texts = []
    for n, chain in enumerate(("revm", "revm", CHAIN)):
        assert _replay(FILE, tmp_path / f"run{n}", chain) == 0
        texts.append((tmp_path / f"run{n}" / "timeline.json").read_bytes())
    assert texts[0] == texts[1] == texts[2]


def test_a_pool_too_thin_for_the_debt_leaves_the_position_partly_closed(tmp_path):
    thin = tmp_path / "thin.yaml"
    text = FILE.read_text()
    assert "depth_usd: 200000" in text
    thin.write_text(text.replace("depth_usd: 200000", "depth_usd: 2000").replace("expect:", "expect_not_here:")
                    .split("expect_not_here:")[0])
    assert _replay(thin, tmp_path / "out", "revm") == 0
    timeline = json.loads((tmp_path / "out" / "timeline.json").read_text())
    # All 5000 USDC sold into a 2000-USD pool buys ~1335 MEME: the debt is repaid in part, the USDC is gone, the
    # close stops and says so; the position's debt stays (the BTC backs it in cross margin).
    assert _acts(timeline) == [(0, "withdraw", True), (0, "swap", True), (0, "repay", True)]
    debt = -int(timeline["steps"][0]["accounts"]["bob/0"]["balances"]["MEME"])
    assert 1600 * 10**18 < debt < 1700 * 10**18
    report = (tmp_path / "out" / "report.md").read_text()
    assert "pool route: no USDC to withdraw (sub 0 holds none)" in report
    assert "pool route: position partly closed, 1647." in report and "MEME of debt left" in report
    assert "collateral stays in sub 0: the debt is not repaid" in report


def test_a_deleverage_through_the_pool(tmp_path):
    """A deleverage repays its amount each step below its threshold, raising it from the position's WETH: in one
    round where the sub-account has room (fred), in eight small ones and short of it where it has almost none
    (erin, at initial health ~0: each round's repayment frees only 1.0/0.8 of what it withdrew)."""
    file = tmp_path / "delev.yaml"
    file.write_text("""\
name: delev-pool
seed: 3
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 1000000}}
accounts:
  - {name: erin, positions: [{deposit: {WETH: 1}, borrow: {USDC: 1500}}]}
  - {name: fred, positions: [{deposit: {WETH: 1}, borrow: {USDC: 1200}}]}
pools:
  - {pair: WETH/USDC, depth_usd: 1000000}
strategies:
  - {account: erin, deleverage: {below: 1.2, repay: {USDC: 200}, route: pool}}
  - {account: fred, deleverage: {below: 1.3, repay: {USDC: 200}, route: pool}}
steps:
  - prices: {WETH: 1880}
    actions: [{account: erin, donate: {USDC: 1500}}, {account: fred, donate: {USDC: 1200}}]  # spent
  - {prices: {WETH: 1800}}
""")
    assert _replay(file, tmp_path / "out", "revm") == 0
    timeline = json.loads((tmp_path / "out" / "timeline.json").read_text())
    assert all(a["ok"] for a in timeline["strategy_acts"])
    fred = [(a["step"], a["verb"]) for a in timeline["strategy_acts"] if a["account"] == "fred"]
    assert fred == [(1, "withdraw"), (1, "swap"), (1, "repay")]
    repay = next(a for a in timeline["strategy_acts"] if a["account"] == "fred" and a["verb"] == "repay")
    assert repay["amounts"] == {"USDC": str(200 * 10**6)}
    assert timeline["steps"][-1]["accounts"]["fred/0"]["balances"]["USDC"].startswith("-100")
    erin = [a for a in timeline["strategy_acts"] if a["account"] == "erin" and a["step"] == 0]
    assert [a["verb"] for a in erin] == ["withdraw", "swap", "repay"] * 8
    sizes = [int(a["amounts"]["USDC"]) for a in erin if a["verb"] == "repay"]
    assert sizes == sorted(sizes) and sum(sizes) < 200 * 10**6
    assert "pool route: 8 rounds used" in (tmp_path / "out" / "report.md").read_text()


def test_the_pool_route_on_aave_and_morpho(tmp_path):
    """The same rounds through each peer protocol's own withdraw and repay (Morpho: isolated only, cross is not
    expressible): the short is closed, the BTC stays, every call went through."""
    for protocol in ("aave-v3", "morpho-blue"):
        out = tmp_path / protocol
        assert _replay(FILE, out, "revm", "--protocol", protocol, "--compare") == 0
        folders = ("cross", "isolated") if protocol == "aave-v3" else ("isolated",)
        for folder in folders:
            t = json.loads((out / folder / "timeline.json").read_text())
            verbs = [a["verb"] for a in t["strategy_acts"]]
            assert t["liquidations"] == [] and all(a["ok"] for a in t["strategy_acts"])
            assert verbs[:3] == ["withdraw", "swap", "repay"] and verbs[-1] == "withdraw"
            assert t["steps"][-1]["accounts"]["bob/0"]["balances"]["WBTC"] == str(10**8)
            bob = {k: v for k, v in t["steps"][-1]["accounts"].items() if k.startswith("bob/")}
            assert all(not v["balances"].get("MEME", "0").startswith("-") for v in bob.values())  # no MEME debt


def test_compare_strategies_shows_the_pool_rounds(tmp_path):
    assert main(["replay", str(FILE), "--out", str(tmp_path), "--chain", "revm", "--quiet", "--no-charts",
                 "--compare", "--compare-strategies", "none,stop_loss"]) == 1  # 'none' fails the file's expects
    table = (tmp_path / "compare-strategies.md").read_text()
    assert "| none | cross | complete | 2 | 57780 |" in table  # without the stop the keeper takes the BTC
    assert "| stop_loss | cross | complete | 0 | 0 |" in table
    assert "step 0: stop_loss[0] withdraw ✓, swap ✓, repay ✓, withdraw ✓ |" in table
    assert "| stop_loss | isolated | complete | 0 | 0 |" in table
    assert "withdraw ✓, swap ✓, repay ✓, " * 6 + "withdraw ✓ |" in table
