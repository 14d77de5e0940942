"""Markets with friction (issue 17) on a real chain: Uniswap v2 pairs from npm ``@uniswap/v2-core`` driven through
``SimSwapper``, the arbitrageur, ``liquidity_crunch``, and the ``push`` / ``pool-twap`` oracle models.

Each test starts its own node through marginlab (MARGINLAB_CHAIN / CHAIN: ganache or anvil); the byte-identity
test also replays on revm (in process) and in per-step mining.
"""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.cli import main
from marginlab.numbers import from_units
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text
from marginlab.sim.engine import Replay
from marginlab.sim.pools import ARBITRAGEUR, LP, amount_out

CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
D = Decimal

FRICTION = """\
name: friction-small
seed: 7
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05, protocol_share: 0.1}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
  - {symbol: WBTC, decimals: 8, price: 30000, asset_weight: {init: 0.70, maint: 0.75},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.08}
liquidity:
  - {name: lp, deposits: {USDC: 1000000}}
accounts:
  - name: bot
    count: 4
    borrow_scale: {first: 0.8, last: 1.0}
    positions:
      - {deposit: {WETH: 5}, borrow: {USDC: 8000}}
pools:
  - {pair: WETH/USDC, depth_usd: 200000, arbitrage: 0.5}
  - {pair: WBTC/USDC, reserves: {WBTC: 10, USDC: 300000}, arbitrage: 1}
oracles:
  WETH: {model: pool-twap, pool: WETH/USDC, window: 1800}
  WBTC: {model: push, deviation: 0.02, heartbeat: 86400, delay: 1}
steps:
  - {advance: 600, prices: {WETH: "-5%", WBTC: "-1%"}}
  - {advance: 600, prices: {WETH: "-5%", WBTC: "-3%"}}
  - {advance: 600, liquidity_crunch: {WETH/USDC: 0.5}}
  - {advance: 600, prices: {WETH: "-10%"}}
  - {advance: 600}
  - {advance: 1800}
"""


@pytest.fixture(autouse=True)
def isolation():
    """No brownie chain: each replay starts its own node through marginlab."""
    yield


def open_replay(text: str, backend: str = CHAIN) -> Replay:
    scenario, doc = parse_scenario_text(text)
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(backend=backend), RevertDecoder(artifacts.all_abis()))
    return Replay(build_plan(scenario, doc), chain, artifacts)


@pytest.fixture(scope="module")
def replayed():
    """The scenario replayed step by step, with what the pools and feeds held after each step."""
    replay = open_replay(FRICTION)
    pools = replay.pools
    assert pools is not None
    seen: list[dict[str, object]] = []
    try:
        replay.deploy()
        replay.setup()
        seen.append({"reserves": {p: pools.reserves(p) for p in pools.pairs}})
        for step in replay.plan.steps:
            replay.step(step)
            feeds = {s: int(replay.chain.call(replay.world.feeds[s], "latestRoundData")[1])
                     for s in ("WETH", "WBTC")}
            lp = {p: int(replay.chain.call(c, "balanceOf", pools.signer(LP).address)) for p, c in pools.pairs.items()}
            seen.append({"reserves": {p: pools.reserves(p) for p in pools.pairs}, "feeds": feeds, "lp": lp})
        yield replay, seen
    finally:
        replay.chain.close()


def test_pools_are_seeded_with_the_reserves_or_depth_the_file_names(replayed):
    replay, seen = replayed
    weth, usdc = seen[0]["reserves"]["WETH/USDC"]
    assert (weth, usdc) == (100 * 10**18, 200_000 * 10**6)  # 200,000 USD each side at 2000
    assert seen[0]["reserves"]["WBTC/USDC"] == (10 * 10**8, 300_000 * 10**6)
    assert replay.timeline.setup is not None and replay.timeline.setup.pools is not None
    assert replay.timeline.setup.pools["WETH/USDC"].price == "2000"


def test_the_arbitrageur_closes_the_share_of_the_gap_the_file_sets(replayed):
    replay, _ = replayed
    first = replay.timeline.steps[0]
    assert first.pools is not None
    # WETH/USDC at arbitrage 0.5: half the log gap from 2000 to 1900, i.e. √(2000·1900), less the fee's effect
    half = (D(2000) * D(1900)).sqrt()
    weth_pool = D(first.pools["WETH/USDC"].price)
    assert abs(weth_pool - half) / half < D("0.002")
    assert weth_pool > D(1900)
    # WBTC/USDC at arbitrage 1: all of the gap, to within the fee
    btc_pool = D(first.pools["WBTC/USDC"].price)
    assert abs(btc_pool - D(29700)) / D(29700) < D("0.002")


def test_liquidity_crunch_withdraws_the_share_of_the_pool(replayed):
    _, seen = replayed
    before = seen[2]["reserves"]["WETH/USDC"]
    after = seen[3]["reserves"]["WETH/USDC"]  # step 2 crunches 50 %, then the arbitrageur trades on
    # a swap keeps the constant product (up to its fee), so √k measures the liquidity left
    ratio = (D(after[0]) * D(after[1])).sqrt() / (D(before[0]) * D(before[1])).sqrt()
    assert abs(ratio - D("0.5")) < D("0.001")
    lp_tokens = seen[3]["lp"]["WETH/USDC"], seen[2]["lp"]["WETH/USDC"]
    assert lp_tokens[0] == lp_tokens[1] - lp_tokens[1] // 2


