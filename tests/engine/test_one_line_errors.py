"""Whatever a scenario's keys and values hold — line breaks, control characters, quotes, colons, very long
text — each problem prints as exactly one `file:line: field.path: reason` line, and the CLI exits 2.

The first case is the one Hypothesis found (`{a\\n\\n-}`: YAML reads a mapping whose key is "a\\n-").
"""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from marginlab.cli import EXIT_BAD_INPUT, main
from marginlab.errors import Issue, field_part, one_line, quote
from marginlab.scenario.source import format_loc

from scenario_cases import BASE

# Characters that break a line or hide in one; JSON strings inside flow YAML carry each of them into a key or value.
NASTY = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1e", "\x85", "\u2028", "\u2029", "\x1b[31m", "\x00",
         "\x7f", "\u200b", "\ufeff", "\t"]


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(content, encoding="utf-8")
    return path


def _check(tmp_path: Path, capsys, content: str) -> list[str]:
    path = _write(tmp_path, content)
    assert main(["check", str(path)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # Split only at "\n": every other line-breaking character must have been escaped, so it must not appear.
    lines = err.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert lines[-1].endswith("nothing was run.")
    problems = lines[:-1]
    assert int(lines[-1].split(" ")[0]) == len(problems)
    for line in problems:
        assert len(line.splitlines()) == 1, repr(line)
        assert not [ch for ch in line if unicodedata.category(ch)[0] == "C"], repr(line)
        assert line.startswith(f"{path}:"), line
        file_, lineno, rest = line.split(":", 2)
        assert lineno.isdigit()
        assert ": " in rest.lstrip()
    return problems


def test_the_key_hypothesis_found_gives_one_line_per_problem(tmp_path, capsys):
    problems = _check(tmp_path, capsys, "{a\n\n-}")
    assert problems[0].endswith(': ["a\\n-"]: unknown field; expected one of: name, description, protocol, seed, markets, '
                                "liquidity, accounts, steps, paths, keeper, liquidation, expect, correlated, books, sequencer, "
                                "strategies, pools, oracles, keepers, keeper_gas")
    assert len(problems) == 3  # the unknown key, and the two required fields that are missing


@pytest.mark.parametrize("ch", NASTY, ids=[ascii(c) for c in NASTY])
def test_a_control_character_in_a_top_level_key_gives_one_line(tmp_path, capsys, ch):
    content = BASE + f"{json.dumps('x' + ch + 'y')}: 1\n"
    problems = _check(tmp_path, capsys, content)
    assert len(problems) == 1
    assert '["x' in problems[0] and "unknown field" in problems[0]


@pytest.mark.parametrize("ch", NASTY, ids=[ascii(c) for c in NASTY])
def test_a_control_character_in_an_asset_key_and_a_name_value_gives_one_line_each(tmp_path, capsys, ch):
    weird = json.dumps("WE" + ch + "TH")
    content = (BASE.replace("deposit: {WETH: 1}", f"deposit: {{{weird}: 1}}")
               .replace("name: alice", f"name: {json.dumps('al' + ch + 'ice')}"))
    problems = _check(tmp_path, capsys, content)
    assert any("unknown asset 'WE" in p for p in problems), problems
    assert any("accounts[0].name" in p for p in problems), problems


@pytest.mark.parametrize("ch", NASTY, ids=[ascii(c) for c in NASTY])
def test_a_control_character_in_a_price_value_and_a_market_symbol_gives_one_line_each(tmp_path, capsys, ch):
    content = (BASE.replace('WETH: "-10%"', f"WETH: {json.dumps('-1' + ch + '0%')}")
               .replace("symbol: USDC", f"symbol: {json.dumps('US' + ch + 'DC')}"))
    problems = _check(tmp_path, capsys, content)
    assert any("steps[0].prices.WETH" in p for p in problems), problems
    assert any("markets[1].symbol" in p for p in problems), problems


def test_keys_that_look_like_message_punctuation_are_quoted_in_the_field_path(tmp_path, capsys):
    content = BASE + '"a: b": 1\n"c.d": 2\n"[0]": 3\n"say \\"hi\\"": 4\n'
    problems = _check(tmp_path, capsys, content)
    fields = sorted(p.split(": ", 1)[1].split(": unknown field")[0] for p in problems)
    assert fields == sorted(['["a: b"]', '["c.d"]', '["[0]"]', '["say \\"hi\\""]'])


def test_a_long_key_and_a_long_value_are_cut_with_an_ellipsis(tmp_path, capsys):
    long_key = "k" * 300  # YAML allows implicit keys up to 1024 characters
    content = BASE.replace("name: alice", "name: " + "v" * 5000) + f"{long_key}: 1\n"
    problems = _check(tmp_path, capsys, content)
    assert all(len(p) < 400 for p in problems), [len(p) for p in problems]
    assert any("…" in p for p in problems)


def test_field_paths_quote_what_is_not_a_plain_word():
    assert format_loc(("markets", 0, "asset_weight", "init")) == "markets[0].asset_weight.init"
    assert format_loc(("accounts", 2, "wallet", "bot-00")) == "accounts[2].wallet.bot-00"
    assert format_loc(("a\n-",)) == '["a\\n-"]'
    assert format_loc(("steps", 1, "x: y")) == 'steps[1]["x: y"]'
    assert field_part('q"\\') == '["q\\"\\\\"]'


def test_quote_escapes_and_cuts():
    assert quote("WETH") == "'WETH'"
    assert quote("a\nb\x1b") == "'a\\nb\\x1b'"
    assert quote("it's") == "'it\\'s'"
    assert quote("x" * 100) == "'" + "x" * 39 + "…'"
    assert one_line("a\u2028b\r\n") == "a\\u2028b\\r\\n"


def test_an_issue_never_prints_a_line_break_even_if_a_reason_holds_one():
    text = str(Issue("f\n.yaml", 3, "x", "bad\nreason\x85"))
    assert text == "f\\n.yaml:3: x: bad\\nreason\\x85"


def test_a_chain_error_message_with_a_line_break_prints_as_one_line(tmp_path, capsys, monkeypatch):
    import marginlab.cli as cli
    from marginlab.errors import ChainError

    def broken(args):
        raise ChainError("node said:\nsomething\x1b[0m")

    monkeypatch.setattr(cli, "_replay", broken)
    path = _write(tmp_path, BASE)
    assert main(["replay", str(path)]) == 3
    err = capsys.readouterr().err
    assert err == "error: node said:\\nsomething\\x1b[0m\n"
