"""Profiles, step counting and failure output for the stateful machines.

Profiles (MARGINLAB_FUZZ; the table is in machine_runner.py):
- `quick` (default): a few examples per machine, for the main `make test` session on CHAIN;
- `ci`: RELIABILITY's CI profile, >= 3,000 steps across the machines (4,411, derandomized); `make test` runs it as a
  second session on Anvil, which executes it in ~2.7 minutes where Ganache (~1.4 steps/s) would need ~35;
  `make test-stateful` runs it on CHAIN;
- `deep` (`make fuzz`): caps of 162,000 steps (~88,000 expected to run, >= 75,000 asked); use CHAIN=anvil.
Each machine asks `settings_for(name)` for its hypothesis settings. The number of steps executed is printed at
the end of the session.
"""
from __future__ import annotations

import pytest

from hostile_machine import deploy_hostile_protocol
from machine_runner import PROFILES, TIMING, profile_name, run_machine, settings_for  # noqa: F401
from vault_machine import LIQUIDATION_OUTCOMES, NAMES, STEPS, TOKEN_EVENTS


@pytest.fixture(scope="session", autouse=True)
def account_names(gov, guardian, alice, bob, carol, liquidator, lp, rando):
    for name, acct in dict(gov=gov, guardian=guardian, alice=alice, bob=bob, carol=carol, liquidator=liquidator,
                           lp=lp, rando=rando).items():
        NAMES[str(acct)] = name


@pytest.fixture
def hostile_proto(gov, guardian, alice, bob, carol, lp):
    """The hostile machine's protocol: FEE, HOOK, RZERO and NORET markets (hostile_machine.py)."""
    return deploy_hostile_protocol(gov, guardian, (alice, bob, carol), lp)


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
    if LIQUIDATION_OUTCOMES:
        terminalreporter.write_line("liquidations by policy: " + ", ".join(
            f"{k} {v}" for k, v in sorted(LIQUIDATION_OUTCOMES.items())))
    if TOKEN_EVENTS:
        terminalreporter.write_line("pausable-blocklist token: " + ", ".join(
            f"{v} {k}" for k, v in sorted(TOKEN_EVENTS.items())))
