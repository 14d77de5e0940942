"""Keepers with a balance sheet (``keepers:``, issue 17 item 5) through the protocol boundary on Aave v3 and
Morpho Blue, where each keeper is its own account the protocol pays directly: they liquidate from their own
inventory (minted once, never topped up), sell every seizure into the pool, skip what does not pay with the
reason, and replay byte-identically.

The 50-account example files run on revm (seconds in process; MARGINLAB_FRICTION_CHAIN overrides it): Aave v3
on scenarios/cascade-50-thin-twap.yaml, Morpho Blue on scenarios/cascade-50-deep.yaml (Morpho liquidates whole
positions, and in the thin pools of cascade-50-thin-twap every such sale costs more than the bonus pays: all
skipped, which the last test checks). The small file runs on the node under test (MARGINLAB_CHAIN / CHAIN) and on
revm, byte for byte."""
from __future__ import annotations

import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.cli import main
from marginlab.protocols.aave_v3.protocol import AaveV3
from marginlab.protocols.morpho_blue.protocol import MorphoBlue
from marginlab.runner import factory
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text
from marginlab.sim.engine import Replay
from marginlab.timeline import timeline_from_json

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
BIG_CHAIN = os.environ.get("MARGINLAB_FRICTION_CHAIN") or "revm"
PROTOCOLS = {"aave-v3": AaveV3, "morpho-blue": MorphoBlue}
EXAMPLES = {"aave-v3": "cascade-50-thin-twap", "morpho-blue": "cascade-50-deep"}


@pytest.fixture(autouse=True)
def isolation():
    yield


def _replay(text: str, protocol: str, backend: str) -> tuple[Replay, dict[str, tuple[int, int]]]:
    """The replay, and each keeper's (USDC, WETH) balance on chain at its end."""
    scenario, doc = parse_scenario_text(text, f"{protocol}.yaml")
    artifacts = Artifacts()
    cls = PROTOCOLS[protocol]
    chain = Chain.open(ChainOptions(backend=backend), RevertDecoder(artifacts.all_abis() + cls.extra_abis()))
    replay = Replay(build_plan(scenario, doc, "as-written"), chain, artifacts, protocol=factory(cls))
    try:
        replay.run()
        assert replay.keepers is not None
        held = {b.spec.name: (replay.world.balance("USDC", b.address), replay.world.balance("WETH", b.address))
                for b in replay.keepers.books}
    finally:
        chain.close()
    return replay, held


def _check_inventories(text: str, replay: Replay, held: dict[str, tuple[int, int]]) -> dict[str, int]:
    """What each keeper holds at the end is its inventory, less what it repaid, plus what its sales brought, and no
    collateral is left in its account: nothing was minted to it after set-up. Returns what each repaid."""
    scenario, _ = parse_scenario_text(text)
    inventory = {k.name: int(k.inventory["USDC"] * 10**6) for k in scenario.keepers}
    repaid: dict[str, int] = defaultdict(int)
    for x in replay.timeline.liquidations:
        repaid[x.liquidator] += x.repaid
    assert set(repaid) <= set(inventory)
    results = {r.name: r for r in replay.timeline.keepers or []}
    for name, (usdc, weth) in held.items():
        assert weth == 0  # every seizure was sold
        proceeds = usdc - (inventory[name] - repaid[name])
        assert proceeds >= 0
        assert abs(Decimal(proceeds).scaleb(-6) - Decimal(results[name].proceeds_usd)) < Decimal("0.01")
        assert (proceeds > 0) == (results[name].liquidations > 0)
    return repaid


@pytest.mark.parametrize("protocol", ["aave-v3", "morpho-blue"])
def test_keepers_liquidate_from_their_own_inventory_and_sell_every_seizure(protocol):
    name = EXAMPLES[protocol]
    text = (ROOT / "scenarios" / f"{name}.yaml").read_text()
    replay, held = _replay(text, protocol, BIG_CHAIN)
    timeline = replay.timeline
    assert timeline.status == "complete"
    repaid = _check_inventories(text, replay, held)
    assert sum(repaid.values()) > 0
    skipped = timeline.skipped_liquidations or []
    if protocol == "aave-v3":  # two keepers, one late; cascade-50-deep has one keeper that takes all
        assert any(s.reason.startswith("unprofitable: bonus ") for s in skipped)
        assert any(s.reason.startswith("reaction delay: ") for s in skipped)
        assert {x.liquidator for x in timeline.liquidations} == {"fast", "slow"}
    else:
        assert not skipped and len(timeline.liquidations) >= 30
    assert Decimal((timeline.pool_impact or {})["WETH/USDC"]) < 0  # the keepers' sales moved the pool


