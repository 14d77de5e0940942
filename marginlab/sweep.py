"""``marginlab sweep FILE --seeds N [--set path=v1,v2] [--workers K] [--engine local|dask]``.

Monte Carlo: the same scenario replayed once per (seed, parameter combination), each independent of all others:
each worker deploys and sets up once per parameter set, on revm in its own process or on its own Anvil node, and
replays every seed from a snapshot of that set-up (:class:`SetUpOnce`; Ganache, and Anvil under Dask, start a
node per replay).
Per replay five numbers are kept: liquidation count, bad debt (USD, wad), the worst healthFactor any borrowing
sub-account reached, the USD liquidators seized and the peak borrowing power used
(:func:`marginlab.risk.book.path_figures`); the report shows their distributions (PNG histograms) and, per
parameter set, the risk tables of :mod:`marginlab.risk.tables` — VaR95 and ES99 of bad debt, liquidations-at-risk,
borrowing power used, each with a seeded bootstrap interval, and the book's collateral-at-risk curve.

Engines: ``local`` (a process pool on this machine) or ``dask`` (Dask distributed: ``--scheduler ADDRESS`` for an
existing cluster, otherwise a LocalCluster with K worker processes). Dask because it is pure Python and pip
installable (no separate runtime like Ray's), runs the same function on a laptop's LocalCluster and on a
cluster's scheduler, and ships results back as plain Python objects.
Results are sorted by (combination, seed), so every engine and worker count gives the same report.
"""
from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from marginlab.errors import quote
from marginlab.progress import Progress
from marginlab.report.html_sweep import write_sweep_html

if TYPE_CHECKING:
    from marginlab.scenario.plan import Plan
    from marginlab.sim.engine import Replay
    from marginlab.timeline import Timeline