def test_the_twap_oracle_lags_the_path_and_the_feed_posts_it(replayed):
    replay, seen = replayed
    for k, record in enumerate(replay.timeline.steps):
        assert record.oracle_prices is not None
        posted = D(record.oracle_prices["WETH"])
        assert seen[k + 1]["feeds"]["WETH"] == int(posted.scaleb(8))  # the feed reports the model's answer
        assert posted > D(record.prices["WETH"])  # falling path: the TWAP is behind it
    # the last step advances a whole window: its TWAP is the pool's price of the step before, which held all of
    # it (the price the arbitrageur sets at the last step's time has held for no time yet)
    last, before = replay.timeline.steps[-1], replay.timeline.steps[-2]
    pool = D(before.pools["WETH/USDC"].price)  # type: ignore[index]
    assert abs(D(last.oracle_prices["WETH"]) - pool) / pool < D("0.000001")  # type: ignore[index]


def test_the_push_oracle_posts_beyond_its_deviation_one_step_late(replayed):
    replay, _ = replayed
    posted = [D(r.oracle_prices["WBTC"]) for r in replay.timeline.steps]  # type: ignore[index]
    path = [D(r.prices["WBTC"]) for r in replay.timeline.steps]
    assert path[:2] == [D(29700), D(28809)]
    # step 0: -1 % is below the 2 % deviation; step 1: -3 % from 30000 triggers, posted at step 2 (delay 1)
    assert posted[:3] == [D(30000), D(30000), D(28809)]


def test_swaps_pay_what_the_on_chain_quote_says(replayed):
    replay, _ = replayed
    pools = replay.pools
    assert pools is not None
    base, quote = pools.reserves("WETH/USDC")
    sell = 10**18
    quoted = pools.quote("WETH/USDC", "WETH", sell)
    assert quoted == amount_out(sell, base, quote) > 0
    need = pools.quote_in("WETH/USDC", "WETH", quoted)  # WETH to sell for `quoted` USDC
    assert need <= sell and pools.quote("WETH/USDC", "WETH", need) >= quoted
    arb = pools.signer(ARBITRAGEUR)
    replay.world.fund(arb, "WETH", sell, None)
    usdc_before = replay.world.balance("USDC", arb.address)
    pools.swap(arb, "WETH/USDC", "WETH", sell)
    assert replay.world.balance("USDC", arb.address) - usdc_before == quoted
    assert pools.reserves("WETH/USDC") == (base + sell, quote - quoted)
    assert from_units(quoted, 6) < from_units(sell, 18) * D(pools.price("WETH/USDC", (base, quote)))


def test_a_friction_timeline_is_byte_identical_across_chains_and_mining_modes(tmp_path, capsys):
    scenario = tmp_path / "friction.yaml"
    scenario.write_text(FRICTION)
    runs = [(CHAIN, "auto"), (CHAIN, "per-step"), ("revm", "auto")]
    texts = []
    for backend, mining in runs:
        out = tmp_path / f"{backend}-{mining}"
        code = main(["replay", str(scenario), "--chain", backend, "--mining", mining, "--out", str(out),
                     "--no-charts", "--quiet"])
        assert code == 0, capsys.readouterr().err
        texts.append((out / "timeline.json").read_bytes())
    assert texts[0] == texts[1] == texts[2]
    assert b'"oracle_prices"' in texts[0] and b'"reserve_base"' in texts[0]


@pytest.mark.parametrize("protocol", ["aave-v3", "morpho-blue"])
def test_pools_and_lagging_oracles_work_through_the_protocol_boundary(protocol, tmp_path, capsys):
    """Pools and oracle models sit outside the protocol: the same file replays on Aave v3 and Morpho Blue, whose
    feeds post the models' answers."""
    scenario = tmp_path / "friction.yaml"
    text = FRICTION.replace("""  - {symbol: WBTC, decimals: 8, price: 30000, asset_weight: {init: 0.70, maint: 0.75},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.08}
""", "").replace("  - {pair: WBTC/USDC, reserves: {WBTC: 10, USDC: 300000}, arbitrage: 1}\n", "") \
        .replace("  WBTC: {model: push, deviation: 0.02, heartbeat: 86400, delay: 1}\n", "") \
        .replace(', WBTC: "-1%"', "").replace(', WBTC: "-3%"', "")
    scenario.write_text(text)
    out = tmp_path / protocol
    code = main(["replay", str(scenario), "--protocol", protocol, "--chain", CHAIN, "--out", str(out), "--no-charts",
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    from marginlab.timeline import timeline_from_json
    timeline = timeline_from_json((out / "timeline.json").read_text())
    assert timeline.status == "complete"
    lagging = [r for r in timeline.steps if r.oracle_prices and r.oracle_prices["WETH"] != r.prices["WETH"]]
    assert lagging and all(r.pools for r in timeline.steps)
