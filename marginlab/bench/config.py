"""What ``make bench`` measures: sizes, steps, repetitions, and the protocol it runs on."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
QUICK = os.environ.get("BENCH_QUICK") == "1"
CHAINS = ("ganache", "anvil", "revm")
PARTS = ("replay", "mining", "cascade", "friction", "sweep")
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
#: The cost of friction (pools, a pool-TWAP oracle, keepers with a balance sheet): cascade-50-thin-twap scaled
#: to this many accounts, against the same file without them (issue 17)
FRICTION_N = 500
FRICTION_SCENARIO = ROOT / "scenarios" / "cascade-50-thin-twap.yaml"
MINING_N = 500
ACTION_BOOK = (200, 5 if QUICK else 20, 50)  # accounts, steps, borrowers acting in each step
ACTION_STEPS = {"ganache": 5}  # Ganache runs the 50 borrows of a step in ~15 s
SWEEP_SCENARIO = ROOT / "scenarios" / "hedged-book.yaml"
SWEEP_SEEDS = 4 if QUICK else 8
SWEEP_WORKERS = (1, 2)
#: The sweep rows' chains and their seeds: each pool worker sets up once and replays from a snapshot on both
#: (marginlab/sweep.py SetUpOnce); revm runs more seeds in the same time.
SWEEP_CHAINS = {"anvil": SWEEP_SEEDS, "revm": 32 if QUICK else 200}
RPC_TIMEOUT_S = 120.0  # one eth_call reads every sub-account: seconds on Ganache at N=2000

Log = Callable[[str], None]

#: The protocol the replay, mining and cascade rows run on (``--protocol``); the naive baseline reads the vault.
PROTOCOL = "marginlab"
