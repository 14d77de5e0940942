"""The ``make bench`` tables and the machine and tool versions they were measured on."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from marginlab.bench.config import CHAINS, READS


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("web3", "eth-brownie", "numpy", "pyrevm"):
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
        b = r.get("baseline_naive")
        naive = (f"{b['account_steps_per_s']:,.0f} | {b['rpcs_per_step']:.1f} | {r['ratio_to_baseline']:.1f}"
                 if b is not None else "– | – | –")  # the naive loop reads marginlab's vault only
        lines.append(f"| {r['chain']} | {r['reads']} | {r['accounts']}{_reps_note(r, reps)} | {r['steps']} | "
                     f"{r['account_steps_per_s']:,.0f} | "
                     f"{r['seconds_per_step']:.4f} | {r['rpcs_per_step']:.1f} | {r['http_per_step']:.1f} | "
                     f"{r['blocks_per_step']:.1f} | {naive} | {r['setup_seconds']:.1f} |")
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


def _friction_table(results: dict[str, Any]) -> list[str]:
    lines = ["", "Cost of friction (cascade-50-thin-twap scaled to N accounts: Uniswap v2 pool, pool-TWAP oracle, two "
                 "keepers with a balance sheet; against the same file without them; reads chain)", "",
             "| chain | accounts | run | liquidations | s/step | RPC calls/step | blocks/step |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for f in results["friction"]:
        if "error" in f:
            lines.append(f"| {f['chain']} | {f['accounts']} | failed: {f['error']} |")
            continue
        for run in ("frictionless", "friction"):
            r = f[run]
            lines.append(f"| {f['chain']} | {f['accounts']} | {run} | {r['liquidations']} | "
                         f"{r['seconds_per_step']:.2f} | {r['rpcs_per_step']:.0f} | {r['blocks_per_step']:.1f} |")
        cost = f["cost"]
        shown = " | ".join(f"×{cost[k]:.2f}" if cost[k] is not None else "–"
                           for k in ("seconds_per_step", "rpcs_per_step", "blocks_per_step"))
        lines.append(f"| {f['chain']} | {f['accounts']} | cost of friction | | {shown} |")
    return lines


def _sweep_table(results: dict[str, Any]) -> list[str]:
    lines = ["", "Sweep (marginlab sweep, local process pool: each worker sets up once and replays every seed from a "
             "snapshot)", "",
             "| chain | scenario | seeds | workers | wall s | replays/s | speed-up | same results | worker peak RSS |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for s in results["sweep"]:
        if "error" in s:
            lines.append(f"| {s.get('chain', 'anvil')} | failed: {s['error']} |")
            continue
        rss = f"{s['worker_peak_rss_mb']:.0f} MB" if s.get("worker_peak_rss_mb") else "–"
        lines.append(f"| {s.get('chain', 'anvil')} | {s['scenario']} | {s['seeds']} | {s['workers']} | "
                     f"{s['wall_seconds']:.1f} | {s['replays_per_s']:.2f} | ×{s['speed_up']:.2f} | "
                     f"{s['same_results_as_1_worker']} | {rss} |")
    return lines


def table(results: dict[str, Any]) -> str:
    lines: list[str] = [f"Protocol: {results.get('protocol', 'marginlab')}", ""]
    if results.get("replay"):
        lines += _replay_table(results)
    if results.get("mining"):
        lines += _mining_table(results)
    if results.get("cascade"):
        lines += _cascade_table(results)
    if results.get("friction"):
        lines += _friction_table(results)
    if results.get("sweep"):
        lines += _sweep_table(results)
    lines += ["", f"Machine: {results['machine']['cpus']} CPUs ({results['machine']['cpu']}), 1-min load at start "
              f"{results['machine']['load_1min_at_start']:.2f}; whole run {results['total_seconds']:.0f} s"
              + ("; BENCH_QUICK=1: development figures, not comparable" if results["quick"] else "")]
    return "\n".join(lines).lstrip("\n")


