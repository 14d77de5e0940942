"""The close route a stop-loss or take-profit uses (pure: the verbs it would send, no chain)."""
from __future__ import annotations

from decimal import Decimal

from marginlab.numbers import UINT256_MAX
from marginlab.scenario.actions import Repay, Source, Withdraw
from marginlab.scenario.strategy_plan import PlannedStrategy, PriceTrigger
from marginlab.sim.strategy_calls import ROUTES, CloseRequest, wallet_route

STOP = PlannedStrategy(index=0, account="bob", kind="stop_loss", position=1, sub_id=0, delay=0, miss=Decimal(0),
                       source=Source(("strategies", 0), 3), share=Decimal("0.15"))


def test_alone_in_its_sub_account_the_position_repays_everything_then_withdraws_everything():
    verbs, notes = wallet_route(CloseRequest(STOP, {"USDC": 5_000 * 10**6, "MEME": -3_000 * 10**18}, None, True))
    assert verbs == [Repay(account="bob", source=STOP.source, owner="bob", sub_id=0, amounts={"MEME": UINT256_MAX}),
                     Withdraw(account="bob", source=STOP.source, sub_id=0, amounts={"USDC": UINT256_MAX})]
    assert notes == []


def test_in_cross_margin_a_netted_leg_stays_and_a_held_one_comes_out_up_to_the_leg():
    legs = {"USDC": 5_000 * 10**6, "WETH": 2 * 10**18, "MEME": -3_000 * 10**18}
    balances = {"USDC": -25_000 * 10**6, "WETH": 10**18, "MEME": -3_000 * 10**18}  # WETH: less than the leg is held
    verbs, notes = wallet_route(CloseRequest(STOP, legs, balances, False))
    assert [type(v) for v in verbs] == [Repay, Withdraw]
    assert verbs[1].amounts == {"WETH": 10**18}
    assert notes == ["USDC deposit stays in sub 0: netted against other positions' debt"]


def test_only_the_wallet_route_exists_until_pools_do():
    assert set(ROUTES) == {"wallet"}


def test_a_price_trigger_crosses_at_its_level():
    above = PriceTrigger("MEME", "above", Decimal(3))
    assert above.crossed(Decimal(3)) and not above.crossed(Decimal("2.99"))
    assert PriceTrigger("WETH", "below", Decimal(1850)).crossed(Decimal(1800))


def test_a_closes_withdraw_all_is_not_a_lenders_recovery():
    # drain-stop-loss (isolated): the stop-loss closes the short with repay(all MEME) then withdraw(all USDC). That
    # is no lender asking for its money: report.md lists no "recovered" row for it (before: uint256 max USDC, a
    # 78-digit figure), and an expect: recovered / withdrawals_refused counts only a withdraw: strategy's calls.
    from pathlib import Path

    from marginlab.report.expect import evaluate
    from marginlab.report.metrics import lender_withdrawals
    from marginlab.report.strategies import render_strategy_section
    from marginlab.scenario.plan import build_plan
    from marginlab.scenario.validate import parse_scenario_text
    from marginlab.timeline import timeline_from_json

    root = Path(__file__).resolve().parents[2]
    t = timeline_from_json((root / "tests" / "golden" / "drain-stop-loss.isolated.json").read_text())
    assert [a.verb for a in t.strategy_acts or []] == ["repay", "withdraw"]
    assert lender_withdrawals(t) == []
    section = "\n".join(render_strategy_section(t))
    assert "| 0 | bob | stop_loss[0] | withdraw | all USDC | ok |" in section
    assert "recovered by withdrawing" not in section and str(2**256 - 1)[:40] not in section
    text = (root / "scenarios" / "drain-stop-loss.yaml").read_text() + \
        "  - {account: bob, withdrawals_refused: 0, recovered: {USDC: 0}}\n"
    scenario, doc = parse_scenario_text(text, "drain-stop-loss.yaml")
    results = [e for e in evaluate(build_plan(scenario, doc, "isolated"), t, "marginlab") if "withdraw" in
               e.description or "recovered" in e.description]
    assert [(e.description, e.actual, e.passed) for e in results] == [
        ("bob: withdrawals refused == 0", "0", True), ("bob: USDC recovered by withdrawing == 0", "0", True)]
