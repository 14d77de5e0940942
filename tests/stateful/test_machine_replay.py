"""A machine's sequence replays under `marginlab replay` with the same outcomes (RELIABILITY: "a failure prints the
shrunk sequence as a scenario file that replays it").

1. A machine driven by hand through every rule kind — deposit, withdraw, borrow, repay for another owner,
   transfer between sub-accounts, time, a price move, liquidate, settle bad debt, donate — with successes and
   reverts, its invariants checked after every step. Its `yaml()` is written to a file and replayed by the CLI on
   a fresh chain: exit 0 means every `expect_revert:` reverted with exactly that error and nothing else reverted;
   the test also compares each step's outcome and the final balances with the machine's model.
2. A machine made to fail through `run_machine` (hypothesis, as in CI): what it prints after FAILURE_MARK loads
   with the scenario loader, has one step per logged record, and replays.
3. The hostile machine (hostile_machine.py: fee-on-transfer, hook, revert-on-zero, no-return and pausable-blocklist
   tokens): its printed scenario names each market's token kind and FEE's fee, and the issuer's pauses and blocks
   as `token_admin` steps, so the replay deploys the same tokens and refuses the same transfers. Made to
   fail, its print replays; driven by hand through every verb on every hostile market, the replay ends with the
   model's balances (a plain-token replay would credit FEE 1 % more on every payment in and fail this).
"""
from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import Phase

from chainkit import DAY, deploy_protocol, sim_token
from hostile_machine import FEE_BPS, HostileMachine, fee_model
from machine_runner import FAILURE_MARK, run_machine
from marginlab.cli import main
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text
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
    # lp's three deposits, alice/1's WETH, carol/0's WBTC, the liquidator's seized WETH; alice/0 left empty.
    assert balances_match(m, accounts) == {"lp/0 USDC", "lp/0 WBTC", "lp/0 WETH", "alice/1 WETH", "carol/0 WBTC",
                                           "liquidator/0 WETH"}


def balances_match(m, accounts: dict) -> set[str]:
    """The replay's final balances equal the model's, up to the interest of the few seconds by which the
    machine's chain (wall-clock blocks) and the replay's (pinned blocks) differ: 1e-6 relative + 10 units.
    Returns the "sub-account symbol" pairs the model holds a balance in."""
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
    return held


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


# ------------------------------------------------------------------ the hostile machine's tokens replay as themselves
HOSTILE_KINDS = {"FEE": {"kind": "fee-on-transfer", "fee_bps": FEE_BPS}, "HOOK": {"kind": "hook"},
                 "RZERO": {"kind": "revert-on-zero"}, "NORET": {"kind": "no-return"},
                 "PAUSE": {"kind": "pausable-blocklist"}}
FEE, HOOK, RZERO, NORET, PAUSE = 0, 1, 2, 3, 4  # st_market indexes of the hostile markets
VAULT = 3  # st_target of the vault in rule_token_admin


class FailingHostileMachine(HostileMachine):
    """The hostile machine, and an invariant that fails on purpose once four steps are logged."""

    def setup(self):
        super().setup()
        FailingHostileMachine.LAST = self

    def invariant_fails_on_purpose(self):
        assert len(self.log) < 4, "deliberate failure after four steps"


def assert_hostile_markets(scenario) -> None:
    assert {m.symbol: m.token.model_dump(exclude_none=True) for m in scenario.markets} == HOSTILE_KINDS


