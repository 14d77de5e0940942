"""Plain test output for logs: brownie writes for a terminal — colours, and a spinner while a stateful machine
runs (one frame per example: a colour code, a character and a cursor-left code, between codes that hide and show
the cursor) — and in a CI log or `make test`'s lane-2 log (tools/test_lanes.sh) all of that is escape codes.

tests/conftest.py follows pytest's own decision (a terminal, ``TERM``, ``--color``; :func:`terminal`): when pytest
writes plain text, :func:`configure` turns brownie's colours off, and the ``state_machine`` fixture, replaced by
:func:`state_machine`, runs the machines without the spinner. On a terminal both are as brownie made them, except
that the cursor is no longer hidden while a machine runs.
"""
from __future__ import annotations

from typing import Any


def terminal(config: Any) -> bool:
    """Whether pytest writes for a terminal (colours and cursor codes), by its own rules."""
    return bool(config.get_terminal_writer().hasmarkup)


def configure(config: Any) -> None:
    """No colour codes from brownie when pytest writes plain text."""
    if not terminal(config):
        from brownie._config import CONFIG

        CONFIG.settings["console"]["show_colors"] = False


def state_machine(config: Any) -> Any:
    """brownie's stateful runner; its spinner is drawn only when the machine holds pytest's capture manager, which
    it is given on a terminal only."""
    from brownie.test import state_machine as run
    from brownie.test.stateful import _BrownieStateMachine

    spin = terminal(config) and config.getoption("capture") != "no"
    capman = config.pluginmanager.get_plugin("capturemanager") if spin else None
    setattr(_BrownieStateMachine, "_capman", capman)  # noqa: B010 - brownie reads it with getattr, unset at first
    return run
