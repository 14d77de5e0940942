"""``replay --compare-strategies none,stop_loss,top_up``: the same path with no strategies and with each kind of the
file's strategies alone (and, with ``--compare``, in both margin modes), one table per account: liquidations,
collateral lost, end equity, capital used and which strategy acted when. Pure: timelines and plans in, text out.

Capital used: the account's deposits at opening (at the initial prices) plus what its strategies' deposits that
went through paid in (top-ups, at their step's prices). Repayments from the wallet are listed under "acted".
"""
from __future__ import annotations

import json
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Mapping

from marginlab.numbers import EXACT, fmt_decimal, from_units
from marginlab.report.comparisons import VariantRun
from marginlab.report.metrics import lender_withdrawals, owner_summary, wad_to_decimal
from marginlab.scenario.plan import Plan
from marginlab.timeline import Timeline


def opening_deposits(plan: Plan, account: str) -> Decimal:
    """The account's (or liquidity provider's) deposits at opening, at the initial prices."""
    lender = next((lp for lp in plan.liquidity if lp.name == account), None)
    deposits = [lender.deposits] if lender is not None else [p.deposit for p in plan.account(account).positions]
    with localcontext(EXACT):
        return sum((from_units(v, plan.decimals(s)) * plan.initial_prices[s]
                    for d in deposits for s, v in d.items()), Decimal(0))


def topped_up(timeline: Timeline, account: str) -> Decimal:
    with localcontext(EXACT):
        return sum((wad_to_decimal(a.value) for a in timeline.strategy_acts or []
                    if a.account == account and a.ok and a.verb == "deposit"), Decimal(0))


def withdrawn(timeline: Timeline, account: str) -> Decimal:
    """What the account's strategy withdrawals took out (a close's "all" is not counted), at their steps' prices."""
    with localcontext(EXACT):
        return sum((wad_to_decimal(a.value) for a in timeline.strategy_acts or []
                    if a.account == account and a.ok and a.verb == "withdraw"), Decimal(0))


def acted(timeline: Timeline, account: str) -> str:
    """``step 0: stop_loss[0] repay ✓, withdraw ✓; step 3: top_up[1] deposit ✗`` (✗: reverted on chain)."""
    groups: dict[tuple[int, str], list[str]] = {}
    for a in timeline.strategy_acts or []:
        if a.account == account:
            groups.setdefault((a.step, a.strategy), []).append(f"{a.verb} {'✓' if a.ok else '✗'}")
    return "; ".join(f"step {step}: {name} {', '.join(verbs)}" for (step, name), verbs in groups.items()) or "–"


def _usd(value: Decimal) -> str:
    return fmt_decimal(value.quantize(Decimal("0.01")))


def strategy_rows(runs: list[VariantRun], plans: Mapping[tuple[str, str], Plan], account: str) -> list[dict[str, str]]:
    rows = []
    for run in runs:
        t = run.timeline
        row = {"strategies": run.variant, "margin": run.mode}
        if t is None:
            reason = run.mapping.refusals[0].reason if run.mapping.refusals else "not expressible"
            rows.append({**row, "status": f"not expressible: {reason}"})
            continue
        s = owner_summary(t, account)
        with localcontext(EXACT):
            capital = opening_deposits(plans[(run.variant, run.mode)], account) + topped_up(t, account)
        rows.append({**row, "status": t.status, "liquidations": str(s.liquidations),
                     "collateral_lost_usd": _usd(s.collateral_seized), "end_equity_usd": _usd(s.end_equity),
                     "capital_used_usd": _usd(capital), "withdrawn_usd": _usd(withdrawn(t, account)),
                     "acted": acted(t, account)})
    return rows


COLUMNS = [("strategies", "strategies"), ("margin", "margin"), ("status", "status"),
           ("liquidations", "liquidations"), ("collateral_lost_usd", "collateral lost (USD)"),
           ("end_equity_usd", "end equity in the protocol (USD)"), ("capital_used_usd", "capital used (USD)"),
           ("withdrawn_usd", "taken out by strategies (USD)"),
           ("acted", "which strategy acted when")]