def test_the_hostile_machine_prints_its_token_kinds_and_the_print_replays(state_machine, hostile_proto, alice, bob,
                                                                         carol, lp, capsys, tmp_path):
    with pytest.raises(AssertionError, match="deliberate failure"):
        run_machine(state_machine, FailingHostileMachine, hostile_proto, [alice, bob, carol], (0, 1), [(lp, 0)],
                    machine="hostile", fees={"FEE": fee_model},
                    settings={"max_examples": 3, "stateful_step_count": 6, "phases": (Phase.generate,),
                              "derandomize": True})
    text = capsys.readouterr().out.split(FAILURE_MARK, 1)[1].lstrip("\n")
    assert "plain ERC-20" not in text  # no caveat left: the tokens replay as themselves
    scenario, doc = parse_scenario_text(text, "printed.yaml")
    assert_hostile_markets(scenario)
    assert len(scenario.steps) == len(FailingHostileMachine.LAST.log) >= 4
    # lp sent $1M of each and holds what arrived (FEE: 990,000). A scenario deposit is the amount sent, so the
    # print writes the smallest FEE amount whose transfer credits exactly the 990,000 the machine's lp holds.
    held = fee_model(10**6 * 10**18)
    lent = scenario.liquidity[0].deposits
    assert fee_model(int(lent["FEE"] * 10**18)) == held > fee_model(int(lent["FEE"] * 10**18) - 1)
    assert lent["NORET"] == 10**5
    path = tmp_path / "printed.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["replay", str(path), "--chain", CHAIN, "--out", str(out), "--quiet", "--no-charts"]) == 0
    setup = json.loads((out / "timeline.json").read_text())["setup"]["accounts"]["lp/0"]["balances"]
    assert setup["FEE"] == str(held)  # credited exactly what the machine's lp holds


def drive_hostile(m: HostileMachine) -> None:
    """Every verb the hostile machine has, on every hostile market, each outcome clear of the either-way band."""
    steps = [
        lambda: m.rule_deposit(ALICE, 0, FEE, 10, 100),            # 10 FEE sent, 9.9 credited
        lambda: m.rule_deposit(BOB, 0, NORET, 100, 100),
        lambda: m.rule_deposit(CAROL, 1, HOOK, 1, 100),
        lambda: m.rule_deposit(CAROL, 0, RZERO, 1_000, 100),
        lambda: m.rule_borrow(ALICE, 0, RZERO, 50),
        lambda: m.rule_borrow(BOB, 0, FEE, 50),                    # the borrower receives 1 % less
        lambda: m.rule_borrow(CAROL, 1, NORET, 25),
        lambda: m.rule_deposit(ALICE, 1, FEE, 1, 0),               # ZeroAmount
        lambda: m.rule_advance(DAY),
        lambda: m.rule_repay(BOB, 0, FEE, 50, BOB),                # half the FEE debt sent, 99 % of it credited
        lambda: m.rule_donate(CAROL, FEE, 10**18),
        lambda: m.rule_donate(ALICE, NORET, 10**18),
        lambda: m.rule_repay(ALICE, 0, RZERO, 100, ALICE),         # all: RZERO's debt closes exactly
        lambda: m.rule_repay(BOB, 0, FEE, 100, CAROL),             # carol pays all of bob/0's FEE: 1 % stays owed
        lambda: m.rule_repay(CAROL, 1, NORET, 100, CAROL),
        lambda: m.rule_withdraw(BOB, 0, NORET, 50),
        lambda: m.rule_transfer(ALICE, 0, FEE, 50, 1),
        lambda: m.rule_withdraw(CAROL, 1, HOOK, 100),
        # PAUSE: the issuer pauses, then blocks the vault, then bob; each refusal changes no balance.
        lambda: m.rule_deposit(ALICE, 0, PAUSE, 100, 100),
        lambda: m.rule_token_admin("pause", 0),
        lambda: m.rule_token_admin("pause", 0),                    # already paused: nothing sent, no step
        lambda: m.rule_deposit(BOB, 0, PAUSE, 10, 100),            # EnforcedPause (bob's wallet is full)
        lambda: m.rule_withdraw(ALICE, 0, PAUSE, 50),              # EnforcedPause after the vault's checks passed
        lambda: m.rule_deposit(ALICE, 0, PAUSE, 1, 0),             # ZeroAmount: the vault's check comes first
        lambda: m.rule_donate(CAROL, PAUSE, 10**6),                # EnforcedPause in the token itself
        lambda: m.rule_transfer(ALICE, 0, PAUSE, 50, 1),           # a book entry: the pause does not matter
        lambda: m.rule_token_admin("unpause", 0),
        lambda: m.rule_token_admin("block", VAULT),
        lambda: m.rule_borrow(CAROL, 0, PAUSE, 10),                # Blocked: the vault may not send
        lambda: m.rule_token_admin("unblock", VAULT),
        lambda: m.rule_token_admin("block", BOB),
        lambda: m.rule_deposit(BOB, 1, PAUSE, 10, 100),            # Blocked: bob may not send
        lambda: m.rule_withdraw(ALICE, 0, PAUSE, 50),              # alice is not blocked
        lambda: m.rule_token_admin("unblock", BOB),
        lambda: m.rule_deposit(BOB, 1, PAUSE, 10, 100),
        lambda: m.rule_advance(3600),
    ]
    for step in steps:
        step()
        m.check()


