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

import pytest

from machine_runner import PROFILES, TIMING, profile_name, run_machine, settings_for  # noqa: F401
from vault_machine import NAMES, STEPS


@pytest.fixture(scope="session", autouse=True)
def account_names(gov, guardian, alice, bob, carol, liquidator, lp, rando):
    for name, acct in dict(gov=gov, guardian=guardian, alice=alice, bob=bob, carol=carol, liquidator=liquidator,
                           lp=lp, rando=rando).items():
        NAMES[str(acct)] = name


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
