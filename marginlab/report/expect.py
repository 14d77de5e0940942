"""Evaluate a scenario's ``expect:`` list against a timeline (pure: the chain is not consulted)."""
from __future__ import annotations

from decimal import Decimal, localcontext

from marginlab.numbers import EXACT, fmt_decimal, from_units
from marginlab.report.metrics import INFINITY, keys_of, lender_withdrawals, state_equity, total_bad_debt, wad_to_decimal
from marginlab.scenario.model import Cmp, Expect
from marginlab.scenario.plan import Plan, expect_applies
from marginlab.timeline import ExpectResult, Timeline


def _fmt(value: Decimal) -> str:
    return fmt_decimal(value)


def _check(what: str, cmp: Cmp, actual: Decimal) -> tuple[str, str, bool]:
    return f"{what} {cmp}", _fmt(actual), cmp.holds(actual)


def evaluate(plan: Plan, timeline: Timeline, protocol: str | None = None) -> list[ExpectResult]:
    """One result per check of every expectation that applies to this run's margin mode (and ``protocol``)."""
    lines = plan.expect_lines
    results: list[ExpectResult] = []
    decimals = timeline.decimals()
    last = timeline.records[-1] if timeline.records else None
    for i, exp in enumerate(plan.expect):
        line = lines[i] if i < len(lines) else 0
        if not expect_applies(exp, plan, protocol):
            results.append(ExpectResult(i, line, f"{_scope(exp)}: {', '.join(exp.checks)}", _skip_reason(exp),
                                        False, skipped=True))
            continue
        for check in _checks(exp, timeline, decimals, last):
            results.append(ExpectResult(i, line, *check))
    return results


def _scope(exp: Expect) -> str:
    if exp.account is None:
        return "protocol"
    return exp.account if exp.position is None else f"{exp.account} position {exp.position}"


def _skip_reason(exp: Expect) -> str:
    narrowed = [f"{k} {v}" for k, v in (("margin", exp.margin), ("protocol", exp.protocol), ("policy", exp.policy))
                if v is not None]
    return f"skipped: only for {' and '.join(narrowed)}"


def _checks(exp: Expect, timeline: Timeline, decimals: dict[str, int], last) -> list[tuple[str, str, bool]]:
    out = []
    who = exp.account
    sub_id = None
    scope = "protocol"
    if who is not None:
        scope = who
        if exp.position is not None:
            sub = next((s for s in timeline.sub_accounts if s.owner == who and exp.position in s.positions), None)
            sub_id = sub.sub_id if sub is not None else -1
            scope = f"{who} position {exp.position}"
    keys = keys_of(timeline, who, sub_id) if who is not None else [s.key for s in timeline.sub_accounts]
    key_set = set(keys)
    liqs = [x for x in timeline.liquidations if f"{x.account}/{x.sub_id}" in key_set]
    with localcontext(EXACT):
        if exp.liquidations is not None:
            out.append(_check(f"{scope}: liquidations", exp.liquidations, Decimal(len(liqs))))
        if exp.collateral_seized is not None:
            seized = sum((wad_to_decimal(x.seized_value) for x in liqs), Decimal(0))
            out.append(_check(f"{scope}: collateral seized (USD)", exp.collateral_seized, seized))
        if exp.bad_debt is not None:
            bad = total_bad_debt(timeline)  # an absorption's: only its debt beyond the collateral taken
            out.append(_check("protocol: bad debt (USD)", exp.bad_debt, bad))
        if exp.health_factor_min is not None:
            lowest = INFINITY
            for record in timeline.records:
                for key in keys:
                    if key in record.accounts:
                        lowest = min(lowest, wad_to_decimal(record.accounts[key].health_factor))
            # Steps are recorded after the keeper ran; the health factor it liquidated at was lower still.
            for x in liqs:
                lowest = min(lowest, wad_to_decimal(x.health_factor_before))
            out.append(_check(f"{scope}: lowest health factor", exp.health_factor_min, lowest))
        if exp.reverts is not None:
            reverts = [a for r in timeline.records for a in r.actions
                       if not a.ok and (who is None or a.account == who)]
            out.append(_check(f"{scope}: reverted actions", exp.reverts, Decimal(len(reverts))))
        if exp.final_equity is not None:
            equity = Decimal(0)
            if last is not None:
                equity = sum((state_equity(last.accounts[k], last, decimals) for k in keys if k in last.accounts),
                             Decimal(0))
            out.append(_check(f"{scope}: final equity (USD)", exp.final_equity, equity))
        withdrawals = lender_withdrawals(timeline, who) if who is not None else []
        if exp.withdrawals_refused is not None:
            refused = sum(1 for a in withdrawals if not a.ok)
            out.append(_check(f"{scope}: withdrawals refused", exp.withdrawals_refused, Decimal(refused)))
        for sym, cmp in (exp.recovered or {}).items():
            units = sum(a.amounts.get(sym, 0) for a in withdrawals if a.ok)
            out.append(_check(f"{scope}: {sym} recovered by withdrawing", cmp, from_units(units, decimals[sym])))
        for sym, cmp in (exp.balances or {}).items():
            units = 0
            if last is not None:
                units = sum(last.accounts[k].balances.get(sym, 0) for k in keys if k in last.accounts)
            out.append(_check(f"{scope}: final {sym} balance", cmp, from_units(units, decimals[sym])))
    return out


def revert_checks(timeline: Timeline) -> list[ExpectResult]:
    """Every action with ``expect_revert:`` must have reverted with exactly that error."""
    results = []
    for record in timeline.steps:
        for a in record.actions:
            if a.expected_revert is None:
                continue
            got = "no revert" if a.ok else (a.revert or "")
            passed = (not a.ok) and a.error_name == a.expected_revert
            results.append(ExpectResult(-1, a.line or 0,
                                        f"step {a.step}: {a.account}: {a.call} reverts with {a.expected_revert}",
                                        got, passed))
    return results
