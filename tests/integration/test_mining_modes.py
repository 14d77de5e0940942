"""``--mining per-step`` (automine off, one ``evm_mine`` per step) replays exactly what ``--mining auto`` replays.

Each test starts its own node through marginlab (MARGINLAB_CHAIN / CHAIN: ganache or anvil). The scenario below
packs into one step what per-step mining has to get right: transactions from several senders in one block (the
price transaction first, so every action sees the crash), two reverts in the middle of the block whose reasons
must be read at their own position, a transaction after a revert, and a borrow that only succeeds because an
earlier transaction of the same sender (a transfer) is mined before it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.cli import main
from marginlab.sim.engine import Replay
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"

MIXED_BLOCK = """\
name: mining-modes
seed: 3
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 1000000, WETH: 100}}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 10}, borrow: {USDC: 1000}}]}
  - {name: bob, positions: [{deposit: {WETH: 10}, borrow: {USDC: 1000}}]}
  - {name: erin, positions: [{deposit: {WETH: 10}, borrow: {USDC: 1000}}]}
  - {name: frank, positions: [{deposit: {WETH: 10}, borrow: {USDC: 1000}}]}
  - name: dave
    margin: isolated
    positions:
      - {deposit: {WETH: 10}, borrow: {USDC: 1000}}
      - {deposit: {USDC: 10}}
steps:
  - label: "every call once, so gas limits are learnt and the next step needs no estimate"
    actions:
      - {account: alice, borrow: {USDC: 100}}
      - {account: dave, position: 1, transfer: {to_position: 0, amounts: {USDC: 1}}}
  - label: "crash; reverts mid-block; a borrow that needs the transfer before it"
    prices: {WETH: 1500}
    actions:
      - {account: alice, borrow: {USDC: 50000}, expect_revert: AccountUnhealthy}
      # fine at 2000 (limit 12800 > 12500), unhealthy at 1500 (12000): only if the price moved first
      - {account: erin, borrow: {USDC: 11500}, expect_revert: AccountUnhealthy}
      - {account: bob, borrow: {USDC: 100}}
      - {account: dave, transfer: {to_position: 1, amounts: {WETH: 5}}}
      - {account: dave, position: 1, borrow: {USDC: 5000}}
  - label: "a day later, a rally"
    advance: 86400
    prices: {WETH: 3000}
    actions:
      - {account: frank, borrow: {USDC: 18000}}
      - {account: alice, withdraw: {WETH: 100}, expect_revert: InsufficientDeposit}
      - {account: bob, repay: {USDC: 100}}
  - label: "crash into liquidations"
    prices: {WETH: 1300}
keeper: {enabled: true}
expect:
  - {liquidations: ">= 1"}
"""
MIXED_STEP = 1  # the step whose transactions must share one block
MIXED_STEP_TXS = 6  # the price transaction and five action calls
MIXED_STEP_REVERTS = 2


@pytest.fixture(autouse=True)
def isolation():
    """No brownie chain: each replay starts its own node through marginlab."""
    yield


def replay_to(scenario: Path, out: Path, mining: str) -> int:
    return main(["replay", str(scenario), "--chain", CHAIN, "--mining", mining, "--out", str(out), "--no-charts",
                 "--quiet"])


@pytest.mark.parametrize("name", ["mixed-block", "incidents/euler-2023", "stale-oracle"])
def test_per_step_mining_gives_the_auto_mining_timeline_byte_for_byte(name, tmp_path, capsys):
    if name == "mixed-block":
        scenario = tmp_path / "mixed-block.yaml"
        scenario.write_text(MIXED_BLOCK)
    else:
        scenario = ROOT / "scenarios" / f"{name}.yaml"
    assert replay_to(scenario, tmp_path / "auto", "auto") == 0, capsys.readouterr().err
    assert replay_to(scenario, tmp_path / "per-step", "per-step") == 0, capsys.readouterr().err
    auto = (tmp_path / "auto" / "timeline.json").read_bytes()
    assert auto == (tmp_path / "per-step" / "timeline.json").read_bytes()
    assert (tmp_path / "auto" / "timeline.csv").read_bytes() == (tmp_path / "per-step" / "timeline.csv").read_bytes()


def _open_replay(text: str, mining: str) -> Replay:
    scenario, doc = parse_scenario_text(text)
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(backend=CHAIN, mining=mining),  # type: ignore[arg-type]
                       RevertDecoder(artifacts.all_abis()))
    return Replay(build_plan(scenario, doc), chain, artifacts)


def test_per_step_mining_puts_a_steps_transactions_in_one_block_in_sending_order():
    replay = _open_replay(MIXED_BLOCK, "per-step")
    chain = replay.chain
    try:
        replay.deploy()
        replay.setup()
        for step in replay.plan.steps[:MIXED_STEP + 1]:
            before = chain.rpc(lambda: chain.w3.eth.block_number)
            replay.step(step)
        after = chain.rpc(lambda: chain.w3.eth.block_number)
        assert after == before + 1, "the mixed step was mined in more than one block"
        block = chain.rpc(lambda: chain.w3.eth.get_block(after))
        assert len(block["transactions"]) == MIXED_STEP_TXS
        receipts = [chain.rpc(lambda h=h: chain.w3.eth.get_transaction_receipt(h)) for h in block["transactions"]]
        assert [r["status"] for r in receipts].count(0) == MIXED_STEP_REVERTS
        names = [replay.names.get(str(r["from"]).lower()) for r in receipts]
        assert names == ["deployer", "alice", "erin", "bob", "dave", "dave"]  # the order the step sent them
        records = replay.timeline.steps[MIXED_STEP].actions
        assert [(a.account, a.ok) for a in records] == [("alice", False), ("erin", False), ("bob", True),
                                                         ("dave", True), ("dave", True)]
        assert records[0].revert is not None and records[0].revert.startswith("AccountUnhealthy(")
        assert records[1].revert is not None and records[1].revert.startswith("AccountUnhealthy(")
    finally:
        chain.close()


UNEXPECTED = MIXED_BLOCK.replace("{account: alice, borrow: {USDC: 50000}, expect_revert: AccountUnhealthy}",
                                 "{account: alice, borrow: {USDC: 50000}}")


def test_an_unexpected_revert_mid_block_ends_the_replay_with_the_same_message(tmp_path, capsys):
    assert UNEXPECTED != MIXED_BLOCK
    scenario = tmp_path / "unexpected.yaml"
    scenario.write_text(UNEXPECTED)
    errors = {}
    for mining in ("auto", "per-step"):
        assert replay_to(scenario, tmp_path / mining, mining) == 3
        errors[mining] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors["auto"] == errors["per-step"]
    assert errors["auto"] == [f"error: step {MIXED_STEP}: alice: borrow(50000 USDC, sub 0) reverted: "
                              f"AccountUnhealthy(-39100000000000000000000)"]
    assert (tmp_path / "auto" / "timeline.json").read_bytes() == (tmp_path / "per-step" / "timeline.json").read_bytes()
