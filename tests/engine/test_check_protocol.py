"""`marginlab check FILE --protocol NAME`: whether a protocol can express a file, without a chain. A refusal is a
scenario problem (exit 2, one `file:line: field: reason` line each, nothing else said); otherwise one line per
margin mode with how many settings that protocol would not honour."""
from __future__ import annotations

from pathlib import Path

from marginlab.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_cross_book_on_morpho_is_refused_one_line_per_sub_account(capsys):
    code = main(["check", str(ROOT / "scenarios" / "hedged-book.yaml"), "--protocol", "morpho-blue"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    problems = [line for line in err.splitlines() if ": accounts[" in line]
    assert len(problems) == 1  # alice has one cross sub-account
    assert problems[0].startswith(f"{ROOT / 'scenarios' / 'hedged-book.yaml'}:19: accounts[0]: morpho-blue: ")
    assert "no cross margin across assets" in problems[0]


def test_a_protocol_that_expresses_the_file_says_so_per_margin_mode(capsys):
    code = main(["check", str(ROOT / "scenarios" / "drain.yaml"), "--protocol", "aave-v3"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].endswith("6 expectations") and ": ok — " in lines[0]
    assert [line.split(": ")[1] for line in lines[1:]] == ["cross margin", "isolated margin"]
    assert all("expressible on aave-v3" in line and "not honoured" in line for line in lines[1:])


def test_without_a_protocol_check_says_only_that_the_file_is_valid(capsys):
    assert main(["check", str(ROOT / "scenarios" / "drain.yaml")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
