"""Every malformed scenario is reported as one `file:line: field: reason` line, exit 2, no traceback."""
from __future__ import annotations

from pathlib import Path

import pytest

from marginlab.cli import EXIT_BAD_INPUT, main

from scenario_cases import BASE, CASES


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "s.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_base_scenario_is_valid(tmp_path, capsys):
    assert main(["check", str(_write(tmp_path, BASE))]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize("pair,kind", [("WETH/USDC", "stop_loss: {share: 0.1, route: pool}"),
                                       ("USDC/WETH", "take_profit: {share: 0.1, route: pool}"),
                                       ("USDC/WETH", "deleverage: {below: 1.2, repay: {USDC: 1}, route: pool}")])
def test_route_pool_is_accepted_with_a_pool_pairing_collateral_and_debt(tmp_path, capsys, pair, kind):
    """A pool pairing the position's collateral (WETH) with its debt (USDC), in either orientation, is enough."""
    text = BASE + f"pools:\n  - {{pair: {pair}, depth_usd: 100000}}\nstrategies:\n  - {{account: alice, {kind}}}\n"
    assert main(["check", str(_write(tmp_path, text))]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("content,expected", [(c, e) for _, c, e in CASES], ids=[i for i, _, _ in CASES])
def test_malformed_scenario_is_reported_with_file_line_field_and_reason(tmp_path, capsys, content, expected):
    path = _write(tmp_path, content)
    code = main(["check", str(path)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == f"{path}:" + expected.replace("{dir}", str(tmp_path))
    assert lines[-1].endswith("nothing was run.")


def test_there_are_at_least_forty_malformed_cases():
    assert len(CASES) >= 40
    assert len({i for i, _, _ in CASES}) == len(CASES)


def test_all_problems_are_reported_at_once_sorted_by_line(tmp_path, capsys):
    content = BASE.replace("decimals: 18", "decimals: 99").replace("USDC: 1000}", "USDC: -1}") \
        .replace('"-10%"', '"-200%"')
    path = _write(tmp_path, content)
    assert main(["check", str(path)]) == EXIT_BAD_INPUT
    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == [
        f"{path}:4: markets[0].decimals: must be ≤ 36, got 99",
        f"{path}:11: accounts[0].positions[0].borrow.USDC: amount must not be negative, got -1",
        f"{path}:13: steps[0].prices.WETH: a fall of 200% would make the price zero or negative",
    ]
    assert lines[3] == "3 problem(s) in the scenario; nothing was run."


def test_missing_file_is_bad_input(tmp_path, capsys):
    path = tmp_path / "absent.yaml"
    assert main(["check", str(path)]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.startswith(f"{path}:1: (root): cannot read file: No such file or directory")


def test_replay_rejects_bad_input_before_any_chain_work(tmp_path, capsys, monkeypatch):
    import marginlab.chain.client as chain

    def no_chain(*args, **kwargs):  # pragma: no cover - reaching it is the failure
        raise AssertionError("a chain was started for a malformed scenario")

    monkeypatch.setattr(chain.Chain, "open", no_chain)
    monkeypatch.setattr(chain, "start_node", no_chain)
    path = _write(tmp_path, BASE.replace("price: 2000", "price: -1"))
    assert main(["replay", str(path), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    assert not (tmp_path / "out").exists()
    assert "markets[0].price: must be greater than 0, got -1" in capsys.readouterr().err


@pytest.mark.parametrize("names,expected", [
    ("none", "--compare-strategies needs two or more different names, got none"),
    ("none,none", "--compare-strategies needs two or more different names, got none,none"),
    ("none,trailing", "--compare-strategies: unknown strategy trailing: choose from none, stop_loss, take_profit, "
                      "top_up, deleverage"),
    ("none,top_up", "has no top_up strategy (it has: none)"),
])
def test_compare_strategies_usage_errors(tmp_path, capsys, names, expected):
    path = _write(tmp_path, BASE)
    code = main(["replay", str(path), "--compare-strategies", names, "--chain", "revm", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and expected in err and "Traceback" not in err


def test_compare_strategies_is_one_comparison_at_a_time(tmp_path, capsys):
    path = _write(tmp_path, BASE)
    code = main(["replay", str(path), "--compare-strategies", "none,stop_loss", "--compare-policies",
                 "dutch,absorb", "--quiet"])
    assert code == EXIT_BAD_INPUT and "one comparison at a time" in capsys.readouterr().err
