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


MORPHO_STRATEGIES = """\
name: morpho-strategies
seed: 1
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 1000000}}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 10}, borrow: {USDC: 15000}}], wallet: {USDC: 5000, WETH: 5}}
strategies:
  - {account: alice, top_up: {below: 1.2, deposit: {USDC: 1000}, budget: {USDC: 2000}}}
  - {account: alice, deleverage: {below: 1.1, repay: {WETH: 1}}}
  - {account: alice, top_up: {below: 1.2, deposit: {WETH: 1}, budget: {WETH: 2}}}
  - {account: alice, deleverage: {below: 1.1, repay: {USDC: 500}}}
  - {account: lp, withdraw: {after_bad_debt: true}}
steps:
  - {prices: {WETH: 1900}}
"""


def test_strategies_a_morpho_position_cannot_express_are_refused_one_line_each(tmp_path, capsys):
    # A Morpho position pairs one collateral with one loan asset: a top-up in the loan asset would be lending and
    # a deleverage in the collateral asset repays nothing (before: sent anyway, as a WETH supplyCollateral of
    # 1000e6 units and a Panic in repay). The top-up in WETH, the deleverage in USDC and the lender's run are fine.
    file = tmp_path / "s.yaml"
    file.write_text(MORPHO_STRATEGIES)
    code = main(["check", str(file), "--protocol", "morpho-blue"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    problems = [line for line in err.splitlines() if line.startswith(str(file))]
    assert problems == [
        f"{file}:13: strategies[0].top_up.deposit: morpho-blue: alice/0's position is in the WETH/USDC market: only "
        f"WETH is its collateral (supplying USDC would be lending, which Morpho keeps apart)",
        f"{file}:14: strategies[1].deleverage.repay: morpho-blue: alice/0's market WETH/USDC lends only USDC, not WETH"]
    fine = "\n".join(line for line in MORPHO_STRATEGIES.splitlines() if "{USDC: 1000}" not in line
                     and "{WETH: 1}}}" not in line) + "\n"
    file.write_text(fine)
    assert main(["check", str(file), "--protocol", "morpho-blue"]) == 0
    # the vault and Aave v3 express every one of them
    file.write_text(MORPHO_STRATEGIES)
    capsys.readouterr()
    assert main(["check", str(file), "--protocol", "aave-v3"]) == 0 and main(["check", str(file)]) == 0


def test_a_run_after_bad_debt_is_not_honoured_on_aave_which_never_socialises_it(capsys):
    from marginlab.protocols.registry import load_protocol
    from marginlab.runner import map_run
    from marginlab.scenario.plan import build_plan
    from marginlab.scenario.validate import load_scenario

    scenario, doc = load_scenario(ROOT / "scenarios" / "lender-run.yaml")
    plan = build_plan(scenario, doc)
    aave = map_run(load_protocol("aave-v3", doc.file), plan)
    runs = [d for d in aave.not_honoured if d.setting == "withdraw.after_bad_debt"]
    assert [d.scope for d in runs] == ["strategies[0]", "strategies[1]"]
    assert "lp-fast's run waits for bad debt socialised" in runs[0].detail and "never withdraws" in runs[0].detail
    # Morpho Blue socialises bad debt inside liquidate: the run happens there (and on the vault)
    morpho = map_run(load_protocol("morpho-blue", doc.file), plan)
    assert not morpho.refusals and not any("after_bad_debt" in d.setting for d in morpho.decisions)
    # --strict turns the not-honoured run into a refusal, one line at the strategy
    assert main(["check", str(ROOT / "scenarios" / "lender-run.yaml"), "--protocol", "aave-v3", "--strict"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "after_bad_debt" in line]
    assert [line.split(": aave-v3: ")[0] for line in err] == [
        f"{ROOT / 'scenarios' / 'lender-run.yaml'}:{n}: strategies[{i}]" for i, n in ((0, 29), (1, 30))]
