"""Fixtures shared by every test folder: named accounts by role, and chain isolation.

Deploy fixtures for the protocol live next to the tests that use them (tests/unit/conftest.py,
tests/integration/conftest.py); the Python-only tests in tests/engine need no chain at all.
"""
from __future__ import annotations

import os
import socket

import pytest
from brownie._config import CONFIG

from marginlab.brownie import plain
from marginlab.brownie.compat import patch_brownie_for_anvil

patch_brownie_for_anvil()


def pytest_sessionstart(session):
    """In a log (not a terminal) brownie writes no colour codes (marginlab/brownie/plain.py)."""
    plain.configure(session.config)


@pytest.fixture
def state_machine(pytestconfig):
    """brownie's state_machine runner, drawing its spinner on a terminal only (marginlab/brownie/plain.py)."""
    return plain.state_machine(pytestconfig)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_configure(config):
    """Launch the test chain on a free port (or $MARGINLAB_TEST_PORT).

    brownie attaches silently to whatever already listens on its configured port (8545), which would run the
    suite against a stranger's chain — or against another test session's. brownie connects only after collection,
    so changing the port here takes effect.
    """
    port = int(os.environ.get("MARGINLAB_TEST_PORT") or _free_loopback_port())
    for network in ("development", "anvil"):
        settings = CONFIG.networks.get(network, {}).get("cmd_settings")
        if isinstance(settings, dict):
            settings["port"] = port


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Revert the chain after every test (brownie's fn_isolation).

    Requested statically, so pytest sets up brownie's module_isolation before any module-scoped deploy fixture;
    fetching it lazily inside the test would reset the chain *after* those deployments and wipe them. The
    Python-only tests pay one snapshot and one revert each, a few milliseconds.
    """
    yield


@pytest.fixture(scope="session")
def gov(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def liquidator(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def lp(accounts):
    """A depositor who only lends."""
    return accounts[6]


@pytest.fixture(scope="session")
def rando(accounts):
    """Someone with no role and no position."""
    return accounts[7]
