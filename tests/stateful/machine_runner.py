"""Profiles and the runner of the stateful machines (see conftest.py for the profiles).

A module of its own, not conftest.py: `make test` collects tests/unit as well, whose conftest.py is the
module Python knows as `conftest` by the time the machines are imported, so `from conftest import
run_machine` failed there (it worked only when tests/stateful ran alone).
"""
from __future__ import annotations

import os
import time

import pytest

from vault_machine import TIMING

#: (max_examples, stateful_step_count) per machine and profile.
#: "policies" runs once per liquidation policy (four runs), so its caps are per policy.
PROFILES = {
    "smoke": {"core": (4, 50), "liquidation": (4, 50), "hostile": (4, 50), "policies": (1, 30)},
    "quick": {"core": (4, 40), "liquidation": (4, 40), "hostile": (3, 40), "policies": (1, 40)},
    # ci: >= 3,000 steps, >= 1,000 of them across the policies (20 examples of <= 25 steps after a leveraged set-up,
    # per policy: ~2,100 steps, each run liquidating, refusing and absorbing). The uniform liquidation machine ran
    # 1,489 steps at (40, 50) for one successful liquidation; at (24, 50) it keeps its core coverage, and the
    # policies machine's close-factor run liquidates ~20 times, so make test grows by ~3 minutes, not ~4.
    "ci": {"core": (40, 50), "liquidation": (24, 50), "hostile": (40, 50), "policies": (20, 25)},
    # Sequences end early (a rule's precondition, hypothesis's own choices). The deep run of 2026-12-01 ran 47 %
    # (core), 56 % (hostile) and 60 % (liquidation) of caps (700,60)/(600,60)/(700,60): 65,305 steps, short of
    # RELIABILITY's 75,000. These caps (162,000, plus 4 x 9,000 for the policies machine) should run ~100,000.
    "deep": {"core": (950, 60), "liquidation": (900, 60), "hostile": (850, 60), "policies": (150, 60)},
}
_started = time.monotonic()
#: Printed on the line before the failing sequence's scenario file.
FAILURE_MARK = "# ---- marginlab scenario of the failing sequence (save from the next line, then: marginlab replay FILE)"


def profile_name() -> str:
    name = os.environ.get("MARGINLAB_FUZZ", "quick").strip() or "quick"
    if name not in PROFILES:
        raise pytest.UsageError(f"MARGINLAB_FUZZ={name!r}: choose one of {sorted(PROFILES)}")
    return name


def settings_for(machine: str) -> dict:
    examples, steps = PROFILES[profile_name()][machine]
    # quick and ci are derandomized and read no example database: CI runs the same sequences (and the same number
    # of steps) every time, so a red run is reproducible; deep explores afresh on every run.
    fixed = profile_name() != "deep"
    return {"max_examples": examples, "stateful_step_count": steps, "deadline": None, "derandomize": fixed,
            "database": None}


def run_machine(state_machine, rules, *args, machine: str, settings: dict | None = None, **kwargs):
    """state_machine(...) that prints the last (shrunk) sequence as a scenario file when it fails: everything
    from FAILURE_MARK on is a file `marginlab replay` runs (machine_scenario.py). `settings` override the
    profile's hypothesis settings."""
    started = time.monotonic()
    try:
        state_machine(rules, *args, settings={**settings_for(machine), **(settings or {})}, **kwargs)
    except BaseException:
        last = getattr(rules, "LAST", None)
        if last is not None:
            print(f"\n{FAILURE_MARK}\n" + last.yaml())
        raise
    finally:
        TIMING["seconds"] += time.monotonic() - started