def test_a_driven_hostile_machine_replays_with_the_models_balances(hostile_proto, alice, bob, carol, lp, tmp_path):
    m = HostileMachine(hostile_proto, [alice, bob, carol], (0, 1), [(lp, 0)], fees={"FEE": fee_model})
    m.setup()
    drive_hostile(m)
    assert not m.boundary, "every outcome must be clear of the model's either-way band"
    assert [r["action"]["expect_revert"] for r in m.log if "expect_revert" in r.get("action", {})] == \
        ["ZeroAmount", "EnforcedPause", "EnforcedPause", "ZeroAmount", "EnforcedPause", "Blocked", "Blocked"]
    assert [r["token_admin"]["PAUSE"] for r in m.log if "token_admin" in r] == \
        [{"paused": True}, {"paused": False}, {"block": ["vault"]}, {"unblock": ["vault"]}, {"block": ["bob"]},
         {"unblock": ["bob"]}]
    bob_fee = m.m["FEE"].books.amount_of((str(bob), 0))
    assert bob_fee < 0  # repay-all of a fee token leaves the fee owed: the replay must show the same remainder

    text = m.yaml()
    scenario, _ = parse_scenario_text(text, "hostile.yaml")
    assert_hostile_markets(scenario)
    path = tmp_path / "hostile-machine.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["replay", str(path), "--chain", CHAIN, "--out", str(out), "--quiet", "--no-charts"]) == 0
    timeline = json.loads((out / "timeline.json").read_text())
    for record, step in zip(m.log, timeline["steps"]):
        if "action" in record:
            expected = record["action"].get("expect_revert")
            assert [(a["ok"], (a["revert"] or "").split("(")[0]) for a in step["actions"]] == \
                [(expected is None, expected or "")], (record, step["actions"])
    held = balances_match(m, timeline["steps"][-1]["accounts"])
    assert held == {"lp/0 FEE", "lp/0 HOOK", "lp/0 RZERO", "lp/0 NORET", "lp/0 PAUSE", "alice/0 FEE", "alice/1 FEE",
                    "bob/0 FEE", "bob/0 NORET", "carol/0 RZERO", "alice/0 PAUSE", "alice/1 PAUSE", "bob/1 PAUSE"}

    # Without FEE's kind (a plain ERC-20, as before), repay-all closes bob/0's FEE debt outright: the replay would
    # not reproduce the machine. (PAUSE keeps its kind: token_admin is refused on a plain token.)
    plain_path = tmp_path / "plain.yaml"
    plain_path.write_text(re.sub(r", token: \{kind: fee-on-transfer[^}]*\}", "", text), encoding="utf-8")
    plain_out = tmp_path / "plain-out"
    assert main(["replay", str(plain_path), "--chain", CHAIN, "--out", str(plain_out), "--quiet", "--no-charts"]) == 0
    plain_final = json.loads((plain_out / "timeline.json").read_text())["steps"][-1]["accounts"]
    assert "FEE" not in plain_final["bob/0"]["balances"] and bob_fee < 0
