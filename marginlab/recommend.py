"""``marginlab recommend FILE --vary PATH=LOW..HIGH --budget "var95 <= 10000"``: the most capital-efficient
setting of one parameter within a risk budget, and the frontier it lies on.

Each setting tried is a small sweep: the scenario with the parameter set (``--set``'s dotted path) replayed over
``--seeds`` price paths — the same seeds for every setting, so settings are compared on the same paths — on the
local process pool or on Dask, exactly as ``marginlab sweep`` runs them. Its risk figures are the sweep's
(:mod:`marginlab.risk.tables`: var95, es99, lar95, bpu95) and its capital efficiency is the book's borrowing
power per USD of collateral (:func:`marginlab.risk.book.capital_efficiency`).

Search: ``--points`` evenly spaced settings over [LOW, HIGH]; then ``--refine`` rounds of bisection between the
most efficient setting within budget and the least efficient one beyond it that is more efficient still (the
boundary lies between them). Varying a maintenance weight moves its initial weight with it, keeping the gap the
file has (asset: init = maint − gap, at least 0; liability: init = maint + gap), so the order the validator
asks for holds. A setting the scenario's validation refuses (a weight × bonus above 1, say) is a row that says
why. The recommendation: the highest capital efficiency among settings within every budget (ties: the lowest
risk figure of the first budget). Exit code 0 with a recommendation, 1 when no setting is within budget.

Writes ``recommend.md`` (the frontier table), ``recommend.json`` and ``frontier.png``.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from marginlab.errors import ScenarioError, UsageError, quote
from marginlab.numbers import plain, quantize_places
from marginlab.risk.tables import METRICS, RiskRow, risk_row

#: settings are rounded to this many decimal places (a weight of 0.812345 is already finer than any governance)
PLACES = 6
_BUDGET = re.compile(r"^\s*([a-z0-9]+)\s*(<=|<)\s*([0-9_.eE+-]+)\s*$")


@dataclass(frozen=True)
class Budget:
    metric: str
    op: str
    limit: float

    def holds(self, value: float | None) -> bool:
        if value is None:
            return True  # nobody borrowed: no borrowing power used
        return value <= self.limit if self.op == "<=" else value < self.limit

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.limit:g}"


def parse_budget(text: str) -> Budget:
    m = _BUDGET.match(text)
    if m is None or m.group(1) not in METRICS:
        raise UsageError(f"--budget {quote(text)}: expected METRIC <= VALUE with METRIC one of {', '.join(METRICS)}")
    try:
        return Budget(m.group(1), m.group(2), float(m.group(3)))
    except ValueError:
        raise UsageError(f"--budget {quote(text)}: {quote(m.group(3))} is not a number") from None


def parse_vary(text: str) -> tuple[str, Decimal, Decimal]:
    if "=" not in text or ".." not in text.split("=", 1)[1]:
        raise UsageError(f"--vary {quote(text)}: expected PATH=LOW..HIGH, e.g. markets.0.asset_weight.maint=0.7..0.9")
    path, span = text.split("=", 1)
    low_text, high_text = span.split("..", 1)
    try:
        low, high = Decimal(low_text.strip()), Decimal(high_text.strip())
    except InvalidOperation:
        raise UsageError(f"--vary {quote(text)}: LOW and HIGH must be numbers") from None
    if not low < high:
        raise UsageError(f"--vary {quote(text)}: LOW must be below HIGH")
    return path.strip(), low, high


def _get(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def coupled(data: Any, path: str, value: Decimal) -> dict[str, Any]:
    """The parameters one setting writes: the varied one, and a maintenance weight's initial weight with it."""
    params: dict[str, Any] = {path: float(value)}
    for kind, sign in (("asset_weight", -1), ("liab_weight", 1)):
        if path.endswith(f"{kind}.maint"):
            sibling = path[: -len("maint")] + "init"
            init, maint = _get(data, sibling), _get(data, path)
            if isinstance(init, (int, float)) and isinstance(maint, (int, float)):
                gap = abs(Decimal(str(init)) - Decimal(str(maint)))
                params[sibling] = float(max(Decimal(0), value + sign * gap))
    return params


