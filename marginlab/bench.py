"""``make bench``: replay throughput, mining modes, cascades and sweep speed-up on Ganache and Anvil, in one run.

Replay throughput: a generated book of N borrowers x S steps (prices move +-1 % a step, nobody becomes
liquidatable, keeper on), auto mining. Measured: the step loop only (deploy and set-up are reported separately),
as account-steps per second, seconds per step, JSON-RPC calls and HTTP round trips per step (counted by the
provider; a batch request is one round trip and one call per request in it) and blocks per step. Baseline, in
the same run on the same chain: the naive loop (the price transaction, then one ``accountState`` call per
account; fewer steps at large N, it is linear).

Reads: every replay row is measured with ``--reads mirror`` and with ``--reads chain`` (the vault's batch view
every keeper round); Ganache's chain-read rows run fewer steps, and skip N=2000 (CHAIN_READ_SKIP). Mining,
cascade and action rows use mirror reads.

Mining modes: the same throughput book at N=500, and an action-heavy book (every step, 50 accounts each send a
borrow), each under ``auto`` and ``per-step`` mining; baseline ``auto``. The per-step timeline must be
byte-identical to the auto one (checked on the first repetition).

Cascade: scenarios/cascade-50.yaml (50 borrowers, a 40 % crash in ten steps) and the same book with 1,000
borrowers: whole-replay wall time and liquidations per second of the step loop; its baseline is cascade-50.

Sweep: ``marginlab sweep`` of a small scenario over seeds on the local process pool with 1 and 2 workers (each
replay on its own Anvil node); speed-up = wall time with 1 worker / wall time with 2.

Every figure is the median of REPS repetitions, except where REDUCED_REPS says otherwise (the row says so).
``BENCH_QUICK=1`` runs fewer sizes, steps and repetitions (development only; the figures are not comparable).
``python -m marginlab.bench --parts replay,mining --chains anvil`` runs a subset (``make bench BENCH_ARGS=...``).
Progress goes to stderr; the table to stdout and, with the figures, to ``bench/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.sim.engine import Replay, ReplayOptions
from marginlab.scenario.plan import build_plan
from marginlab.timeline import timeline_json
from marginlab.scenario.validate import parse_scenario_text

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
CHAINS = ("ganache", "anvil")
PARTS = ("replay", "mining", "cascade", "sweep")
SIZES = (100, 500) if QUICK else (100, 500, 2000)
STEPS = 10 if QUICK else 50
NAIVE_CALLS = 1000  # the naive loop is slow and linear: steps = this / N (1..5) measure it well enough
REPS = 1 if QUICK else 3
# Where 3 repetitions do not fit the run's budget on a 2-core machine: (chain, case) → repetitions. Ganache
# executes ~1.5M gas/s here: setting up 2,000 accounts alone takes minutes, and its vault-view reads ~16 ms per
# sub-account and step.
REDUCED_REPS: dict[tuple[str, str], int] = {} if QUICK else {
    ("ganache", "replay-2000-mirror"): 1, ("ganache", "replay-500-chain"): 1, ("ganache", "cascade-1000"): 1,
    ("ganache", "mining"): 1, ("ganache", "actions"): 1}
READS = ("mirror", "chain")
# Steps of the chain-read rows on Ganache (its per-step cost is the one big read: linear, so fewer steps
# measure it), and the chain-read sizes it skips (2,000 sub-accounts: ~30 s a step, ~25 min a repetition).
CHAIN_READ_STEPS = {"ganache": 5 if QUICK else 10}
CHAIN_READ_SKIP = {("ganache", 2000)}
CASCADE_SIZES = (50, 1000)
MINING_N = 500
ACTION_BOOK = (200, 5 if QUICK else 20, 50)  # accounts, steps, borrowers acting in each step
ACTION_STEPS = {"ganache": 5}  # Ganache runs the 50 borrows of a step in ~15 s
SWEEP_SCENARIO = ROOT / "scenarios" / "hedged-book.yaml"
SWEEP_SEEDS = 4 if QUICK else 8
SWEEP_WORKERS = (1, 2)
RPC_TIMEOUT_S = 120.0  # one eth_call reads every sub-account: seconds on Ganache at N=2000

Log = Callable[[str], None]


def generated_book(n: int, steps: int, actors_per_step: int = 0) -> str:
    """N borrowers at a quarter of their borrowing power; prices wiggle +-1 %: nobody is ever liquidatable.
    With ``actors_per_step``, that many accounts (in turn) also borrow 1 USDC in each step."""
    lines = []
    for i in range(steps):
        move = f'prices: {{WETH: "{"+" if i % 2 else "-"}1%"}}'
        if actors_per_step:
            acts = ", ".join(f"{{account: bot-{(i * actors_per_step + k) % n:0{len(str(n - 1))}d}, "
                             f"borrow: {{USDC: 1}}}}" for k in range(actors_per_step))
            lines.append(f"  - {{{move}, actions: [{acts}]}}")
        else:
            lines.append(f"  - {{{move}}}")
    moves = "\n".join(lines)
    # A scenario group holds at most 1,000 accounts: bot (the first 1,000), then bot2, bot3, ...
    groups = "\n".join(f"  - name: bot{'' if g == 0 else g + 1}\n    count: {min(1000, n - 1000 * g)}\n"
                       f"    positions:\n      - {{deposit: {{WETH: 5}}, borrow: {{USDC: 2000}}}}"
                       for g in range((n + 999) // 1000))
    return f"""name: bench-{n}