SMALL = """\
name: keepers-peers
seed: 11
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05, protocol_share: 0.1}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 1000000}}
accounts:
  - name: bot
    count: 6
    borrow_scale: {first: 0.9, last: 1.0}
    positions:
      - {deposit: {WETH: 5}, borrow: {USDC: 8000}}
pools:
  - {pair: WETH/USDC, depth_usd: 2000000, arbitrage: 1}
keepers:
  - {name: lo, inventory: {USDC: 100000}, gas_price_gwei: 5, delay: 0, min_profit: 0}
  - {name: hi, inventory: {USDC: 100000}, gas_price_gwei: 50, delay: 0, min_profit: 0}
  - {name: late, inventory: {USDC: 100000}, gas_price_gwei: 100, delay: 2, min_profit: 0}
  - {name: greedy, inventory: {USDC: 100000}, gas_price_gwei: 1, delay: 0, min_profit: 100000}
steps:
  - {advance: 60, prices: {WETH: "-12%"}}
  - {advance: 60, prices: {WETH: "-6%"}}
  - {advance: 60}
"""


@pytest.mark.parametrize("protocol", ["aave-v3", "morpho-blue"])
def test_inventories_are_real_on_chain(protocol):
    """On the node under test: bids, reaction delays and minimum profits decide who liquidates, and the balances
    on chain add up (:func:`_check_inventories`)."""
    replay, held = _replay(SMALL, protocol, CHAIN)
    repaid = _check_inventories(SMALL, replay, held)
    assert repaid["hi"] > 0 and repaid["greedy"] == 0
    results = {r.name: r for r in replay.timeline.keepers or []}
    assert results["hi"].liquidations > 0
    greedy = [s for s in replay.timeline.skipped_liquidations or [] if s.keeper == "greedy"]
    assert greedy and all(s.reason.startswith("unprofitable: ") and s.reason.endswith("min_profit 100000")
                          for s in greedy)
    late = [s for s in replay.timeline.skipped_liquidations or [] if s.keeper == "late"]
    assert late and all(s.reason.startswith("reaction delay") for s in late)


@pytest.mark.parametrize("protocol", ["aave-v3", "morpho-blue"])
def test_a_peer_keepers_timeline_is_byte_identical_across_runs_and_chains(protocol, tmp_path, capsys):
    scenario = tmp_path / "keepers.yaml"
    scenario.write_text(SMALL)
    texts = []
    for i, backend in enumerate([CHAIN, "revm", "revm"]):
        out = tmp_path / f"{backend}-{i}"
        code = main(["replay", str(scenario), "--protocol", protocol, "--chain", backend, "--out", str(out),
                     "--no-charts", "--quiet"])
        assert code == 0, capsys.readouterr().err
        texts.append((out / "timeline.json").read_bytes())
    assert texts[0] == texts[1] == texts[2]
    assert timeline_from_json(texts[0].decode()).liquidations


def test_morpho_full_liquidations_in_thin_pools_are_skipped_as_unprofitable(tmp_path, capsys):
    out = tmp_path / "thin"
    main(["replay", str(ROOT / "scenarios" / "cascade-50-thin-twap.yaml"), "--protocol", "morpho-blue", "--chain",
          BIG_CHAIN, "--out", str(out), "--no-charts", "--quiet"])
    timeline = timeline_from_json((out / "timeline.json").read_text())
    assert timeline.status == "complete" and not timeline.liquidations
    skipped = timeline.skipped_liquidations or []
    assert skipped and any("slippage" in s.reason for s in skipped)
    assert all(s.reason.startswith(("unprofitable: bonus ", "reaction delay: ")) for s in skipped)