@dataclass
class Setting:
    value: Decimal
    params: dict[str, Any]
    refused: str | None = None
    efficiency: float | None = None
    risk: RiskRow | None = None

    def within(self, budgets: list[Budget], upper: bool = False) -> bool:
        """Every budget holds for the point estimate (``upper``: for the bootstrap interval's upper end)."""
        if self.risk is None:
            return False
        risk = self.risk
        return all(b.holds(risk.figure(b.metric) if not upper else risk.upper(b.metric)) for b in budgets)

    def as_dict(self, budgets: list[Budget], upper: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"value": float(self.value), "params": self.params, "refused": self.refused,
                               "capital_efficiency": self.efficiency, "within_budget": self.within(budgets, upper)}
        if self.risk is not None:
            out.update({m: v for m, v in self.risk.as_dict().items() if m in METRICS})
            out["bad_debt_paths"] = self.risk.bad_debt_paths
        return out


class Search:
    """The settings tried so far, evaluated in batches (each batch one call to the sweep's executor)."""

    def __init__(self, file: Path, path: str, budgets: list[Budget], seeds: int, run: dict[str, Any],
                 conservative: bool = False) -> None:
        self.file = file
        self.text = file.read_text()
        self.data = yaml.safe_load(self.text)
        self.path = path
        self.budgets = budgets
        self.conservative = conservative  # a budget must hold for the bootstrap interval's upper end
        self.seeds = seeds
        self.run = run  # workers, engine, scheduler, reads, protocol
        self.base_seed = int(self.data.get("seed", 0))
        self.settings: list[Setting] = []

    def evaluate(self, values: list[Decimal]) -> None:
        from marginlab.risk.book import capital_efficiency
        from marginlab.sweep import check_expressible, execute, plan_for

        fresh = []
        for value in values:
            value = quantize_places(value, PLACES)
            if any(s.value == value for s in self.settings):
                continue
            setting = Setting(value, coupled(self.data, self.path, value))
            try:
                check_expressible(self.file, self.run["protocol"], [setting.params])
                setting.efficiency = capital_efficiency(plan_for(self.file, setting.params))
            except ScenarioError as exc:
                setting.refused = "; ".join(f"{i.field}: {i.reason}" for i in exc.issues)
            self.settings.append(setting)
            if setting.refused is None:
                fresh.append(setting)
        tasks = [(self.text, self.base_seed + i, s.params, "anvil", "auto", self.run["reads"], self.run["protocol"],
                  str(self.file)) for s in fresh for i in range(self.seeds)]
        results = execute(tasks, self.run["workers"], self.run["engine"], self.run["scheduler"])
        for k, s in enumerate(fresh):
            s.risk = risk_row(results[k * self.seeds:(k + 1) * self.seeds], self.base_seed)

    def within(self, setting: Setting) -> bool:
        return setting.within(self.budgets, self.conservative)

    def best(self) -> Setting | None:
        ok = [s for s in self.settings if self.within(s) and s.efficiency is not None]
        metric = self.budgets[0].metric

        def rank(s: Setting) -> tuple[float, float]:
            risk = s.risk.figure(metric) if s.risk is not None else None
            return (s.efficiency or 0.0, -(risk or 0.0))

        return max(ok, key=rank) if ok else None

    def next_bisection(self) -> Decimal | None:
        """The midpoint between the best setting and the closest more efficient one beyond budget."""
        best = self.best()
        if best is None or best.efficiency is None:
            return None
        beyond = [s for s in self.settings if s.risk is not None and not self.within(s)
                  and s.efficiency is not None and s.efficiency > best.efficiency]
        if not beyond:
            return None
        edge = min(beyond, key=lambda s: s.efficiency or 0.0)
        mid = quantize_places((best.value + edge.value) / 2, PLACES)
        return None if mid in (best.value, edge.value) else mid


def search(file: Path, vary: str, budgets: list[str], *, points: int = 5, refine: int = 2, seeds: int = 20,
           workers: int = 1, engine: str = "local", scheduler: str | None = None, reads: str = "chain",
           protocol: str = "marginlab", conservative: bool = False) -> Search:
    path, low, high = parse_vary(vary)
    parsed = [parse_budget(b) for b in budgets]
    if points < 2 or seeds < 1:
        raise UsageError("--points needs at least 2 and --seeds at least 1")
    s = Search(Path(file), path, parsed, seeds, {"workers": workers, "engine": engine, "scheduler": scheduler,
                                                 "reads": reads, "protocol": protocol}, conservative)
    if not isinstance(_get(s.data, path), (int, float)):
        raise UsageError(f"--vary {path}: {file} has no number there (use sweep --set's dotted path, e.g. "
                         f"markets.0.asset_weight.maint)")
    s.evaluate([low + (high - low) * k / (points - 1) for k in range(points)])
    for _ in range(refine):
        mid = s.next_bisection()
        if mid is None:
            break
        s.evaluate([mid])
    return s


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if metric == "bpu95" else f"{value:,.2f}"