def accounts_of(plans: Mapping[tuple[str, str], Plan]) -> list[str]:
    """Every account, then the liquidity providers that follow a strategy in some run."""
    first = next(iter(plans.values()))
    lenders = {s.account for p in plans.values() for s in p.strategies if s.kind == "withdraw"}
    return [a.name for a in first.accounts] + [lp.name for lp in first.liquidity if lp.name in lenders]


def render_strategies(runs: list[VariantRun], plans: Mapping[tuple[str, str], Plan]) -> str:
    first = next(iter(plans.values()))
    variants = list(dict.fromkeys(r.variant for r in runs))
    lines = [f"# Compare: {first.name} — strategies {', '.join(variants)}", "",
             "The same scenario, seed and price path with no strategies (`none`) and with each kind of the file's "
             "strategies alone, each on a fresh chain. Capital used: the account's deposits at opening (initial "
             "prices) plus its strategies' deposits that went through (at their step's prices). Acted: each "
             "strategy's calls per step, ✓ mined, ✗ reverted on chain (the wallet is never topped up by minting).", ""]
    for account in accounts_of(plans):
        lines += [f"## {account}", "", "| " + " | ".join(h for _, h in COLUMNS) + " |",
                  "|---|---|---|---:|---:|---:|---:|---:|---|"]
        for row in strategy_rows(runs, plans, account):
            lines.append("| " + " | ".join(row.get(k, "") for k, _ in COLUMNS) + " |")
        lines.append("")
    lines += ["## Runs", "", "| strategies | margin | report |", "|---|---|---|"]
    lines += [f"| {r.variant} | {r.mode} | {r.folder}/report.md |" for r in runs if r.timeline is not None]
    return "\n".join(lines) + "\n"


def write_strategy_comparison(runs: list[VariantRun], plans: Mapping[tuple[str, str], Plan], out: Path) -> Path:
    """``compare-strategies.md`` and ``.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data = {account: strategy_rows(runs, plans, account) for account in accounts_of(plans)}
    (out / "compare-strategies.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    path = out / "compare-strategies.md"
    path.write_text(render_strategies(runs, plans), encoding="utf-8")
    return path


def render_strategy_section(timeline: Timeline) -> list[str]:
    """report.md's "Strategies" section: every call the accounts' strategies sent and how it ended, the
    withdrawals the protocol refused (a lender's run on a pool without the cash) and what each withdrawer got out.
    Empty for a scenario without ``strategies:``."""
    acts = timeline.strategy_acts
    if acts is None:
        return []
    decimals = timeline.decimals()
    lines = ["", "## Strategies", ""]
    if not acts:
        return lines + ["No strategy acted."]
    lines += ["| step | account | strategy | call | amount | outcome |", "|---:|---|---|---|---:|---|"]
    for a in acts:
        amount = ", ".join("all " + s if v == 2**256 - 1 else f"{fmt_decimal(from_units(v, decimals[s]))} {s}"
                           for s, v in a.amounts.items()) or "–"
        outcome = "ok" if a.ok else f"reverted ({a.error_name})"
        lines.append(f"| {a.step} | {a.account} | {a.strategy} | {a.verb} | {amount} | {outcome} |")
    withdrawers = list(dict.fromkeys(a.account for a in lender_withdrawals(timeline)))
    if withdrawers:
        lines += ["", "| account | withdrawals refused | recovered by withdrawing |", "|---|---:|---|"]
        for who in withdrawers:
            mine = lender_withdrawals(timeline, who)
            got: dict[str, int] = {}
            for a in mine:
                if a.ok:
                    for s, v in a.amounts.items():
                        got[s] = got.get(s, 0) + v
            text = ", ".join(f"{fmt_decimal(from_units(v, decimals[s]))} {s}" for s, v in got.items()) or "0"
            lines.append(f"| {who} | {sum(1 for a in mine if not a.ok)} | {text} |")
        lines += ["", "A refused withdrawal is one the protocol reverted (the pool did not hold the cash: deposits "
                      "less borrows); the lender then takes what is there and asks again the next step."]
    return lines
