"""Settings for every property-based (hypothesis ``@given``) test, so that ``make test`` is reproducible.

- In ``make test`` (any ``MARGINLAB_FUZZ`` but ``deep``) every property test is *derandomized*: its examples are
  drawn from a seed derived from the test itself, and no example database is read or written, so two runs on
  the same commit draw the same examples and pass or fail the same way
  (``tests/engine/test_reproducible.py`` checks this).
- ``make fuzz`` (``MARGINLAB_FUZZ=deep``) explores afresh with a large budget: random seeds, no database (a
  clean clone has none anyway), and on a failure hypothesis prints the falsifying input and a
  ``@reproduce_failure`` blob that replays it.

The stateful machines have their own profiles (``tests/stateful/machine_runner.py``), derandomized the same way
outside ``deep``.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

DEEP = os.environ.get("MARGINLAB_FUZZ", "").strip() == "deep"


def property_settings(examples: int, deep_examples: int | None = None) -> settings:
    """``examples`` per run in ``make test`` (derandomized), ``deep_examples`` in ``make fuzz`` (random)."""
    if DEEP:
        return settings(max_examples=deep_examples or examples * 100, deadline=None, derandomize=False,
                        database=None, print_blob=True,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