seed: 1
markets:
  - {{symbol: WETH, decimals: 18, price: 2000, asset_weight: {{init: 0.80, maint: 0.85}},
     liab_weight: {{init: 1.0, maint: 1.0}}, liquidation_bonus: 0.05}}
  - {{symbol: USDC, decimals: 6, price: 1, asset_weight: {{init: 0.90, maint: 0.95}},
     liab_weight: {{init: 1.0, maint: 1.0}}, liquidation_bonus: 0.02}}
liquidity:
  - {{name: lp, deposits: {{USDC: {n * 10000}}}}}
accounts:
{groups}
steps:
{moves}
keeper: {{enabled: true}}
"""


def cascade_text(n: int) -> str:
    text = (ROOT / "scenarios" / "cascade-50.yaml").read_text()
    if n == 50:
        return text
    text = re.sub(r"count: 50\b", f"count: {n}", text)
    text = re.sub(r"USDC: 1000000\}", f"USDC: {n * 20000}}}", text)
    text = re.sub(r"name: cascade-50", f"name: cascade-{n}", text)
    return "\n".join(line for line in text.splitlines() if "account: bot-" not in line) + "\n"


class Session:
    """One fresh chain with a deployed and set-up replay, ready to step."""

    def __init__(self, chain_name: str, text: str, mining: str = "auto", reads: str = "mirror") -> None:
        scenario, doc = parse_scenario_text(text)
        self.plan = build_plan(scenario, doc)
        self.artifacts = Artifacts()
        options = ChainOptions(backend=chain_name, request_timeout=RPC_TIMEOUT_S, mining=mining)  # type: ignore
        self.chain = Chain.open(options, RevertDecoder(self.artifacts.all_abis()))
        try:
            self.replay = Replay(self.plan, self.chain, self.artifacts,
                                 options=ReplayOptions(reads=reads))  # type: ignore[arg-type]
            t0 = time.perf_counter()
            self.replay.deploy()
            self.replay.setup()
            self.setup_s = time.perf_counter() - t0
            self.setup_rpcs = self.rpcs()
        except BaseException:
            self.chain.close()
            raise

    def rpcs(self) -> int:
        return int(self.chain.w3.provider.total)  # type: ignore[attr-defined]

    def round_trips(self) -> int:
        return int(self.chain.w3.provider.round_trips)  # type: ignore[attr-defined]

    def block(self) -> int:
        return int(self.chain.rpc(lambda: self.chain.w3.eth.block_number))

    def close(self) -> None:
        self.chain.close()

    def run_steps(self) -> dict[str, float]:
        b0 = self.block()
        r0, h0, t0 = self.rpcs(), self.round_trips(), time.perf_counter()
        for step in self.plan.steps:
            self.replay.step(step)
        dt = time.perf_counter() - t0
        r1, h1 = self.rpcs(), self.round_trips()
        return {"seconds": dt, "steps": len(self.plan.steps), "rpcs": r1 - r0, "http": h1 - h0,
                "blocks": self.block() - b0, "liquidations": len(self.replay.timeline.liquidations)}

    def run_naive(self, steps: int) -> dict[str, float]:
        """The loop the engine replaced: one price transaction, then one view call per sub-account."""
        replay = self.replay
        vault = replay.protocol.vault  # type: ignore[attr-defined]
        owners = [replay.world.address(ref.owner) for ref in replay.sub_accounts]
        subs = [ref.sub_id for ref in replay.sub_accounts]
        r0, h0, t0 = self.rpcs(), self.round_trips(), time.perf_counter()
        for step in self.plan.steps[:steps]:
            for sym, price in step.prices.items():
                replay.oracle.prices[sym] = price
                replay.oracle.push(sym)
            replay.oracle.flush()
            for owner, sub in zip(owners, subs):
                self.chain.call(vault, "accountState", owner, sub)
        return {"seconds": time.perf_counter() - t0, "steps": steps, "rpcs": self.rpcs() - r0,
                "http": self.round_trips() - h0}


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


def bench_sweep(log: Log) -> list[dict[str, Any]]:
    """``marginlab sweep`` of SWEEP_SCENARIO over SWEEP_SEEDS seeds, local pool, 1 and 2 workers, alternating."""
    from marginlab.sweep import run_sweep

    walls: dict[int, list[float]] = {w: [] for w in SWEEP_WORKERS}
    results: dict[int, Any] = {}
    for rep in range(REPS):
        for workers in SWEEP_WORKERS:
            t0 = time.perf_counter()
            results[workers] = run_sweep(SWEEP_SCENARIO, SWEEP_SEEDS, {}, workers=workers, engine="local")
            walls[workers].append(time.perf_counter() - t0)
            log(f"  sweep {SWEEP_SEEDS} seeds, {workers} worker(s), rep {rep + 1}/{REPS}: {walls[workers][-1]:.1f} s")
    base = _median(walls[SWEEP_WORKERS[0]])
    return [{"scenario": SWEEP_SCENARIO.name, "chain": "anvil", "engine": "local", "seeds": SWEEP_SEEDS,
             "workers": w, "repetitions": REPS, "wall_seconds": _median(walls[w]),
             "replays_per_s": SWEEP_SEEDS / _median(walls[w]), "speed_up": base / _median(walls[w]),
             "same_results_as_1_worker": results[w] == results[SWEEP_WORKERS[0]],
             "baseline": f"{SWEEP_WORKERS[0]} worker"} for w in SWEEP_WORKERS]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("web3", "eth-brownie", "numpy"):
        try:
            from importlib.metadata import version
            out[name] = version(name)
        except Exception:
            pass
    for tool, flag in (("ganache", "--version"), ("anvil", "--version")):
        try:
            text = subprocess.run([tool, flag], capture_output=True, text=True, timeout=30).stdout.strip()
            out[tool] = text.splitlines()[0] if text else "?"
        except OSError:
            out[tool] = "not found"
    return out


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = -1.0
    return {"platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count(), "load_1min_at_start": load}


def _reps_note(row: dict[str, Any], reps: int) -> str:
    return f" ({row['repetitions']} rep{'s' if row['repetitions'] != 1 else ''})" if row["repetitions"] != reps else ""


def _replay_table(results: dict[str, Any]) -> list[str]:
    reps = results["repetitions"]
    lines = [f"Replay throughput (generated book, keeper on, nobody liquidatable, auto mining; medians of {reps} "
             "unless noted; reads: mirror = --reads mirror, chain = the vault's batch view every step)", "",
             "| chain | reads | N | steps | account-steps/s | s/step | RPC calls/step | HTTP/step | blocks/step | "
             "naive account-steps/s | naive RPC calls/step | × naive | set-up s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["replay"]:
        if "error" in r or "skipped" in r:
            lines.append(f"| {r['chain']} | {r.get('reads', '?')} | {r['accounts']} | | "
                         f"{'failed: ' + r['error'] if 'error' in r else 'not run: ' + r['skipped']} |")
            continue
        b = r["baseline_naive"]
        lines.append(f"| {r['chain']} | {r['reads']} | {r['accounts']}{_reps_note(r, reps)} | {r['steps']} | "
                     f"{r['account_steps_per_s']:,.0f} | "
                     f"{r['seconds_per_step']:.4f} | {r['rpcs_per_step']:.1f} | {r['http_per_step']:.1f} | "
                     f"{r['blocks_per_step']:.1f} | {b['account_steps_per_s']:,.0f} | {b['rpcs_per_step']:.1f} | "
                     f"{r['ratio_to_baseline']:.1f} | {r['setup_seconds']:.1f} |")
    lines += ["", "Per-step cost growth with N (s/step relative to the smallest N on the same chain)", ""]
    for chain in CHAINS:
        for reads in READS:
            rows = [r for r in results["replay"] if r["chain"] == chain and r.get("reads") == reads
                    and "error" not in r and "skipped" not in r]
            if rows:
                base = rows[0]["seconds_per_step"]
                lines.append(f"- {chain}, reads {reads}: " + ", ".join(
                    f"N={r['accounts']}: ×{r['seconds_per_step'] / base:.2f}" for r in rows))
    return lines


def _mining_table(results: dict[str, Any]) -> list[str]:
    reps = results["repetitions"]
    lines = ["", "Mining modes (auto: a block per transaction; per-step: automine off, one evm_mine per step; "
             "× auto = auto s/step ÷ this s/step)", "",
             "| chain | workload | mining | s/step | RPC calls/step | HTTP/step | blocks/step | × auto | "
             "timeline = auto |", "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in results["mining"]:
        if "error" in r:
            lines.append(f"| {r['chain']} | failed: {r['error']} |")
            continue
        same = {True: "identical", False: "DIFFERENT", None: "–"}[r.get("timeline_identical_to_auto")]
        lines.append(f"| {r['chain']} | {r['workload']}{_reps_note(r, reps)} | {r['mining']} | "
                     f"{r['seconds_per_step']:.4f} | {r['rpcs_per_step']:.1f} | {r['http_per_step']:.1f} | "
                     f"{r['blocks_per_step']:.2f} | {r['ratio_to_baseline']:.2f} | {same} |")
    return lines


def _cascade_table(results: dict[str, Any]) -> list[str]:
    reps = results["repetitions"]
    lines = ["", "Cascade (40 % crash in 10 steps, reads mirror)", "",
             "| chain | accounts | liquidations | wall s | step-loop s | liquidations/s | RPC calls/step | "
             "HTTP/step | wall × cascade-50 |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in results["cascade"]:
        if "error" in c:
            lines.append(f"| {c['chain']} | {c['accounts']} | failed: {c['error']} |")
            continue
        ratio = f"{c['ratio_to_baseline']:.1f}" if "ratio_to_baseline" in c else "–"
        lines.append(f"| {c['chain']} | {c['accounts']}{_reps_note(c, reps)} | {c['liquidations']} | "
                     f"{c['wall_seconds']:.2f} | {c['step_loop_seconds']:.2f} | {c['liquidations_per_s']:,.1f} | "
                     f"{c['rpcs_per_step']:.1f} | {c['http_per_step']:.1f} | {ratio} |")
    return lines


def _sweep_table(results: dict[str, Any]) -> list[str]:
    lines = ["", "Sweep (marginlab sweep, local process pool, each replay on its own Anvil node)", "",
             "| scenario | seeds | workers | wall s | replays/s | speed-up | same results |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for s in results["sweep"]:
        if "error" in s:
            lines.append(f"| failed: {s['error']} |")
            continue
        lines.append(f"| {s['scenario']} | {s['seeds']} | {s['workers']} | {s['wall_seconds']:.1f} | "
                     f"{s['replays_per_s']:.2f} | ×{s['speed_up']:.2f} | {s['same_results_as_1_worker']} |")
    return lines


def table(results: dict[str, Any]) -> str:
    lines: list[str] = []
    if results.get("replay"):
        lines += _replay_table(results)
    if results.get("mining"):
        lines += _mining_table(results)
    if results.get("cascade"):
        lines += _cascade_table(results)
    if results.get("sweep"):
        lines += _sweep_table(results)
    lines += ["", f"Machine: {results['machine']['cpus']} CPUs ({results['machine']['cpu']}), 1-min load at start "
              f"{results['machine']['load_1min_at_start']:.2f}; whole run {results['total_seconds']:.0f} s"
              + ("; BENCH_QUICK=1: development figures, not comparable" if results["quick"] else "")]
    return "\n".join(lines).lstrip("\n")


def _guarded(rows: list[dict[str, Any]], what: dict[str, Any], log: Log, fn: Callable[[], Any]) -> bool:
    """Run one case; a failure is recorded in its row (and the run goes on) instead of ending the bench."""
    try:
        out = fn()
    except Exception as exc:  # a chain failure in one case must not lose every other figure
        log(f"  FAILED: {type(exc).__name__}: {exc}")
        rows.append({**what, "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
        return False
    rows.extend(out if isinstance(out, list) else [out])
    return True


def run(chains: tuple[str, ...], parts: tuple[str, ...], log: Log) -> dict[str, Any]:
    t_start = time.perf_counter()
    results: dict[str, Any] = {"quick": QUICK, "repetitions": REPS, "reduced_repetitions":
                               {f"{c}:{case}": n for (c, case), n in REDUCED_REPS.items()},
                               "machine": _machine(), "versions": _versions(),
                               "replay": [], "mining": [], "cascade": [], "sweep": []}

    def elapsed() -> str:
        return f"[{time.perf_counter() - t_start:5.0f} s]"

    for chain in chains:
        if "replay" in parts:
            for reads in READS:
                for n in SIZES:
                    if (chain, n) in CHAIN_READ_SKIP and reads == "chain":
                        results["replay"].append({"chain": chain, "reads": reads, "accounts": n, "skipped":
                                                  "the vault view over 2,000 sub-accounts takes Ganache ~30 s a "
                                                  "step (~25 min a repetition)"})
                        continue
                    log(f"{elapsed()} {chain}: replay throughput, N={n}, reads {reads}")
                    # The naive loop does not depend on the read mode: measured once per N (with mirror rows).
                    mirror_row = next((r for r in results["replay"] if r["chain"] == chain and r["accounts"] == n
                                       and r.get("reads") == "mirror" and "baseline_naive" in r), None)
                    if _guarded(results["replay"], {"chain": chain, "reads": reads, "accounts": n}, log,
                                lambda: bench_replay(chain, n, log, reads=reads, naive=mirror_row is None)) \
                            and mirror_row is not None:
                        row = results["replay"][-1]
                        row["baseline_naive"] = mirror_row["baseline_naive"]
                        row["ratio_to_baseline"] = (row["account_steps_per_s"]
                                                    / row["baseline_naive"]["account_steps_per_s"])
        if "mining" in parts:
            log(f"{elapsed()} {chain}: mining modes")
            auto = next((r for r in results["replay"] if r["chain"] == chain and r["accounts"] == MINING_N
                         and r.get("reads") == "mirror" and "error" not in r), None)
            _guarded(results["mining"], {"chain": chain}, log, lambda: bench_mining(chain, auto, log))
        if "cascade" in parts:
            for n in CASCADE_SIZES:
                log(f"{elapsed()} {chain}: cascade-{n}")
                _guarded(results["cascade"], {"chain": chain, "accounts": n}, log,
                         lambda: bench_cascade(chain, n, log))
            base = next((c for c in results["cascade"] if c["chain"] == chain and "error" not in c
                         and c["accounts"] == CASCADE_SIZES[0]), None)
            for c in results["cascade"]:
                if base is not None and c["chain"] == chain and "error" not in c:
                    c["ratio_to_baseline"] = c["wall_seconds"] / base["wall_seconds"]
                    c["baseline"] = f"cascade-{base['accounts']} on {chain}"
    if "sweep" in parts:
        log(f"{elapsed()} sweep speed-up")
        _guarded(results["sweep"], {}, log, lambda: bench_sweep(log))
    results["total_seconds"] = time.perf_counter() - t_start
    log(f"{elapsed()} done")
    return results


def main(argv: list[str] | None = None, out: Path = ROOT / "bench" / "results.json") -> int:
    parser = argparse.ArgumentParser(prog="python -m marginlab.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", default=",".join(CHAINS), help="comma-separated: ganache,anvil")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated: {','.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=out, help="results file (default bench/results.json)")
    args = parser.parse_args(argv)
    chains = tuple(c for c in args.chains.split(",") if c)
    parts = tuple(p for p in args.parts.split(",") if p)
    if not set(chains) <= set(CHAINS) or not set(parts) <= set(PARTS):
        parser.error(f"--chains from {CHAINS}, --parts from {PARTS}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results = run(chains, parts, log)
    text = table(results)
    print(text)
    results["table"] = text
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {args.out}")
    failed = [r for rows in ("replay", "mining", "cascade", "sweep") for r in results[rows] if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
