"""Profiles, step counting and failure output for the stateful machines.

Profiles (MARGINLAB_FUZZ):
- `quick` (default, in `make test`): at most 420 steps, about 5 minutes on Ganache at the measured ~1.4 steps/s,
  so the whole suite stays inside its time budget;
- `ci` (`make test-stateful`): at most 3,000 steps across the machines (RELIABILITY's CI profile; ~35 minutes
  on Ganache today — too slow for `make test` until the machines get faster);
- `deep` (`make fuzz`): at most 78,000 steps.
Each machine asks `settings_for(name)` for its hypothesis settings. The number of steps executed is printed at
the end of the session.
"""
from __future__ import annotations

import os
import time

import pytest

from vault_machine import NAMES, STEPS, TIMING

#: (max_examples, stateful_step_count) per machine and profile.
PROFILES = {
    "smoke": {"core": (4, 50), "liquidation": (4, 50), "hostile": (4, 50)},
    "quick": {"core": (4, 40), "liquidation": (4, 40), "hostile": (3, 40)},
    "ci": {"core": (24, 50), "liquidation": (20, 50), "hostile": (16, 50)},
    "deep": {"core": (500, 60), "liquidation": (450, 60), "hostile": (350, 60)},
}
_started = time.monotonic()


def profile_name() -> str:
    name = os.environ.get("MARGINLAB_FUZZ", "quick").strip() or "quick"
    if name not in PROFILES:
        raise pytest.UsageError(f"MARGINLAB_FUZZ={name!r}: choose one of {sorted(PROFILES)}")
    return name


def settings_for(machine: str) -> dict:
    examples, steps = PROFILES[profile_name()][machine]
    return {"max_examples": examples, "stateful_step_count": steps, "deadline": None}


@pytest.fixture(scope="session", autouse=True)
def account_names(gov, guardian, alice, bob, carol, liquidator, lp, rando):
    for name, acct in dict(gov=gov, guardian=guardian, alice=alice, bob=bob, carol=carol, liquidator=liquidator,
                           lp=lp, rando=rando).items():
        NAMES[str(acct)] = name


def run_machine(state_machine, rules, *args, machine: str, **kwargs):
    """state_machine(...) that prints the last (shrunk) sequence as scenario-like YAML when it fails."""
    started = time.monotonic()
    try:
        state_machine(rules, *args, settings=settings_for(machine), **kwargs)
    except BaseException:
        last = getattr(rules, "LAST", None)
        if last is not None:
            print("\n" + last.yaml())
        raise
    finally:
        TIMING["seconds"] += time.monotonic() - started


def pytest_terminal_summary(terminalreporter):
    if not STEPS:
        return
    total = sum(STEPS.values())
    elapsed = TIMING["seconds"]
    parts = ", ".join(f"{k} {v}" for k, v in sorted(STEPS.items()))
    terminalreporter.write_line(
        f"stateful steps executed ({profile_name()} profile): {total} ({parts}) in {elapsed:.0f} s of machine "
        f"runs, {total / max(elapsed, 1e-9):.1f} steps/s (each step: one transaction, invariants checked)"
    )
