"""Each ``make bench`` case: replay throughput, actions, mining modes, cascades, sweep speed-up."""
from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from marginlab.bench.config import (
    ACTION_BOOK,
    ACTION_STEPS,
    CHAIN_READ_STEPS,
    FRICTION_N,
    MINING_N,
    NAIVE_CALLS,
    REDUCED_REPS,
    REPS,
    STEPS,
    SWEEP_CHAINS,
    SWEEP_SCENARIO,
    SWEEP_WORKERS,
    Log,
)
from marginlab.bench.workloads import Session, cascade_text, friction_texts, generated_book
from marginlab.timeline import timeline_json


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _reps(chain_name: str, case: str) -> int:
    return REDUCED_REPS.get((chain_name, case), REPS)


def _per_step(runs: list[dict[str, float]], key: str) -> float:
    return _median([r[key] / r["steps"] for r in runs])


def bench_replay(chain_name: str, n: int, log: Log, mining: str = "auto", naive: bool = True,
                 reads: str = "mirror", case: str | None = None) -> dict[str, Any]:
    reps = _reps(chain_name, case or f"replay-{n}-{reads}")
    steps = CHAIN_READ_STEPS.get(chain_name, STEPS) if reads == "chain" else STEPS
    naive_steps = max(1, min(5, NAIVE_CALLS // n))
    runs, naives, setups = [], [], []
    accounts = 0
    for rep in range(reps):
        log(f"  {chain_name} N={n} {mining} reads={reads} rep {rep + 1}/{reps}: set-up…")
        session = Session(chain_name, generated_book(n, steps), mining, reads)
        try:
            accounts = len(session.replay.sub_accounts)
            setups.append((session.setup_s, session.setup_rpcs))
            runs.append(session.run_steps())
            if naive:
                naives.append(session.run_naive(naive_steps))
        finally:
            session.close()
        log(f"  {chain_name} N={n} {mining} reads={reads} rep {rep + 1}/{reps}: set-up {setups[-1][0]:.1f} s, "
            f"{runs[-1]['seconds']:.2f} s for {steps} steps"
            + (f" (naive {naives[-1]['seconds']:.2f} s for {naive_steps})" if naive else ""))
    if any(r["liquidations"] for r in runs):
        raise RuntimeError("the generated book was meant to stay healthy, but the keeper liquidated")
    per_step = _per_step(runs, "seconds")
    result: dict[str, Any] = {
        "chain": chain_name, "mining": mining, "reads": reads, "accounts": n, "sub_accounts_read": accounts,
        "steps": steps,
        "repetitions": reps, "account_steps_per_s": n / per_step, "seconds_per_step": per_step,
        "rpcs_per_step": _per_step(runs, "rpcs"), "http_per_step": _per_step(runs, "http"),
        "blocks_per_step": _per_step(runs, "blocks"),
        "setup_seconds": _median([s for s, _ in setups]), "setup_rpcs": _median([float(r) for _, r in setups]),
    }
    if naive:
        naive_per_step = _per_step(naives, "seconds")
        result["baseline_naive"] = {"account_steps_per_s": n / naive_per_step, "seconds_per_step": naive_per_step,
                                    "rpcs_per_step": _per_step(naives, "rpcs"), "steps": naive_steps}
        result["ratio_to_baseline"] = result["account_steps_per_s"] / result["baseline_naive"]["account_steps_per_s"]
    return result


def bench_actions(chain_name: str, log: Log) -> list[dict[str, Any]]:
    """The action-heavy book under both mining modes, alternating per repetition; baseline auto."""
    n, steps, actors = ACTION_BOOK
    steps = ACTION_STEPS.get(chain_name, steps)
    text = generated_book(n, steps, actors)
    runs: dict[str, list[dict[str, float]]] = {"auto": [], "per-step": []}
    timelines: dict[str, str] = {}
    reps = _reps(chain_name, "actions")
    for rep in range(reps):
        for mining in runs:
            session = Session(chain_name, text, mining)
            try:
                runs[mining].append(session.run_steps())
                if rep == 0:
                    timelines[mining] = timeline_json(session.replay.timeline)
            finally:
                session.close()
            log(f"  {chain_name} actions {mining} rep {rep + 1}/{reps}: {runs[mining][-1]['seconds']:.2f} s for "
                f"{steps} steps, {runs[mining][-1]['blocks']} blocks")
    out = []
    for mining, rs in runs.items():
        per_step = _per_step(rs, "seconds")
        out.append({"chain": chain_name, "workload": f"{actors} borrows/step, N={n}", "mining": mining,
                    "accounts": n, "steps": steps, "repetitions": reps, "seconds_per_step": per_step,
                    "transactions_per_s": (actors + 1) / per_step, "rpcs_per_step": _per_step(rs, "rpcs"),
                    "http_per_step": _per_step(rs, "http"), "blocks_per_step": _per_step(rs, "blocks"),
                    "timeline_identical_to_auto": timelines[mining] == timelines["auto"]})
    return out


def bench_mining(chain_name: str, auto_row: dict[str, Any] | None, log: Log) -> list[dict[str, Any]]:
    """Per-step against auto mining: the throughput book at MINING_N (auto from the replay part when it ran)
    and the action-heavy book. ``ratio_to_baseline`` = auto s/step / this mode's s/step (> 1: faster)."""
    rows = []
    auto = auto_row or bench_replay(chain_name, MINING_N, log, "auto", naive=False)
    per_step = bench_replay(chain_name, MINING_N, log, "per-step", naive=False, case="mining")
    for r in (auto, per_step):
        rows.append({"chain": chain_name, "workload": f"throughput book, N={MINING_N}", "mining": r["mining"],
                     "accounts": MINING_N, "steps": r["steps"], "repetitions": r["repetitions"],
                     "seconds_per_step": r["seconds_per_step"], "account_steps_per_s": r["account_steps_per_s"],
                     "rpcs_per_step": r["rpcs_per_step"], "http_per_step": r["http_per_step"],
                     "blocks_per_step": r["blocks_per_step"]})
    rows += bench_actions(chain_name, log)
    for row in rows:
        base = next(r for r in rows if r["workload"] == row["workload"] and r["mining"] == "auto")
        row["ratio_to_baseline"] = base["seconds_per_step"] / row["seconds_per_step"]
        row["baseline"] = f"auto mining, same workload, {chain_name}"
    return rows


def bench_cascade(chain_name: str, n: int, log: Log) -> dict[str, Any]:
    walls, loops, liqs, rpcs, http = [], [], [], [], []
    reps = _reps(chain_name, f"cascade-{n}")
    for rep in range(reps):
        log(f"  {chain_name} cascade-{n} rep {rep + 1}/{reps}: set-up…")
        t0 = time.perf_counter()
        session = Session(chain_name, cascade_text(n), reads="mirror")
        try:
            run = session.run_steps()
        finally:
            session.close()
        walls.append(time.perf_counter() - t0)
        loops.append(run["seconds"])
        liqs.append(run["liquidations"])
        rpcs.append(run["rpcs"] / run["steps"])
        http.append(run["http"] / run["steps"])
        log(f"  {chain_name} cascade-{n} rep {rep + 1}/{reps}: {walls[-1]:.2f} s wall, {run['liquidations']} "
            f"liquidations in {run['seconds']:.2f} s")
    if len(set(liqs)) != 1:
        raise RuntimeError(f"cascade-{n} is not deterministic: liquidation counts {liqs}")
    loop = _median(loops)
    return {"chain": chain_name, "accounts": n, "repetitions": reps, "wall_seconds": _median(walls),
            "step_loop_seconds": loop, "liquidations": liqs[0], "liquidations_per_s": liqs[0] / loop,
            "rpcs_per_step": _median(rpcs), "http_per_step": _median(http)}


def bench_friction(chain_name: str, log: Log) -> dict[str, Any]:
    """The cost of friction per step at N = FRICTION_N: the friction file and its frictionless twin, the same
    clock and path, each on a fresh chain (chain reads: the mirror does not know the keepers' own sub-accounts)."""
    n = FRICTION_N
    out: dict[str, Any] = {"chain": chain_name, "accounts": n}
    texts = dict(zip(("friction", "frictionless"), friction_texts(n), strict=True))
    for name, text in texts.items():
        log(f"  {chain_name} {name}-{n}: set-up…")
        session = Session(chain_name, text, reads="chain")
        try:
            run = session.run_steps()
        finally:
            session.close()
        steps = run["steps"]
        out[name] = {"seconds_per_step": run["seconds"] / steps, "rpcs_per_step": run["rpcs"] / steps,
                     "blocks_per_step": run["blocks"] / steps, "liquidations": run["liquidations"],
                     "setup_seconds": session.setup_s}
        log(f"  {chain_name} {name}-{n}: {run['seconds'] / steps:.2f} s/step, {run['rpcs'] / steps:.0f} RPCs/step, "
            f"{run['blocks'] / steps:.0f} blocks/step, {run['liquidations']} liquidations")
    f, p = out["friction"], out["frictionless"]
    out["cost"] = {k: f[k] / p[k] if p[k] else None for k in ("seconds_per_step", "rpcs_per_step", "blocks_per_step")}
    return out


def _children_rss_kb(pid: int) -> dict[int, int]:
    """VmRSS (kB) of every direct child process of ``pid`` (Linux /proc; empty elsewhere)."""
    out: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(pid) and "VmRSS" in fields:
            out[int(entry.name)] = int(fields["VmRSS"].split()[0])
    return out


class _PeakRss:
    """The largest resident set any direct child (a pool worker) reached while the block ran, sampled every
    0.5 s: the memory one sweep worker needs. Nodes the workers start are their children, not counted."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.5):
            self.peak_kb = max([self.peak_kb, *_children_rss_kb(me).values()])

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_sweep(log: Log, chain: str = "anvil") -> list[dict[str, Any]]:
    """``marginlab sweep`` of SWEEP_SCENARIO over SWEEP_CHAINS[chain] seeds, local pool, 1 and 2 workers,
    alternating; with the peak RSS of one pool worker."""
    from marginlab.sweep import run_sweep

    seeds = SWEEP_CHAINS[chain]
    walls: dict[int, list[float]] = {w: [] for w in SWEEP_WORKERS}
    results: dict[int, Any] = {}
    peak_kb = 0
    for rep in range(REPS):
        for workers in SWEEP_WORKERS:
            t0 = time.perf_counter()
            with _PeakRss() as rss:
                results[workers] = run_sweep(SWEEP_SCENARIO, seeds, {}, workers=workers, engine="local",
                                             backend=chain)
            walls[workers].append(time.perf_counter() - t0)
            peak_kb = max(peak_kb, rss.peak_kb)
            log(f"  sweep on {chain}, {seeds} seeds, {workers} worker(s), rep {rep + 1}/{REPS}: "
                f"{walls[workers][-1]:.1f} s")
    base = _median(walls[SWEEP_WORKERS[0]])
    return [{"scenario": SWEEP_SCENARIO.name, "chain": chain, "engine": "local", "seeds": seeds,
             "workers": w, "repetitions": REPS, "wall_seconds": _median(walls[w]),
             "replays_per_s": seeds / _median(walls[w]), "speed_up": base / _median(walls[w]),
             "same_results_as_1_worker": results[w] == results[SWEEP_WORKERS[0]],
             "worker_peak_rss_mb": peak_kb / 1024 if w > 1 and peak_kb else None,
             "baseline": f"{SWEEP_WORKERS[0]} worker"} for w in SWEEP_WORKERS]
