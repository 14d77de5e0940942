"""A machine's sequence replays under `marginlab replay` with the same outcomes (RELIABILITY: "a failure prints the
shrunk sequence as a scenario file that replays it").

1. A machine driven by hand through every rule kind — deposit, withdraw, borrow, repay for another owner,
   transfer between sub-accounts, time, a price move, liquidate, settle bad debt, donate — with successes and
   reverts, its invariants checked after every step. Its `yaml()` is written to a file and replayed by the CLI on
   a fresh chain: exit 0 means every `expect_revert:` reverted with exactly that error and nothing else reverted;
   the test also compares each step's outcome and the final balances with the machine's model.
2. A machine made to fail through `run_machine` (hypothesis, as in CI): what it prints after FAILURE_MARK loads
   with the scenario loader, has one step per logged record, and replays.
"""
from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import Phase

from chainkit import DAY, deploy_protocol, sim_token
from machine_runner import FAILURE_MARK, run_machine
from marginlab.cli import main
from marginlab.plan import build_plan
from marginlab.validate import parse_scenario_text
from vault_machine import CoreRules, DonationRules, LiquidationRules, who_name

MARKETS = (("USDC", 6, 1), ("WBTC", 8, 60_000), ("WETH", 18, 2_000))
USDC, WBTC, WETH = 0, 1, 2  # st_market indexes: the machine's markets in listing order
ALICE, BOB, CAROL = 0, 1, 2
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"


class ReplayMachine(DonationRules, LiquidationRules):
    NAME = "replay"


class FailingMachine(CoreRules):
    """The core rules, and an invariant that fails on purpose once three steps are logged."""

    NAME = "failing"

    def setup(self):
        super().setup()
        FailingMachine.LAST = self

    def invariant_fails_on_purpose(self):
        assert len(self.log) < 3, "deliberate failure after three steps"


