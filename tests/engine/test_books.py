"""books: accounts from a CSV of positions (the position column groups legs; a sign or a side column tells a
borrow from a deposit), every bad row as file.csv:line: column: reason, and seeded resampling from a file's
distribution."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.errors import ScenarioError
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import load_scenario, validate_doc

ROOT = Path(__file__).resolve().parents[2]
DESK = ROOT / "scenarios" / "books" / "desk.yaml"

HEAD = """\
name: b
seed: 3
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85},
     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95},
     liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
"""


def _write(tmp_path: Path, csv_text: str, books: str, extra: str = "") -> Path:
    (tmp_path / "book.csv").write_text(csv_text)
    f = tmp_path / "s.yaml"
    f.write_text(HEAD + "books:\n" + books + extra)
    return f


def _issues(f: Path) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    return [str(i) for i in err.value.issues]


def test_the_position_column_groups_legs_and_the_sign_tells_a_borrow(tmp_path):
    f = _write(tmp_path, "owner,position,asset,amount\nann,a,WETH,2\nann,b,USDC,500\nann,a,USDC,-1000\n"
                         "ann,b,WETH,-0.1\nbo,x,WETH,1.5\n", "  - {file: book.csv, margin: isolated}\n",
               "expect:\n  - {account: ann, liquidations: 0}\n")
    scenario, doc = load_scenario(f)
    assert [a.name for a in scenario.accounts] == ["ann", "bo"]
    ann = scenario.accounts[0]
    assert ann.margin == "isolated"
    assert [(p.deposit, p.borrow) for p in ann.positions] == [
        ({"WETH": Decimal(2)}, {"USDC": Decimal(1000)}), ({"USDC": Decimal(500)}, {"WETH": Decimal("0.1")})]
    plan = build_plan(scenario, doc)
    assert plan.account("ann").positions[1].borrow == {"WETH": 10**17}
    assert plan.account("ann").sub_ids == [0, 1]
    assert scenario.books == []  # consumed: the accounts hold them, and validating again adds nothing
    again, _ = validate_doc(doc)
    assert [a.name for a in again.accounts] == ["ann", "bo"]


def test_a_side_column_with_positive_amounts_works_the_same(tmp_path):
    f = _write(tmp_path, "owner,position,asset,side,amount\nann,a,WETH,deposit,2\nann,a,USDC,Borrow,1000\n",
               "  - {file: book.csv}\n")
    [ann] = load_scenario(f)[0].accounts
    assert (ann.margin, ann.positions[0].borrow) == ("cross", {"USDC": Decimal(1000)})


def test_every_bad_row_is_reported_with_the_csv_file_and_line(tmp_path):
    f = _write(tmp_path, "owner,position,asset,amount\nann,a,WETH,2\nann,a,DOGE,1\nann,a,USDC,1.0000001\n"
                         "1x,a,WETH,1\nann,a,WETH,-1\nann,b,USDC,zero\nann,b,USDC,0\n", "  - {file: book.csv}\n")
    book = str(tmp_path / "book.csv")
    assert _issues(f) == sorted([
        f"{book}:3: asset: unknown asset 'DOGE' (markets: WETH, USDC)",
        f"{book}:4: amount: 1.0000001 has more decimal places than USDC has (6)",
        f"{book}:5: owner: '1x' is not a valid name: use letters, digits, '_', '.' or '-', starting with a letter",
        f"{book}:6: asset: WETH is both deposited and borrowed in ann's position 'a'; a position holds one side per "
        f"asset",
        f"{book}:7: amount: expected an amount, got 'zero'",
        f"{book}:8: amount: a leg of 0: leave the row out"])


def test_a_missing_column_a_missing_file_and_a_bad_entry_point_at_their_lines(tmp_path):
    f = _write(tmp_path, "owner,asset,amount\nann,WETH,1\n", "  - {file: book.csv}\n  - {file: nope.csv}\n"
               "  - {file: book.csv, margin: crossed}\n")
    issues = _issues(f)
    assert issues[0] == f"{tmp_path / 'book.csv'}:1: (header): missing column(s) position: expected " \
                        f"owner,position,asset,amount[,side]"
    assert issues[1].startswith(f"{tmp_path / 'nope.csv'}:1: (file): cannot read the book:")
    assert issues[2] == f"{f}:11: books[2].margin: expected 'cross' or 'isolated', got 'crossed'"


def test_an_owner_that_is_also_written_as_an_account_is_a_duplicate_at_the_books_line(tmp_path):
    f = _write(tmp_path, "owner,position,asset,amount\nann,a,WETH,1\n", "  - {file: book.csv}\n",
               "accounts:\n  - {name: ann, positions: [{deposit: {USDC: 1}}]}\n")
    assert _issues(f) == [f"{f}:9: accounts[1].name: duplicate account name 'ann' (also accounts[0])"]


def test_resampling_is_seeded_and_draws_whole_positions_from_the_file():
    scenario, _ = load_scenario(DESK)
    written = [a for a in scenario.accounts if not a.name.startswith("sim-")]
    drawn = [a for a in scenario.accounts if a.name.startswith("sim-")]
    assert len(written) == 5 and [a.name for a in drawn][:2] == ["sim-00", "sim-01"] and len(drawn) == 40
    assert [a.model_dump() for a in drawn] == [a.model_dump() for a in load_scenario(DESK)[0].accounts[5:]]
    # positions per account come from the file's distribution (alice 2, bob 1, carol 2, dan 2, erin 1)
    assert {len(a.positions) for a in drawn} <= {1, 2}
    # with jitter, each drawn leg is a file leg's asset and side, scaled and rounded down to the asset's decimals
    shapes = {(tuple(sorted(p.deposit)), tuple(sorted(p.borrow))) for a in written for p in a.positions}
    assert all((tuple(sorted(p.deposit)), tuple(sorted(p.borrow))) in shapes for a in drawn for p in a.positions)


def test_another_seed_draws_another_book_and_no_jitter_copies_amounts(tmp_path):
    csv_text = "".join(line for line in (DESK.parent / "desk.csv").read_text().splitlines(keepends=True)
                       if "WBTC" not in line)  # the test's markets are WETH and USDC
    one = _write(tmp_path, csv_text, "  - {file: book.csv, resample: {count: 30, seed: 1}}\n")
    a = [x.model_dump() for x in load_scenario(one)[0].accounts]
    two = _write(tmp_path, csv_text, "  - {file: book.csv, resample: {count: 30, seed: 2}}\n")
    b = [x.model_dump() for x in load_scenario(two)[0].accounts]
    assert a != b and len(a) == len(b) == 30 and a[0]["name"] == "book-00"
    legs = {(s, v) for line in csv_text.splitlines()[1:] for s, v in [line.split(",")[2:4]]}
    for acct in a:
        for p in acct["positions"]:
            assert {(s, str(v)) for s, v in p["deposit"].items()} <= legs
            assert {(s, "-" + str(v)) for s, v in p["borrow"].items()} <= legs
