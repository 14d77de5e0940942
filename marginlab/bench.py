"""``make bench``: replay throughput and cascade benchmarks on Ganache and Anvil, in one run.

Replay throughput: a generated book of N borrowers x S steps (prices move +-1 % a step, nobody becomes
liquidatable, keeper on). Measured: the step loop only (deploy and set-up are reported separately), as
account-steps per second, RPC requests per step (counted by the provider) and seconds per step. Baseline, in the
same run on the same chain: the naive loop (the price transaction, then one ``accountState`` call per account).

Cascade: scenarios/cascade-50.yaml (50 borrowers, a 40 % crash in ten steps) and the same book with 1,000
borrowers: whole-replay wall time and liquidations per second of the step loop; its baseline is cascade-50.

``BENCH_QUICK=1`` runs fewer sizes, steps and repetitions (development only; the figures are not comparable).
"""
from __future__ import annotations

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

from .chain import Artifacts, Chain, ChainOptions, RevertDecoder
from .engine import Replay
from .plan import build_plan
from .validate import load_scenario, parse_scenario_text

ROOT = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
CHAINS = ("ganache", "anvil")
SIZES = (100, 500) if QUICK else (100, 500, 2000)
STEPS = 10 if QUICK else 50
NAIVE_STEPS = 2 if QUICK else 5  # the naive loop is slow and linear: fewer steps measure it well enough
REPS = 1 if QUICK else 3
CASCADE_SIZES = (50, 1000)


def generated_book(n: int, steps: int) -> str:
    """N borrowers at a quarter of their borrowing power; prices wiggle +-1 %: nobody is ever liquidatable."""
    moves = "\n".join(f'  - {{prices: {{WETH: "{"+" if i % 2 else "-"}1%"}}}}' for i in range(steps))
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
  - name: bot
    count: {n}
    positions:
      - {{deposit: {{WETH: 5}}, borrow: {{USDC: 2000}}}}
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

    def __init__(self, chain_name: str, text: str) -> None:
        scenario, doc = parse_scenario_text(text)
        self.plan = build_plan(scenario, doc)
        self.artifacts = Artifacts()
        self.chain = Chain.open(ChainOptions(backend=chain_name), RevertDecoder(self.artifacts.all_abis()))
        self.replay = Replay(self.plan, self.chain, self.artifacts)
        t0 = time.perf_counter()
        self.replay._deploy()
        self.replay._setup()
        self.replay.timeline.setup = self.replay._record(-1, "setup", None, [])
        self.setup_s = time.perf_counter() - t0
        self.setup_rpcs = self.rpcs()

    def rpcs(self) -> int:
        return int(self.chain.w3.provider.total)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.chain.close()

    def run_steps(self) -> dict[str, float]:
        r0, t0 = self.rpcs(), time.perf_counter()
        for step in self.plan.steps:
            self.chain.step = step.index
            self.replay._step(step)
        dt = time.perf_counter() - t0
        return {"seconds": dt, "steps": len(self.plan.steps), "rpcs": self.rpcs() - r0,
                "liquidations": len(self.replay.timeline.liquidations)}

    def run_naive(self, steps: int) -> dict[str, float]:
        """The loop the engine replaced: one price transaction, then one view call per sub-account."""
        replay, proto = self.replay, self.replay._proto()
        owners, subs, _refs = replay._tracked()
        r0, t0 = self.rpcs(), time.perf_counter()
        for step in self.plan.steps[:steps]:
            for sym, price in step.prices.items():
                replay.prices[sym] = price
                replay._push_price(sym)
            replay._flush_prices()
            for owner, sub in zip(owners, subs):
                self.chain.call(proto.vault, "accountState", owner, sub)
        return {"seconds": time.perf_counter() - t0, "steps": steps, "rpcs": self.rpcs() - r0}


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def bench_replay(chain_name: str, n: int, log: Callable[[str], None]) -> dict[str, Any]:
    runs, naive, setups = [], [], []
    accounts = 0
    for rep in range(REPS):
        session = Session(chain_name, generated_book(n, STEPS))
        try:
            accounts = len(session.replay.sub_accounts)
            setups.append((session.setup_s, session.setup_rpcs))
            runs.append(session.run_steps())
            naive.append(session.run_naive(NAIVE_STEPS))
        finally:
            session.close()
        log(f"  {chain_name} N={n} rep {rep + 1}/{REPS}: {runs[-1]['seconds']:.2f} s for {STEPS} steps "
            f"(naive {naive[-1]['seconds']:.2f} s for {NAIVE_STEPS})")
    if any(r["liquidations"] for r in runs):
        raise RuntimeError("the generated book was meant to stay healthy, but the keeper liquidated")
    per_step = _median([r["seconds"] / r["steps"] for r in runs])
    naive_per_step = _median([r["seconds"] / r["steps"] for r in naive])
    result = {
        "chain": chain_name, "accounts": n, "sub_accounts_read": accounts, "steps": STEPS,
        "account_steps_per_s": n / per_step, "seconds_per_step": per_step,
        "rpcs_per_step": _median([r["rpcs"] / r["steps"] for r in runs]),
        "setup_seconds": _median([s for s, _ in setups]), "setup_rpcs": _median([float(r) for _, r in setups]),
        "baseline_naive": {"account_steps_per_s": n / naive_per_step, "seconds_per_step": naive_per_step,
                           "rpcs_per_step": _median([r["rpcs"] / r["steps"] for r in naive]), "steps": NAIVE_STEPS},
    }
    result["ratio_to_baseline"] = result["account_steps_per_s"] / result["baseline_naive"]["account_steps_per_s"]
    return result


