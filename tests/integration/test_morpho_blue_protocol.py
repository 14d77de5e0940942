"""Morpho Blue behind the protocol boundary: scenarios replayed on it, checked against the independent integer model
of Morpho in tests/models/morpho_blue.py (never against what the adapter itself computed) with Morpho's state read
straight from the chain — health factors at every step, liquidatable exactly when the model says so, a liquidation
that realises bad debt to the wei — and the mapping rules' refusals before any chain work.

The node is marginlab's own, Ganache or Anvil as MARGINLAB_CHAIN says (default ganache).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.cli import main
from marginlab.model.vault import RateModel, utilization
from marginlab.numbers import wad
from marginlab.protocols.morpho_blue.protocol import MorphoBlue
from marginlab.protocols.registry import factory
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import load_scenario, parse_scenario_text
from marginlab.sim.engine import Replay

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from models import morpho_blue as mb  # noqa: E402

CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
UINT256_MAX = 2**256 - 1

# Isolated positions in three pair markets, the keeper off: prices walk each position across its liquidation line
# (and back), a day of interest accrues in between. Checked after every step.
WALK = """\
name: morpho-walk
seed: 3
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.86}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05, reserve_factor: 0.1}
  - {symbol: WBTC, decimals: 8, price: 60000, feed_decimals: 18, asset_weight: {init: 0.75, maint: 0.80}, liab_weight: {init: 1.10, maint: 1.05}, liquidation_bonus: 0.07}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02, reserve_factor: 0.2}
liquidity:
  - {name: lp, deposits: {USDC: 2000000, WETH: 400, WBTC: 20}}
accounts:
  - name: alice
    margin: isolated
    positions:
      - {deposit: {WETH: 10}, borrow: {USDC: 16000}}
      - {deposit: {WBTC: 0.5}, borrow: {USDC: 20000}}
  - name: bob
    margin: isolated
    positions:
      - {deposit: {USDC: 30000}, borrow: {WETH: 12}}
      - {deposit: {USDC: 5000}, borrow: {WBTC: 0.07}}
steps:
  - {prices: {WETH: 1900}}
  - {advance: 86400, prices: {WETH: 1870}}
  - {prices: {WETH: 1850, WBTC: 50000}}
  - {advance: 86400, prices: {WETH: 2300, WBTC: 54000}}
  - {prices: {WETH: 2360, WBTC: 60000}}
  - {advance: 604800, prices: {WETH: 2000, WBTC: 65000}}
  - {action: {account: alice, position: 0, repay: {USDC: 5000}}}
  - {action: {account: bob, position: 0, deposit: {USDC: 1000}}}
  - {action: {account: alice, position: 1, withdraw: {WBTC: 0.1}}}
keeper: {enabled: false}
"""


@pytest.fixture(autouse=True)
def isolation():
    """These tests start their own nodes through marginlab; brownie's chain is not needed."""
    yield


def _open(text: str, mode: str = "as-written") -> Replay:
    scenario, doc = parse_scenario_text(text, "morpho.yaml")
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(backend=CHAIN), RevertDecoder(artifacts.all_abis() + MorphoBlue.extra_abis()))
    return Replay(build_plan(scenario, doc, mode), chain, artifacts, protocol=factory(MorphoBlue))


def _model_health(replay: Replay, key: str) -> tuple[int, bool, mb.Position, mb.Market, int]:
    """Morpho's state for sub-account ``key`` read from the chain's getters, accrued to now and valued by the
    independent model: (health factor, healthy?, position, accrued market, price)."""
    proto = replay.protocol
    assert isinstance(proto, MorphoBlue)
    chain = replay.chain
    pair = proto.layout.positions[key]
    params = mb.MarketParams(*proto.params[proto.market_index(pair)])
    owner, sub = key.split("/")
    position = mb.Position.from_tuple(chain.call(proto.morpho, "position", params.id(),
                                                 proto.sub_address(owner, int(sub))))
    market = mb.Market.from_tuple(chain.call(proto.morpho, "market", params.id()))
    irm = replay.world.markets[pair.loan].irm
    rates = RateModel(wad(irm.base), wad(irm.slope1), wad(irm.slope2), wad(irm.kink))
    rate = rates.per_second(utilization(market.total_borrow_assets, market.total_supply_assets))
    market = mb.accrue_interest(market, rate, chain.latest_timestamp()).market
    oracle = chain.contract(params.oracle, proto.peers.abi("ChainlinkPairOracle"))
    price = int(chain.call(oracle, "price"))
    return (mb.health_factor(position, market, price, params.lltv), mb.is_healthy(position, market, price, params.lltv),
            position, market, price)


