"""The loader never fails with anything but ScenarioError, whatever bytes or structure it is given, and every
problem it reports is one line.

``make test`` runs these derandomized (the same examples every run); ``make fuzz`` runs them with a budget of
40,000 examples each from random seeds (tests/proptest.py)."""
from __future__ import annotations

import yaml
import sys
import unicodedata
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from marginlab.errors import ScenarioError
from marginlab.scenario.plan import MODES, build_plan
from marginlab.scenario.validate import parse_scenario_text

from scenario_cases import BASE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from proptest import property_settings  # noqa: E402

FUZZ = property_settings(300, deep_examples=40_000)
BASE_DATA = yaml.safe_load(BASE)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["-30%", "+5%", "1e400", ".nan", "0.1", "WETH", "USDC", "alice", "lp", "cross", "gbm", "stale"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ["name", "symbol", "decimals", "price", "deposit", "borrow", "account", "WETH", "USDC", "init", "maint",
         "model", "count", "advance", "prices", "action", "x"]), inner, max_size=4)), max_leaves=20)


def _accepts_or_reports(text: str | bytes) -> None:
    try:
        scenario, doc = parse_scenario_text(text, "fuzz.yaml")
        for mode in MODES:  # what `marginlab check` does next: paths, generated accounts, price rounding
            build_plan(scenario, doc, mode)
    except ScenarioError as exc:
        assert exc.issues, "a ScenarioError must carry at least one issue"
        for issue in exc.issues:
            assert issue.line >= 1
            assert_one_line(str(issue))


def assert_one_line(text: str) -> None:
    """What one problem prints: one line, nothing a terminal or a log reader would take as a line break."""
    assert len(text.splitlines()) == 1, repr(text)  # \n, \r, \x0b, \x0c, \x1c-\x1e, \x85, \u2028, \u2029
    hidden = [ch for ch in text if unicodedata.category(ch)[0] == "C"]  # control, format, unassigned, ...
    assert not hidden, repr(text)


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_loader(raw):
    _accepts_or_reports(raw)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("{}[]:,-#&*!|>'\"%@` \n\tabc019.~?")), max_size=120))
def test_yaml_punctuation_soup_never_crashes_the_loader(text):
    _accepts_or_reports(text)


@FUZZ
@given(path=st.lists(st.sampled_from(["markets", "accounts", "steps", "liquidity", 0, 1, "positions", "deposit",
                                      "asset_weight", "price", "decimals", "prices", "WETH"]), min_size=1, max_size=4),
       value=values)
def test_a_mutated_valid_scenario_is_accepted_or_reported(path, value):
    data = yaml.safe_load(BASE)
    node = data
    for part in path[:-1]:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
    last = path[-1]
    if isinstance(node, dict):
        node[str(last)] = value
    elif isinstance(node, list):
        node.append(value)
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    _accepts_or_reports(text)


@FUZZ
@given(path=st.lists(st.sampled_from(["markets", "accounts", "steps", "liquidity", 0, 1, "positions", "deposit",
                                      "borrow", "prices", "asset_weight", "keeper", "expect", "paths"]),
                     min_size=0, max_size=4),
       key=st.text(min_size=1, max_size=24), value=values)
def test_any_key_written_anywhere_is_reported_on_one_line(path, key, value):
    """Keys of any text (control characters, line breaks, colons, quotes) at any depth of a valid scenario."""
    data = yaml.safe_load(BASE)
    node = data
    for part in path:
        if isinstance(node, dict) and isinstance(part, str) and isinstance(node.get(part), (dict, list)):
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
    if isinstance(node, dict):
        node[key] = value
    elif isinstance(node, list) and node and isinstance(node[0], dict):
        node[0][key] = value
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    _accepts_or_reports(text)
