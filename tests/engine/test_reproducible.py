"""`make test` is reproducible: two runs on the same commit draw the same examples.

Every property-based test in the suite is found by reading the test files (any function decorated with
hypothesis's `given`), imported, and checked two ways: its settings are derandomized with no example database
(tests/proptest.py), and, run twice here, it is handed exactly the same sequence of examples. The stateful
machines' profiles outside `deep` are derandomized too (tests/stateful/machine_runner.py).
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
from proptest import DEEP  # noqa: E402

pytestmark = pytest.mark.skipif(DEEP, reason="make fuzz explores with random seeds on purpose")


def _given_tests() -> list[tuple[Path, str]]:
    found = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name == "given":
                    found.append((path, node.name))
    return found


GIVEN = _given_tests()


def _load(path: Path):
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"_reproducible_{path.parent.name}_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_suite_has_property_tests_to_check():
    names = {name for _, name in GIVEN}
    assert "test_yaml_punctuation_soup_never_crashes_the_loader" in names
    assert len(GIVEN) >= 4


@pytest.mark.parametrize("path,name", GIVEN, ids=[f"{p.parent.name}/{p.name}::{n}" for p, n in GIVEN])
def test_every_property_test_draws_the_same_examples_on_every_run(path, name):
    fn = getattr(_load(path), name)
    chosen = fn._hypothesis_internal_use_settings
    assert chosen.derandomize, f"{name} is not derandomized: use tests/proptest.py's property_settings"
    assert chosen.database is None, f"{name} reads an example database: a second run would replay its finds"
    if inspect.signature(fn).parameters:
        # It takes pytest fixtures (a chain's contracts): not callable here. Its settings, checked above, are what
        # make its draws repeat; the draws themselves are checked on the tests that need no fixture.
        return
    real = fn.hypothesis.inner_test
    runs: list[list[str]] = []
    for _ in range(2):
        seen: list[str] = []

        def recorder(*args, __seen=seen, **kwargs):
            __seen.append(repr((args, sorted(kwargs.items()))))
            return real(*args, **kwargs)

        fn.hypothesis.inner_test = recorder
        try:
            fn()
        finally:
            fn.hypothesis.inner_test = real
        runs.append(seen)
    assert len(runs[0]) >= 10
    assert runs[0] == runs[1]


@pytest.mark.parametrize("profile", ["quick", "ci", "smoke"])
def test_the_stateful_profiles_that_make_test_runs_are_derandomized(profile, monkeypatch):
    sys.path.insert(0, str(TESTS / "stateful"))
    import machine_runner

    monkeypatch.setenv("MARGINLAB_FUZZ", profile)
    for machine in machine_runner.PROFILES[profile]:
        chosen = machine_runner.settings_for(machine)
        assert chosen["derandomize"] is True and chosen["database"] is None, (profile, machine)