def test_health_factors_equal_the_model_and_liquidatable_exactly_when_the_model_says_so():
    replay = _open(WALK)
    try:
        replay.deploy()
        replay.setup()
        borrowers = sorted(replay.protocol.layout.positions)  # type: ignore[attr-defined]
        assert borrowers == ["alice/0", "alice/1", "bob/0", "bob/1"]
        seen_unhealthy = seen_healthy = 0
        for step in replay.plan.steps:
            record = replay.step(step)
            for key in borrowers:
                hf, healthy, *_ = _model_health(replay, key)
                state = record.accounts[key]
                assert state.health_factor == (None if hf == UINT256_MAX else hf), (step.index, key)
                assert (state.health_maint < 0) == (not healthy), (step.index, key)
                view = replay.liquidator.views({key: state})[0]
                assert view.liquidatable == (not healthy), (step.index, key)  # what the keeper acts on
                if not healthy:
                    assert replay.protocol.offers(view, replay.oracle.prices), (step.index, key)
                seen_unhealthy += not healthy
                seen_healthy += healthy
        assert seen_unhealthy >= 3 and seen_healthy >= 10  # the walk crosses the line both ways
    finally:
        replay.chain.close()


DRAIN = ROOT / "scenarios" / "drain.yaml"


def test_a_liquidation_that_realises_bad_debt_matches_the_model_to_the_wei():
    """drain, isolated: MEME ×2 makes bob's MEME short unhealthy; the keeper seizes all its USDC, which repays less
    than the debt, so Morpho realises the rest as bad debt, taken from MEME's suppliers."""
    scenario, doc = load_scenario(DRAIN)
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(backend=CHAIN), RevertDecoder(artifacts.all_abis() + MorphoBlue.extra_abis()))
    replay = Replay(build_plan(scenario, doc, "isolated"), chain, artifacts, protocol=factory(MorphoBlue))
    try:
        replay.deploy()
        replay.setup()
        proto = replay.protocol
        assert isinstance(proto, MorphoBlue)
        first = replay.plan.steps[0]
        # The state the keeper's liquidation meets: the step's new MEME price, interest accrued to the step's time.
        replay.oracle.apply(first)
        _, healthy, position, market, price = _model_health(replay, "bob/1")
        assert not healthy
        pair = proto.layout.positions["bob/1"]
        expected = mb.liquidate(market, position, price, pair.lltv, seized_assets=position.collateral)
        assert expected.bad_debt_assets > 0
        # Replay the step itself (its price transaction is already out: send nothing twice).
        from dataclasses import replace
        replay.step(replace(first, prices={}, oracle={}))
        (liq,) = replay.timeline.liquidations
        (bad,) = replay.timeline.bad_debts
        assert (liq.account, liq.sub_id, liq.debt, liq.collateral) == ("bob", 1, "MEME", "USDC")
        assert (liq.seized, liq.repaid) == (expected.seized_assets, expected.repaid_assets)
        assert (bad.asset, bad.debt, bad.socialised, bad.covered_by_reserves) == (
            "MEME", expected.bad_debt_assets, expected.bad_debt_assets, 0)
        after = mb.Market.from_tuple(chain.call(proto.morpho, "market", mb.MarketParams(
            *proto.params[proto.market_index(pair)]).id()))
        assert after.total_supply_assets == expected.market.total_supply_assets  # suppliers absorbed the loss
        assert after.total_borrow_shares == expected.market.total_borrow_shares == 0
        _, healthy_now, position_now, *_ = _model_health(replay, "bob/1")
        assert position_now == mb.Position(0, 0, 0) and healthy_now
    finally:
        chain.close()


def test_drain_on_morpho_with_compare_runs_isolated_and_says_why_cross_cannot(tmp_path):
    out = tmp_path / "drain"
    proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", str(DRAIN), "--protocol", "morpho-blue",
                           "--compare", "--chain", CHAIN, "--out", str(out), "--quiet", "--no-charts"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "cross").exists()
    isolated = json.loads((out / "isolated" / "timeline.json").read_text())
    checked = [e for e in isolated["expectations"] if not e.get("skipped")]
    assert isolated["status"] == "complete" and checked and all(e["passed"] for e in checked)
    assert isolated["steps"][-1]["pairs"]  # pair markets are recorded
    table = (out / "compare.md").read_text()
    assert "| cross | not expressible: morpho-blue: bob's sub-account 0 (cross margin) holds" in table


def test_the_hedged_book_as_written_is_refused_with_one_line_per_borrower_sub_account(tmp_path, capsys, monkeypatch):
    import marginlab.chain.client as client

    def no_chain(*args, **kwargs):  # pragma: no cover - reaching it is the failure
        raise AssertionError("a chain was started for a scenario Morpho cannot express")

    monkeypatch.setattr(client.Chain, "open", no_chain)
    path = ROOT / "scenarios" / "hedged-book.yaml"
    assert main(["replay", str(path), "--protocol", "morpho-blue", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "1 problem(s) in the scenario; nothing was run."
    (line,) = err[:-1]
    assert line.startswith(f"{path}:19: accounts[0]: morpho-blue: alice's sub-account 0 (cross margin) holds ")
    assert "Traceback" not in "".join(err)


def test_strict_refuses_what_morpho_does_not_honour():
    scenario, doc = load_scenario(DRAIN)
    mapping = MorphoBlue.map_plan(build_plan(scenario, doc, "isolated"), strict=True)
    reasons = [i.reason for i in mapping.refusals]
    assert any("liquidation_bonus is not honoured" in r for r in reasons)
    assert all(r.startswith("morpho-blue: ") and "(--strict)" in r for r in reasons)
    assert not MorphoBlue.map_plan(build_plan(scenario, doc, "isolated")).refusals
