"""report.html of one replay: prices, health factors, liquidations and bad debt as interactive charts; steps,
sub-account states, liquidations, bad debt, markets and expectations as sortable, filterable tables. The numbers
are the timeline's, written as report.md writes them (token amounts in tokens, USD to the cent, health factors
to four places). Pure: reads only the timeline."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from marginlab.numbers import fmt_decimal, from_units
from marginlab.report.html import Chart, Column, Page, Table, bar_chart, line_chart, write_page
from marginlab.report.metrics import owner_summary, owners, state_equity, total_bad_debt, wad_to_decimal
from marginlab.timeline import StepRecord, Timeline

#: Health factors above this are drawn at it (as in the PNG chart): "healthy enough", and 1.0 stays readable.
HF_DISPLAY_CAP = 3.0
LEGEND_LIMIT = 12
INFINITY = "∞"


def tokens(units: int, decimals: int) -> str:
    return fmt_decimal(from_units(units, decimals), 6)


def usd(value: Decimal) -> str:
    return fmt_decimal(value, 2)


def hf(value: int | None) -> str:
    return INFINITY if value is None else fmt_decimal(wad_to_decimal(value), 4)


def pct(wad: int) -> str:
    return fmt_decimal(wad_to_decimal(wad) * 100, 2)


def duration(seconds: int) -> str:
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"


def lowest(record: StepRecord) -> tuple[int | None, str]:
    """The lowest health factor of a record and whose it is (None: nobody owes anything)."""
    indebted = [(st.health_factor, key) for key, st in record.accounts.items() if st.health_factor is not None]
    if not indebted:
        return None, ""
    value, key = min(indebted)
    return value, key


def _hf_point(value: int | None) -> float | None:
    return None if value is None else min(float(wad_to_decimal(value)), HF_DISPLAY_CAP)


def charts(t: Timeline) -> list[Chart]:
    records = t.records
    xs = [r.index for r in records]
    out = [line_chart("prices", "Prices relative to the start", xs,
                      [(m.symbol, [float(Decimal(r.prices[m.symbol]) / Decimal(m.price)) for r in records])
                       for m in t.markets], y_title="price / initial price",
                      note="Step -1 is the state after set-up. Hover for each asset's value.")]
    indebted = [s for s in t.sub_accounts if any(r.accounts.get(s.key) is not None
                                                 and r.accounts[s.key].health_factor is not None for r in records)]
    hf_series = [(s.key, [_hf_point(r.accounts[s.key].health_factor) if s.key in r.accounts else None
                          for r in records]) for s in indebted]
    # on the step (category) axis a point's x is the step's label itself
    liq_points = [{"x": x.step, "y": _hf_point(x.health_factor_before)} for x in t.liquidations if x.step in xs]
    extra = [{"type": "scatter", "label": "liquidation (health factor before)", "data": liq_points,
              "backgroundColor": "#b42318", "borderColor": "#b42318", "pointStyle": "crossRot", "pointRadius": 6,
              "reference": True},
             {"label": "liquidation line (1.0)", "data": [1.0] * len(xs), "borderColor": "#000",
              "borderDash": [6, 4], "borderWidth": 1, "pointRadius": 0, "reference": True}]
    health = line_chart("health", f"Health factor per sub-account (drawn at most {HF_DISPLAY_CAP:g})", xs, hf_series,
                        y_title="health factor", extra=extra, y_max=HF_DISPLAY_CAP,
                        note="Sub-accounts that never borrowed have no health factor and are not drawn."
                             + (f" The legend names the first {LEGEND_LIMIT} of {len(hf_series)}; hover a line for "
                                f"its name." if len(hf_series) > LEGEND_LIMIT else ""))
    health.legend_limit = LEGEND_LIMIT
    out.append(health)
    seized: dict[int, float] = {}
    for x in t.liquidations:
        seized[x.step] = seized.get(x.step, 0.0) + float(wad_to_decimal(x.seized_value))
    cumulative, total = [], 0.0
    for i in xs:
        total += seized.get(i, 0.0)
        cumulative.append(total)
    count = {i: sum(1 for x in t.liquidations if x.step == i) for i in xs}
    out.append(bar_chart("liquidations", f"Liquidations: collateral seized (USD), {len(t.liquidations)} in all", xs,
                         [("seized this step", [seized.get(i, 0.0) for i in xs])], y_title="USD", x_title="step",
                         extra=[{"type": "line", "label": "cumulative", "data": cumulative, "borderColor": "#000",
                                 "pointRadius": 0, "borderWidth": 1.5},
                                {"type": "line", "label": "liquidations this step", "data": [count[i] for i in xs],
                                 "hidden": True, "borderColor": "#888", "pointRadius": 2}]))
    bad: dict[int, float] = {}
    for b in t.bad_debts:
        bad[b.step] = bad.get(b.step, 0.0) + float(wad_to_decimal(b.value))
    bad_cum, total = [], 0.0
    for i in xs:
        total += bad.get(i, 0.0)
        bad_cum.append(total)
    decimals = t.decimals()
    reserves = [float(sum((Decimal(m.reserves).scaleb(-decimals[s]) * Decimal(r.prices[s])
                           for s, m in r.markets.items()), Decimal(0))) for r in records]
    out.append(line_chart("bad-debt", f"Bad debt settled and reserves (USD); {usd(total_bad_debt(t))} USD of bad debt",
                          xs, [("bad debt settled (cumulative)", bad_cum), ("reserves (all markets)", reserves)],
                          y_title="USD"))
    return out


def tables(t: Timeline) -> list[Table]:
    decimals = t.decimals()
    symbols = [m.symbol for m in t.markets]
    records = t.records
    liq_count = {r.index: sum(1 for x in t.liquidations if x.step == r.index) for r in records}
    step_rows = []
    for r in records:
        acts = [f"oracle {s} {v}" for s, v in r.oracle.items()]
        acts += [f"token {s} {v}" for s, v in (r.tokens or {}).items() if v != "live"]
        acts += [f"{a.account}: {a.call}" + ("" if a.ok else f" ⟂ {a.revert}") for a in r.actions]
        acts += [r.note] if r.note else []
        low, who = lowest(r)
        step_rows.append([str(r.index), r.label or r.source, str(r.time), duration(r.time),
                          *[r.prices[s] for s in symbols], hf(low) if who else INFINITY, who,
                          str(liq_count[r.index]) if r.index >= 0 else "", "; ".join(acts)])
    state_rows = []
    margin = {s.key: s.margin for s in t.sub_accounts}
    for r in records:
        for key, st in r.accounts.items():
            state_rows.append([str(r.index), key, key.split("/")[0], margin.get(key, ""),
                               *[tokens(st.balances.get(s, 0), decimals[s]) for s in symbols], hf(st.health_factor),
                               usd(wad_to_decimal(st.collateral_value)), usd(wad_to_decimal(st.debt_value)),
                               usd(state_equity(st, r, decimals))])
    liq_rows = [[str(x.step), x.liquidator, f"{x.account}/{x.sub_id}", x.debt, tokens(x.repaid, decimals[x.debt]),
                 x.collateral, tokens(x.seized, decimals[x.collateral]),
                 tokens(x.to_liquidator, decimals[x.collateral]), tokens(x.protocol_cut, decimals[x.collateral]),
                 usd(wad_to_decimal(x.repaid_value)), usd(wad_to_decimal(x.seized_value)),
                 hf(x.health_factor_before), hf(x.health_factor_after)] if x.absorbed is None else
                [str(x.step), x.liquidator, f"{x.account}/{x.sub_id}", f"absorbed: {x.debt} written off", "",
                 ", ".join(f"{tokens(u, decimals[sym])} {sym}" for sym, u in x.absorbed.items()), "", "", "",
                 usd(wad_to_decimal(x.repaid_value)), usd(wad_to_decimal(x.seized_value)),
                 hf(x.health_factor_before), hf(x.health_factor_after)] for x in t.liquidations]
    bad_rows = [[str(b.step), f"{b.account}/{b.sub_id}", b.asset, tokens(b.debt, decimals[b.asset]),
                 tokens(b.covered_by_reserves, decimals[b.asset]), tokens(b.socialised, decimals[b.asset]),
                 usd(wad_to_decimal(b.value))] for b in t.bad_debts]
    last = records[-1] if records else None
    market_rows = [[s, tokens(m.total_deposits, decimals[s]), tokens(m.total_borrows, decimals[s]),
                    pct(m.utilisation), pct(m.borrow_rate), pct(m.supply_rate), tokens(m.reserves, decimals[s])]
                   for s, m in (last.markets.items() if last else [])]
    param_rows = [[m.symbol, str(m.decimals), str(m.feed_decimals), m.price, m.asset_weight_init, m.asset_weight_maint,
                   m.liab_weight_init, m.liab_weight_maint, m.liquidation_bonus, m.protocol_share, m.reserve_factor,
                   m.token or "plain"] for m in t.markets]
    owner_rows = [[s.owner, str(s.liquidations), usd(s.collateral_seized), usd(s.bad_debt), usd(s.end_equity),
                   fmt_decimal(s.max_leverage, 2), fmt_decimal(s.min_health_factor, 4)]
                  for s in (owner_summary(t, o) for o in owners(t))] if last else []
    expect_rows = [["PASS" if e.passed else "skipped" if e.skipped else "FAIL", str(e.line), e.description, e.actual]
                   for e in t.expectations]
    n, c = (lambda label: Column(label, numeric=True)), Column
    return [
        Table("steps", "Steps", [n("step"), c("source"), n("time (s)"), c("time"), *[n(f"{s} (USD)") for s in symbols],
                                 n("lowest health factor"), c("of sub-account"), n("liquidations"),
                                 Column("actions", wrap=True)], step_rows),
        Table("states", "Sub-accounts after each step",
              [n("step"), c("sub-account"), c("owner"), c("margin"), *[n(s) for s in symbols], n("health factor"),
               n("collateral (USD)"), n("debt (USD)"), n("equity (USD)")], state_rows,
              "Balances in tokens (negative: debt). Health factor ∞: no debt."),
        Table("liquidation-table", "Liquidations",
              [n("step"), c("liquidator"), c("sub-account"), c("debt asset"), n("debt repaid"), c("collateral"),
               n("collateral seized"), n("to liquidator"), n("protocol cut"), n("repaid (USD)"), n("seized (USD)"),
               n("HF before"), n("HF after")], liq_rows, "" if liq_rows else "None."),
        Table("bad-debt-table", "Bad debt", [n("step"), c("sub-account"), c("asset"), n("debt written off"),
                                             n("covered by reserves"), n("socialised to depositors"), n("value (USD)")],
              bad_rows, "" if bad_rows else "None."),
        Table("owners", "Owners at the end", [c("owner"), n("liquidations"), n("collateral seized (USD)"),
                                              n("bad debt (USD)"), n("end equity (USD)"), n("max leverage"),
                                              n("lowest HF")], owner_rows),
        Table("markets", "Markets at the end", [c("asset"), n("deposits"), n("borrows"), n("utilisation %"),
                                                n("borrow APR %"), n("supply APR %"), n("reserves")], market_rows),
        Table("parameters", "Market parameters", [c("asset"), n("decimals"), n("feed decimals"), n("initial price"),
                                                  n("asset weight init"), n("asset weight maint"),
                                                  n("liability weight init"), n("liability weight maint"),
                                                  n("liquidation bonus"), n("protocol share"), n("reserve factor"),
                                                  c("token")], param_rows),
        Table("expectations", "Expectations", [c("result"), n("line"), Column("check", wrap=True),
                                               Column("actual", wrap=True)], expect_rows,
              "" if expect_rows else "None apply to this run."),
    ]


def timeline_page(t: Timeline) -> Page:
    passed = sum(1 for e in t.expectations if e.passed)
    failed = sum(1 for e in t.expectations if e.failed)
    records = t.records
    page = Page(f"Replay: {t.scenario} ({t.mode})",
                f"seed {t.seed}; status {t.status}" + (f" — {t.error}" if t.error else "")
                + ("; " + ", ".join(f"{k}: {v}" for k, v in t.provenance.items()) if t.provenance else ""))
    page.cards = [("status", t.status, "ok" if t.status == "complete" else "bad"),
                  ("steps", str(len(t.steps)), ""),
                  ("simulated time", duration(records[-1].time) if records else "0", ""),
                  ("sub-accounts", str(len(t.sub_accounts)), ""),
                  ("liquidations", str(len(t.liquidations)), "bad" if t.liquidations else ""),
                  ("bad debt (USD)", usd(total_bad_debt(t)), "bad" if t.bad_debts else ""),
                  ("expectations", f"{passed} passed, {failed} failed", "bad" if failed else "ok")]
    page.charts = charts(t) if records else []
    page.tables = tables(t)
    page.links = [("report.md", "report.md"), ("timeline.json", "timeline.json"), ("timeline.csv", "timeline.csv")]
    return page


def write_timeline_html(t: Timeline, folder: Path) -> Path:
    return write_page(timeline_page(t), folder / "report.html")