@pytest.fixture
def proto(gov, guardian, alice, bob, carol, lp, liquidator):
    """The liquidation machine's protocol: three SimToken markets, $1M of each lent by lp."""
    p = deploy_protocol(gov, guardian)
    for sym, dec, price in MARKETS:
        p.add_market(sym, sim_token(gov, sym, dec), price)
        for who in (alice, bob, carol, lp, liquidator):
            p.fund(sym, who, 10**9 * 10**dec)
    for sym, dec, price in MARKETS:
        p.vault.deposit(lp, 0, p[sym].token, 10**6 * 10**dec // price, {"from": lp})
    return p


def drive(m: ReplayMachine) -> None:
    """Every rule kind, each outcome clear of the model's either-way band; invariants after every step."""
    steps = [
        lambda: m.rule_deposit(ALICE, 0, WETH, 10, 100),            # 10 WETH into alice/0
        lambda: m.rule_borrow(ALICE, 0, USDC, 50),                  # half her room: 8,000 USDC
        lambda: m.rule_borrow(ALICE, 0, USDC, 120),                 # AccountUnhealthy
        lambda: m.rule_withdraw(ALICE, 1, WETH, 50),                # alice/1 holds nothing: ZeroAmount
        lambda: m.rule_transfer(ALICE, 0, WETH, 25, 1),             # 2.5 WETH to alice/1
        lambda: m.rule_transfer(ALICE, 0, WETH, 50, 0),             # SameSubAccount
        lambda: m.rule_deposit(CAROL, 0, WBTC, 1, 100),             # 1 WBTC into carol/0
        lambda: m.rule_borrow(CAROL, 0, USDC, 10),
        lambda: m.rule_advance(DAY),
        lambda: m.rule_move_price(WETH, -40),                       # WETH 1,200: alice/0 under maintenance
        lambda: m.rule_liquidate(CAROL, 0, USDC, WBTC, 50),         # AccountHealthy
        lambda: m.rule_liquidate(ALICE, 0, USDC, WETH, 50),         # half her USDC debt, for WETH
        lambda: m.rule_settle_bad_debt(ALICE, 1),                   # AccountHasNoDebt
        lambda: m.rule_donate(BOB, WETH, 10**6),                    # straight to the vault
        lambda: m.rule_repay(ALICE, 0, USDC, 100, BOB),             # bob repays all of alice/0's debt
        lambda: m.rule_withdraw(ALICE, 0, WETH, 100),               # and alice takes all her WETH out
        lambda: m.rule_repay(CAROL, 0, USDC, 100, CAROL),
        lambda: m.rule_advance(3600),
    ]
    for step in steps:
        step()
        m.check()


def test_a_driven_machine_replays_under_marginlab_with_the_same_outcomes(proto, alice, bob, carol, lp, liquidator,
                                                                         tmp_path):
    m = ReplayMachine(proto, [alice, bob, carol], (0, 1), [(lp, 0), (liquidator, 0)])
    m.liquidator = liquidator
    m.setup()
    drive(m)
    assert not m.boundary, "every outcome must be clear of the model's either-way band"
    reverted = [r["action"]["expect_revert"] for r in m.log if "expect_revert" in r.get("action", {})]
    assert reverted == ["AccountUnhealthy", "ZeroAmount", "SameSubAccount", "AccountHealthy", "AccountHasNoDebt"]

    path = tmp_path / "replay-machine.yaml"
    path.write_text(m.yaml(), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["replay", str(path), "--chain", CHAIN, "--out", str(out), "--quiet", "--no-charts"]) == 0

    timeline = json.loads((out / "timeline.json").read_text())
    assert len(timeline["steps"]) == len(m.log)
    for record, step in zip(m.log, timeline["steps"]):
        if "action" not in record:
            assert step["actions"] == []
            continue
        expected = record["action"].get("expect_revert")
        (done,) = step["actions"]
        assert done["ok"] == (expected is None), (record, done)
        assert (done["revert"] or "").split("(")[0] == (expected or ""), (record, done)
    assert [liq["account"] for liq in timeline["liquidations"]] == ["alice"]
    assert_final_balances_match(m, timeline["steps"][-1]["accounts"])


def assert_final_balances_match(m: ReplayMachine, accounts: dict) -> None:
    """The replay's final balances equal the model's, up to the interest of the few seconds by which the
    machine's chain (wall-clock blocks) and the replay's (pinned blocks) differ: 1e-6 relative + 10 units."""
    t_now = max(mm.last for mm in m.m.values())
    held = set()
    for who, sub in m.all_accounts():
        state = accounts[f"{who_name(who)}/{sub}"]
        for sym, mm in m.m.items():
            model = mm.preview(t_now).amount_of((str(who), sub))
            replayed = int(state["balances"].get(sym, "0"))
            assert abs(replayed - model) <= abs(model) // 10**6 + 10, (who_name(who), sub, sym, model, replayed)
            if model:
                held.add(f"{who_name(who)}/{sub} {sym}")
    # lp's three deposits, alice/1's WETH, carol/0's WBTC, the liquidator's seized WETH; alice/0 left empty.
    assert held == {"lp/0 USDC", "lp/0 WBTC", "lp/0 WETH", "alice/1 WETH", "carol/0 WBTC", "liquidator/0 WETH"}


def test_the_scenario_printed_when_a_machine_fails_loads_and_replays(state_machine, proto, alice, bob, carol, lp,
                                                                     capsys, tmp_path):
    with pytest.raises(AssertionError, match="deliberate failure"):
        run_machine(state_machine, FailingMachine, proto, [alice, bob, carol], (0, 1), [(lp, 0)], machine="core",
                    settings={"max_examples": 3, "stateful_step_count": 5, "phases": (Phase.generate,),
                              "derandomize": True})
    printed = capsys.readouterr().out
    assert FAILURE_MARK in printed
    text = printed.split(FAILURE_MARK, 1)[1].lstrip("\n")
    scenario, doc = parse_scenario_text(text, "printed.yaml")
    last = FailingMachine.LAST
    assert len(scenario.steps) == len(last.log) >= 3
    assert scenario.symbols == [sym for sym, _, _ in MARKETS]
    assert [m.price for m in scenario.markets] == [Decimal(price) for _, _, price in MARKETS]
    assert scenario.keeper.enabled is False
    assert [lp.name for lp in scenario.liquidity] == ["lp"]
    assert scenario.liquidity[0].deposits == {sym: Decimal(10**6 * 10**dec // price) / 10**dec
                                              for sym, dec, price in MARKETS}
    build_plan(scenario, doc)

    path = tmp_path / "printed.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["replay", str(path), "--chain", CHAIN, "--out", str(tmp_path / "out"), "--quiet",
                 "--no-charts"]) == 0