def parse_sets(items: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set {quote(item)}: expected path=v1,v2")
        path, values = item.split("=", 1)
        out[path.strip()] = [yaml.safe_load(v) for v in values.split(",")]
    return out


def _apply(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = data
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def combos(sets: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = sorted(sets)
    return [dict(zip(keys, values, strict=False)) for values in itertools.product(*(sets[k] for k in keys))] or [{}]


#: Chains a worker may keep set up between replays: revm always; Anvil on the local pool (``reuse``), whose
#: workers stop their node when they exit (a Dask worker can be killed without running its finalizers).
SET_UP_ONCE = {"revm": True, "anvil": False}


def run_one(text: str, seed: int, params: dict[str, Any], backend: str = "anvil",
            mining: str = "auto", reads: str = "chain", protocol: str = "marginlab", file: str = "",
            reuse: bool = False) -> dict[str, Any]:
    """One replay; returns its figures. Runs in a worker process. ``file``: the scenario's path, so files it names
    (CSV paths, books) resolve beside it.

    Ganache gets a fresh node per replay. On revm — and on Anvil with ``reuse`` (the local pool) — the worker
    keeps the chain it deployed and set up for this scenario and parameter set, snapshotted, and replays every
    seed's steps from that snapshot (:class:`SetUpOnce`): the same figures, without deploying and setting up
    again for every path."""
    from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
    from marginlab.protocols.registry import factory, load_protocol
    from marginlab.scenario.plan import build_plan
    from marginlab.scenario.validate import parse_scenario_text
    from marginlab.sim.engine import Replay, ReplayOptions

    data = yaml.safe_load(text)
    data["seed"] = seed
    for path, value in params.items():
        _apply(data, path, value)
    scenario, doc = parse_scenario_text(yaml.safe_dump(data, sort_keys=False), file or f"sweep-seed-{seed}")
    plan = build_plan(scenario, doc)
    if backend in SET_UP_ONCE and (SET_UP_ONCE[backend] or reuse):
        timeline = SetUpOnce.replay_plan(plan, data, backend, mining, reads, protocol)
    else:
        cls = load_protocol(protocol)
        artifacts = Artifacts()
        chain = Chain.open(ChainOptions(backend=backend, mining=mining),  # type: ignore[arg-type]
                           RevertDecoder(artifacts.all_abis() + cls.extra_abis()))
        try:
            timeline = Replay(plan, chain, artifacts, options=ReplayOptions(reads=reads),  # type: ignore[arg-type]
                              protocol=factory(cls)).run()
        finally:
            chain.close()
    return figures(seed, params, timeline)


def figures(seed: int, params: dict[str, Any], timeline: Timeline) -> dict[str, Any]:
    """What a sweep keeps of one replay."""
    from marginlab.risk.book import path_figures

    worst: int | None = None
    for record in timeline.records:
        for st in record.accounts.values():
            if st.health_factor is not None and st.debt_value > 0:
                worst = st.health_factor if worst is None else min(worst, st.health_factor)
    out = {"seed": seed, "params": params, "liquidations": len(timeline.liquidations),
           "bad_debt": sum(b.value for b in timeline.bad_debts if not b.in_absorb)
           + sum(max(x.repaid_value - x.seized_value, 0) for x in timeline.liquidations if x.absorbed is not None),
           "worst_health_factor": worst,
           **path_figures(timeline)}
    if timeline.keepers is not None or any(r.oracle_prices for r in timeline.steps):
        from marginlab.report.friction import summary

        s = summary(timeline)  # friction (issue 17): the cascade metrics, in WAD USD like bad_debt
        out.update(cascade_depth=s.cascade_depth, skipped=s.skipped, uncovered_debt=int(s.shortfall * 10**18))
    return out


class SetUpOnce:
    """A worker's chain (revm; Anvil on the local pool) deployed and set up once per set-up, and rolled back to
    it (``evm_snapshot``/``evm_revert``) for every replay.

    The set-up (deploy, keeper, wallets, the book) depends on the scenario and its parameters, not on the seed —
    unless the seed resamples the book, which the key below sees: it is the scenario without its seed plus the
    planned set-up (markets, prices, lenders, accounts). The replay object after set-up is copied for each seed
    with the seed's plan in place of the first one (the chain, its signers and the build are shared, not copied),
    the chain is reverted to its snapshot, and every signer's nonce and the chain's counters go back with it.
    """

    #: set-ups kept per worker (each holds an EVM, or an Anvil node, with the protocol deployed)
    KEEP = 2
    _kept: dict[str, SetUpOnce] = {}

    def __init__(self, plan: Plan, backend: str, mining: str, reads: str, protocol: str) -> None:
        from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
        from marginlab.protocols.registry import factory, load_protocol
        from marginlab.sim.engine import Replay, ReplayOptions

        cls = load_protocol(protocol)
        self.artifacts = Artifacts()
        self.chain = Chain.open(ChainOptions(backend=backend, mining=mining),  # type: ignore[arg-type]
                                RevertDecoder(self.artifacts.all_abis() + cls.extra_abis()))
        if self.chain.node is not None:
            # a pool worker exits through multiprocessing's exit function, which runs this (atexit does not run)
            from multiprocessing.util import Finalize
            Finalize(self, self.chain.close, exitpriority=10)
        self.plan = plan
        self.replay: Replay = Replay(plan, self.chain, self.artifacts,
                                     options=ReplayOptions(reads=reads),  # type: ignore[arg-type]
                                     protocol=factory(cls))
        self.chain.step = None
        self.replay.deploy()
        self.replay.setup()
        self.chain.flush()
        self.snapshot = self.chain.transport.raw("evm_snapshot", [])
        self.handles = _contract_handles(self.replay)
        self.nonces = {key: s.nonce for key, s in self.chain._signers._signers.items()}
        self.counters = (self.chain.last_block, self.chain.tx_count)

    @classmethod
    def replay_plan(cls, plan: Plan, data: dict[str, Any], backend: str, mining: str, reads: str,
                    protocol: str) -> Timeline:
        import dataclasses

        unseeded = {k: v for k, v in data.items() if k != "seed"}
        set_up = dataclasses.replace(plan, seed=0, steps=(), expect=(), expect_lines=(), legs=None)
        key = json.dumps([unseeded, repr(set_up), backend, mining, reads, protocol], sort_keys=True, default=str)
        kept = cls._kept.get(key)
        if kept is None:
            while len(cls._kept) >= cls.KEEP:
                cls._kept.pop(next(iter(cls._kept))).chain.close()
            kept = cls._kept[key] = SetUpOnce(plan, backend, mining, reads, protocol)
        return kept.run(plan)

    @classmethod
    def release(cls) -> None:
        """Close every kept set-up of this process (its nodes stop)."""
        while cls._kept:
            cls._kept.pop(next(iter(cls._kept))).chain.close()

    def run(self, plan: Plan) -> Timeline:
        """Every step of ``plan`` from the set-up, then back to the set-up."""
        import copy
        import random

        chain = self.chain
        shared: dict[int, Any] = {id(chain): chain, id(chain.w3): chain.w3, id(self.artifacts): self.artifacts,
                                  id(chain.decoder): chain.decoder, id(self.plan): plan,
                                  id(self.replay.rng): random.Random(plan.seed)}
        shared.update({id(s): s for s in chain._signers._signers.values()})
        shared.update(self.handles)
        run = copy.deepcopy(self.replay, shared)
        run.timeline.seed = plan.seed
        run._last_index = plan.steps[-1].index if plan.steps else -1
        try:
            total = len(plan.steps)
            for n, step in enumerate(plan.steps, start=1):
                run.step(step)
                if run.progress is not None:
                    run.progress(n, total)
            run.timeline.status = "complete"
            return run.timeline
        finally:
            self._back_to_set_up()

    def _back_to_set_up(self) -> None:
        chain = self.chain
        chain.flush()
        if not chain.transport.raw("evm_revert", [self.snapshot]):
            raise RuntimeError("the revm chain lost the set-up snapshot")
        self.snapshot = chain.transport.raw("evm_snapshot", [])
        signers = chain._signers._signers
        for key in [k for k in signers if k not in self.nonces]:
            del signers[key]  # made during the replay: made again from the chain's nonce when needed
        for key, nonce in self.nonces.items():
            signers[key].nonce = nonce
        chain.last_block, chain.tx_count = self.counters
        chain.step = None


def _contract_handles(root: Any) -> dict[int, Any]:
    """Every web3 contract object reachable from ``root``, by id: handles to the chain, shared by the copies of a
    set-up rather than copied (web3's contract objects cannot be deep-copied)."""
    from web3.contract import Contract

    found: dict[int, Any] = {}
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None), type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, Contract):
            found[id(obj)] = obj
        elif isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo.extend(obj)
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("marginlab"):
            todo.extend(vars(obj).values())
        elif hasattr(type(obj), "__slots__") and type(obj).__module__.startswith("marginlab"):
            todo.extend(getattr(obj, a) for a in type(obj).__slots__ if hasattr(obj, a))
    return found


def run_sweep(file: Path, seeds: int, sets: dict[str, list[Any]], workers: int = 1, engine: str = "local",
              scheduler: str | None = None, backend: str = "anvil", mining: str = "auto",
              reads: str = "chain", protocol: str = "marginlab",
              progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Every replay's figures, sorted by (parameters, seed); ``progress(done, total)`` after each replay ends."""
    text = Path(file).read_text()
    base_seed = int(yaml.safe_load(text).get("seed", 0))
    check_expressible(file, protocol, combos(sets))
    reuse = engine == "local"  # pool workers stop their kept nodes on exit; Dask workers may not
    tasks = [(text, base_seed + i, c, backend, mining, reads, protocol, str(file), reuse) for c in combos(sets)
             for i in range(seeds)]
    try:
        results = execute(tasks, workers, engine, scheduler, progress)
    finally:
        if workers <= 1 and engine == "local":
            SetUpOnce.release()  # the replays ran in this process: stop what they kept
    return sorted(results, key=lambda r: (json.dumps(r["params"], sort_keys=True), r["seed"]))


def execute(tasks: list[tuple[Any, ...]], workers: int = 1, engine: str = "local",
            scheduler: str | None = None,
            progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """:func:`run_one` over ``tasks`` (its arguments) on the local process pool or on Dask; results in task order.

    ``progress(done, total)`` is called as each replay ends, in the order they end.
    """
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    done = 0

    def finished(i: int, result: dict[str, Any]) -> None:
        nonlocal done
        results[i] = result
        done += 1
        if progress is not None:
            progress(done, len(tasks))

    if engine == "dask":
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(scheduler or cluster)
        try:
            futures = [client.submit(run_one, *t, pure=False) for t in tasks]
            index = {f.key: i for i, f in enumerate(futures)}
            for future in dask_completed(futures):
                finished(index[future.key], future.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif workers <= 1:
        for i, t in enumerate(tasks):
            finished(i, run_one(*t))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending = {pool.submit(run_one, *t): i for i, t in enumerate(tasks)}
            for future in as_completed(pending):
                finished(pending[future], future.result())
    return [r for r in results if r is not None]


METRICS = (("liquidations", "liquidation count", 1), ("bad_debt", "bad debt (USD)", 10**18),
           ("worst_health_factor", "worst healthFactor", 10**18))
#: added to the tables when the scenario has friction (pools, oracle models, keepers: issue 17)
FRICTION_METRICS = (("cascade_depth", "cascade depth", 1), ("skipped", "liquidations skipped by keepers", 1),
                    ("uncovered_debt", "debt no collateral covers at the end (USD)", 10**18))


def write_report(results: list[dict[str, Any]], out: Path, title: str, elapsed: float, engine: str,
                 workers: int, file: Path | None = None) -> Path:
    """sweep.md (distributions and risk tables), sweep.json (every replay, the risk figures, collateral at risk)
    and PNGs beside them. ``file``: the scenario, to draw the collateral-at-risk curve from its book."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from marginlab.risk import charts, tables
    from marginlab.risk.book import DROPS, collateral_at_risk

    out.mkdir(parents=True, exist_ok=True)
    groups = tables.group_runs(results)
    rows: list[tables.RiskRow] = []
    curves: dict[str, dict[str, list[float]]] = {}
    body: list[str] = []
    for g, (key, runs) in enumerate(groups.items()):
        images: list[str] = []
        body += [f"## Parameters {key}", "", "| metric | min | median | mean | max |", "|---|---:|---:|---:|---:|"]
        friction = FRICTION_METRICS if any("cascade_depth" in r for r in runs) else ()
        for metric, label, scale in METRICS + friction:
            vals = [r[metric] / scale for r in runs if r.get(metric) is not None]
            if vals:
                body.append(f"| {label} | {min(vals):.4g} | {statistics.median(vals):.4g} | "
                            f"{statistics.fmean(vals):.4g} | {max(vals):.4g} |")
            else:
                body.append(f"| {label} | – | – | – | – |")
            png = f"hist-{g}-{metric}.png"
            fig, ax = plt.subplots(figsize=(5, 3))
            ax.hist(vals or [0], bins=min(20, max(1, len(set(vals)))))
            ax.set_title(f"{label} {key}", fontsize=8)
            ax.set_xlabel(label)
            ax.set_ylabel("replays")
            fig.tight_layout()
            fig.savefig(out / png, dpi=80)
            plt.close(fig)
            images.append(f"![{label}]({png})")
        row = tables.risk_row(runs, min(r["seed"] for r in runs))
        rows.append(row)
        body += tables.risk_lines(row)
        charts.chart_tails(tables.usd([r["bad_debt"] for r in runs]),
                           tables.usd([r.get("liquidated", 0) for r in runs]), row, f"{title} {key}",
                           out / f"risk-{g}.png")
        images.append(f"![tails: bad debt and liquidations](risk-{g}.png)")
        if file is not None:
            curves[key] = collateral_at_risk(plan_for(file, runs[0]["params"]))
            body += tables.car_lines(curves[key], DROPS)
            charts.chart_collateral_at_risk(curves[key], DROPS, f"collateral at risk {key}", out / f"car-{g}.png")
            images.append(f"![collateral at risk](car-{g}.png)")
        body += ["", *images, ""]
    summary = (f"{len(results)} replays ({len(groups)} parameter combination(s)), engine {engine}, {workers} "
               f"worker(s), {elapsed:.1f} s.")
    lines = [f"# Sweep: {title}", "", summary, ""]
    if len(groups) > 1:
        lines += tables.summary_lines(rows)
    tables.write_json(out / "sweep.json", results, rows, curves, DROPS)
    report = out / "sweep.md"
    report.write_text("\n".join(lines + body) + "\n")
    write_sweep_html(results, title, summary, out)
    return report


def plan_for(file: Path, params: dict[str, Any]) -> Plan:
    """The scenario with ``params`` applied (sweep --set's paths), planned as written."""
    from marginlab.scenario.plan import build_plan
    from marginlab.scenario.validate import load_scenario, parse_scenario_text

    if not params:
        return build_plan(*load_scenario(file))
    data = yaml.safe_load(Path(file).read_text())
    for path, value in params.items():
        _apply(data, path, value)
    return build_plan(*parse_scenario_text(yaml.safe_dump(data, sort_keys=False), str(file)))


def check_expressible(file: Path, protocol: str, combinations: list[dict[str, Any]]) -> None:
    """Before any chain work: every parameter combination must validate, and the protocol must express it."""
    from marginlab.errors import ScenarioError
    from marginlab.protocols.registry import load_protocol
    from marginlab.scenario.plan import build_plan
    from marginlab.scenario.validate import load_scenario, parse_scenario_text

    cls = load_protocol(protocol)
    scenario, doc = load_scenario(file)
    base = yaml.safe_load(Path(file).read_text())
    for params in combinations:
        data = json.loads(json.dumps(base))
        for path, value in params.items():
            _apply(data, path, value)
        if params:
            scenario, doc = parse_scenario_text(yaml.safe_dump(data, sort_keys=False), str(file))
        plan = build_plan(scenario, doc)
        mapping = cls.map_plan(plan)
        liquidation, keepers = cls.liquidation_refusal(plan), cls.keepers_refusal(plan)
        refusals = list(mapping.refusals) + [r for r in (liquidation, keepers) if r is not None]
        if refusals:
            raise ScenarioError(refusals)


def main_sweep(file: Path, seeds: int, set_args: list[str], workers: int, engine: str, out: Path,
               scheduler: str | None = None, mining: str = "auto", reads: str = "chain",
               protocol: str = "marginlab", backend: str = "anvil") -> int:
    t0 = time.perf_counter()
    bar = Progress(f"sweep {Path(file).stem}", sys.stderr, unit="replays")
    try:
        results = run_sweep(file, seeds, parse_sets(set_args), workers, engine, scheduler, backend=backend,
                            mining=mining, reads=reads, protocol=protocol, progress=bar)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    report = write_report(results, out, Path(file).stem, elapsed, engine, workers, Path(file))
    print(f"{len(results)} replays in {elapsed:.1f} s → {report}")
    return 0
