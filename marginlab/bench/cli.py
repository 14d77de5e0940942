"""``python -m marginlab.bench``: run the cases, print the table, write ``bench/results.json``."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

from marginlab.bench import __doc__ as BENCH_DOC
from marginlab.bench import config
from marginlab.bench.config import (
    CASCADE_SIZES,
    CHAIN_READ_SKIP,
    CHAINS,
    MINING_N,
    PARTS,
    QUICK,
    READS,
    REDUCED_REPS,
    REPS,
    ROOT,
    SIZES,
    Log,
)
from marginlab.bench.measure import bench_cascade, bench_friction, bench_mining, bench_replay, bench_sweep
from marginlab.bench.tables import _machine, _versions, table


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
    results: dict[str, Any] = {"quick": QUICK, "repetitions": REPS, "protocol": config.PROTOCOL, "reduced_repetitions":
                               {f"{c}:{case}": n for (c, case), n in REDUCED_REPS.items()},
                               "machine": _machine(), "versions": _versions(),
                               "replay": [], "mining": [], "cascade": [], "friction": [], "sweep": []}

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
                                lambda chain=chain, n=n, reads=reads, fresh=mirror_row is None: bench_replay(  # type: ignore[misc]
                                    chain, n, log, reads=reads, naive=fresh and config.PROTOCOL == "marginlab")) \
                            and mirror_row is not None:
                        row = results["replay"][-1]
                        row["baseline_naive"] = mirror_row["baseline_naive"]
                        row["ratio_to_baseline"] = (row["account_steps_per_s"]
                                                    / row["baseline_naive"]["account_steps_per_s"])
        if "mining" in parts:
            log(f"{elapsed()} {chain}: mining modes")
            auto = next((r for r in results["replay"] if r["chain"] == chain and r["accounts"] == MINING_N
                         and r.get("reads") == "mirror" and "error" not in r), None)
            _guarded(results["mining"], {"chain": chain}, log,
                     lambda chain=chain, auto=auto: bench_mining(chain, auto, log))  # type: ignore[misc]
        if "cascade" in parts:
            for n in CASCADE_SIZES:
                log(f"{elapsed()} {chain}: cascade-{n}")
                _guarded(results["cascade"], {"chain": chain, "accounts": n}, log,
                         lambda chain=chain, n=n: bench_cascade(chain, n, log))  # type: ignore[misc]
            base = next((c for c in results["cascade"] if c["chain"] == chain and "error" not in c
                         and c["accounts"] == CASCADE_SIZES[0]), None)
            for c in results["cascade"]:
                if base is not None and c["chain"] == chain and "error" not in c:
                    c["ratio_to_baseline"] = c["wall_seconds"] / base["wall_seconds"]
                    c["baseline"] = f"cascade-{base['accounts']} on {chain}"
        if "friction" in parts:
            log(f"{elapsed()} {chain}: friction, N={config.FRICTION_N}")
            _guarded(results["friction"], {"chain": chain, "accounts": config.FRICTION_N}, log,
                     lambda chain=chain: bench_friction(chain, log))  # type: ignore[misc]
    if "sweep" in parts:
        for chain in (c for c in chains if c in config.SWEEP_CHAINS):
            log(f"{elapsed()} {chain}: sweep speed-up")
            _guarded(results["sweep"], {"chain": chain}, log,
                     lambda chain=chain: bench_sweep(log, chain))  # type: ignore[misc]
    results["total_seconds"] = time.perf_counter() - t_start
    log(f"{elapsed()} done")
    return results


def main(argv: list[str] | None = None, out: Path = ROOT / "bench" / "results.json") -> int:
    parser = argparse.ArgumentParser(prog="python -m marginlab.bench", description=(BENCH_DOC or "").split("\n\n")[0])
    parser.add_argument("--chains", default=",".join(CHAINS), help="comma-separated: ganache,anvil,revm")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated: {','.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=out, help="results file (default bench/results.json)")
    parser.add_argument("--protocol", default="marginlab",
                        help="protocol for the replay, mining and cascade rows (default marginlab; the naive "
                             "baseline reads marginlab's vault and is measured only there)")
    args = parser.parse_args(argv)
    config.PROTOCOL = args.protocol
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
    failed = [r for rows in ("replay", "mining", "cascade", "friction", "sweep") for r in results[rows]
              if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