def render(s: Search, title: str, elapsed: float) -> str:
    best = s.best()
    lines = [f"# Recommend: {title} — {s.path}", "",
             f"{len(s.settings)} settings, {s.seeds} price paths each (seeds {s.base_seed}…"
             f"{s.base_seed + s.seeds - 1}, "
             f"the same for every setting), engine {s.run['engine']}, {s.run['workers']} worker(s), {elapsed:.1f} s. "
             f"Budget: {' and '.join(map(str, s.budgets))}"
             + (" (held by the bootstrap interval's upper end)" if s.conservative else "") + ".", ""]
    if best is None:
        lines += ["**No setting tried is within the budget.**", ""]
    else:
        shown = ", ".join(f"{k} = {plain(Decimal(repr(v)))}" for k, v in best.params.items())
        lines += [f"**Recommended: {shown}** — capital efficiency {best.efficiency:.4f} (borrowing power per USD of "
                  f"collateral); " + ", ".join(f"{b.metric} {_fmt(best.risk.figure(b.metric), b.metric)}"
                                               for b in s.budgets if best.risk is not None) + ".", ""]
    lines += ["| setting | params written | capital efficiency | VaR95 bad debt (USD, 95 % CI) | ES99 (USD) | "
              "LaR95 (USD) | borrowing power used p95 | within budget |", "|---:|---|---:|---:|---:|---:|---:|---|"]
    for st in sorted(s.settings, key=lambda x: x.value):
        written = ", ".join(f"{k.rsplit('.', 2)[-2]}.{k.rsplit('.', 1)[-1]} {plain(Decimal(repr(v)))}"
                            for k, v in st.params.items())
        if st.refused is not None:
            lines.append(f"| {plain(st.value)} | {written} | – | refused: {st.refused} | | | | no |")
            continue
        r = st.risk
        assert r is not None and st.efficiency is not None
        bpu = f"{r.bpu95.value:.3f}" if r.bpu95 is not None else "–"
        mark = "**yes (recommended)**" if st is best else ("yes" if s.within(st) else "no")
        lines.append(f"| {plain(st.value)} | {written} | {st.efficiency:.4f} | {r.var95.value:,.2f} "
                     f"({r.var95.low:,.2f} – {r.var95.high:,.2f}) | {r.es99.value:,.2f} | {r.lar95.value:,.2f} | "
                     f"{bpu} | {mark} |")
    lines += ["", "![frontier: capital efficiency against risk](frontier.png)", ""]
    return "\n".join(lines)


def main_recommend(file: Path, vary: str, budgets: list[str], out: Path, **options: Any) -> int:
    from marginlab.risk.charts import chart_frontier

    t0 = time.perf_counter()
    s = search(file, vary, budgets, **options)
    elapsed = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    points = [st.as_dict(s.budgets, s.conservative) for st in s.settings]
    best = s.best()
    chosen = best.as_dict(s.budgets, s.conservative) if best is not None else None
    (out / "recommend.json").write_text(json.dumps({"vary": s.path, "budgets": [str(b) for b in s.budgets],
                                                    "seeds": s.seeds, "settings": points, "recommended": chosen},
                                                   indent=2) + "\n")
    evaluated = [p for p in points if p["refused"] is None]
    first = s.budgets[0]
    chart_frontier(evaluated, first.metric, first.limit, chosen, s.path, out / "frontier.png")
    report = out / "recommend.md"
    report.write_text(render(s, Path(file).stem, elapsed))
    if best is None:
        print(f"no setting of {s.path} in the range is within {' and '.join(map(str, s.budgets))} → {report}")
        return 1
    shown = ", ".join(f"{k} = {plain(Decimal(repr(v)))}" for k, v in best.params.items())
    print(f"recommended {shown} (capital efficiency {best.efficiency:.4f}); {len(s.settings)} settings, "
          f"{elapsed:.1f} s → {report}")
    return 0