def bench_cascade(chain_name: str, n: int, log: Callable[[str], None]) -> dict[str, Any]:
    walls, loops, liqs, rpcs = [], [], [], []
    for rep in range(REPS):
        t0 = time.perf_counter()
        session = Session(chain_name, cascade_text(n))
        try:
            run = session.run_steps()
        finally:
            session.close()
        walls.append(time.perf_counter() - t0)
        loops.append(run["seconds"])
        liqs.append(run["liquidations"])
        rpcs.append(run["rpcs"] / run["steps"])
        log(f"  {chain_name} cascade-{n} rep {rep + 1}/{REPS}: {walls[-1]:.2f} s wall, {run['liquidations']} "
            f"liquidations in {run['seconds']:.2f} s")
    if len(set(liqs)) != 1:
        raise RuntimeError(f"cascade-{n} is not deterministic: liquidation counts {liqs}")
    loop = _median(loops)
    return {"chain": chain_name, "accounts": n, "wall_seconds": _median(walls), "step_loop_seconds": loop,
            "liquidations": liqs[0], "liquidations_per_s": liqs[0] / loop, "rpcs_per_step": _median(rpcs)}


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
    return {"platform": platform.platform(), "cpu": cpu, "cpus": os.cpu_count()}


def table(results: dict[str, Any]) -> str:
    lines = ["Replay throughput (generated book, keeper on, nobody liquidatable; medians of "
             f"{results['repetitions']})", "",
             "| chain | N | account-steps/s | s/step | RPCs/step | naive account-steps/s | naive RPCs/step | "
             "× naive | set-up s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["replay"]:
        b = r["baseline_naive"]
        lines.append(f"| {r['chain']} | {r['accounts']} | {r['account_steps_per_s']:,.0f} | "
                     f"{r['seconds_per_step']:.4f} | {r['rpcs_per_step']:.1f} | {b['account_steps_per_s']:,.0f} | "
                     f"{b['rpcs_per_step']:.1f} | {r['ratio_to_baseline']:.1f} | {r['setup_seconds']:.1f} |")
    lines += ["", "Per-step cost growth with N (s/step relative to the smallest N on the same chain)", ""]
    for chain in CHAINS:
        rows = [r for r in results["replay"] if r["chain"] == chain]
        if rows:
            base = rows[0]["seconds_per_step"]
            lines.append(f"- {chain}: " + ", ".join(f"N={r['accounts']}: ×{r['seconds_per_step'] / base:.2f}"
                                                     for r in rows))
    lines += ["", "Cascade (40 % crash in 10 steps)", "",
              "| chain | accounts | liquidations | wall s | step-loop s | liquidations/s | RPCs/step | "
              "wall × cascade-50 |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in results["cascade"]:
        lines.append(f"| {c['chain']} | {c['accounts']} | {c['liquidations']} | {c['wall_seconds']:.2f} | "
                     f"{c['step_loop_seconds']:.2f} | {c['liquidations_per_s']:,.1f} | {c['rpcs_per_step']:.1f} | "
                     f"{c['ratio_to_baseline']:.1f} |")
    return "\n".join(lines)


def main(out: Path = ROOT / "bench" / "results.json") -> int:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results: dict[str, Any] = {"quick": QUICK, "repetitions": REPS, "machine": _machine(), "versions": _versions(),
                               "replay": [], "cascade": []}
    for chain in CHAINS:
        for n in SIZES:
            results["replay"].append(bench_replay(chain, n, log))
        base = None
        for n in CASCADE_SIZES:
            c = bench_cascade(chain, n, log)
            base = base or c
            c["ratio_to_baseline"] = c["wall_seconds"] / base["wall_seconds"]
            c["baseline"] = f"cascade-{base['accounts']} on {chain}"
            results["cascade"].append(c)
    text = table(results)
    print(text)
    results["table"] = text
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
