"""The friction example files (issue 17's "Done when"), each replayed with ``--compare-friction`` beside its
frictionless twin (exact oracles, the frictionless keeper) on the same path:

- scenarios/cascade-50-thin-twap.yaml: thin pools and a pool-TWAP oracle give an endogenous cascade (depth ≥ 2)
  and more bad debt than the frictionless replay;
- scenarios/cascade-50-deep.yaml: deep pools agree with the frictionless replay within the tolerance below;
- scenarios/cascade-50-gas.yaml: gas above the bonus leaves the accounts unliquidated, listed as skipped with
  the reason.

Six replays of 50 accounts with pools and keepers take ~10 minutes on Ganache and seconds in process, so they
run on revm (MARGINLAB_FRICTION_CHAIN overrides it: ganache or anvil). The timelines are the same on every chain:
tests/integration/test_friction.py replays friction byte-identically on Ganache, Anvil and revm, and the example
files' golden timelines are checked on Anvil by test_golden.py and on revm by test_revm_golden.py.
"""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.cli import EXIT_BAD_INPUT, main
from marginlab.report.friction import summary
from marginlab.timeline import Timeline, timeline_from_json

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_FRICTION_CHAIN") or "revm"
#: deep pools vs frictionless: liquidations within this share, bad debt (written off + uncovered) within this USD
DEEP_LIQUIDATIONS_TOLERANCE = Decimal("0.05")
DEEP_BAD_DEBT_TOLERANCE_USD = Decimal(1)


@pytest.fixture(autouse=True)
def isolation():
    yield


def compare(name: str, out: Path) -> tuple[Timeline, Timeline, str]:
    main(["replay", str(ROOT / "scenarios" / f"{name}.yaml"), "--compare-friction", "--chain", CHAIN, "--out",
          str(out), "--no-charts", "--quiet"])
    friction = timeline_from_json((out / "friction" / "timeline.json").read_text())
    plain = timeline_from_json((out / "frictionless" / "timeline.json").read_text())
    assert friction.status == plain.status == "complete"
    return friction, plain, (out / "compare-friction.md").read_text()


def test_thin_pools_and_a_twap_oracle_cascade_on_their_own_and_leave_more_bad_debt(tmp_path):
    friction, plain, table = compare("cascade-50-thin-twap", tmp_path)
    f, p = summary(friction), summary(plain)
    assert f.cascade_depth >= 2
    assert p.cascade_depth == 0
    assert f.total_bad_debt > p.total_bad_debt
    # the cascade happens after the path stopped: liquidations in steps whose path price equals the last one
    flat_from = next(r.index for r in friction.steps if r.label == "the path stops falling")
    assert any(x.step > flat_from for x in friction.liquidations)
    assert not any(x.step > flat_from for x in plain.liquidations)
    # the keepers' own sales pushed the pool below the path, and the oracle followed it
    last = friction.steps[-1]
    assert Decimal(last.oracle_prices["WETH"]) < Decimal(last.prices["WETH"])  # type: ignore[index]
    assert f.impact["WETH/USDC"][0] < 0
    assert "| friction (as-written) | " + str(f.cascade_depth) + " |" in table
    assert friction.keepers is not None and {k.name for k in friction.keepers} == {"fast", "slow"}


def test_deep_pools_agree_with_the_frictionless_replay(tmp_path):
    friction, plain, _ = compare("cascade-50-deep", tmp_path)
    f, p = summary(friction), summary(plain)
    assert p.liquidations > 0
    assert abs(Decimal(f.liquidations - p.liquidations)) <= DEEP_LIQUIDATIONS_TOLERANCE * p.liquidations
    assert abs(f.total_bad_debt - p.total_bad_debt) <= DEEP_BAD_DEBT_TOLERANCE_USD
    assert f.skipped == 0
    # the keeper paid its way: what it sold the seizures for covers what it repaid and its gas
    (k1,) = friction.keepers or []
    assert Decimal(k1.pnl_usd) > 0 and Decimal(k1.gas_usd) > 0


def test_gas_above_the_bonus_leaves_accounts_unliquidated_and_listed_as_skipped(tmp_path):
    friction, plain, _ = compare("cascade-50-gas", tmp_path)
    assert friction.liquidations == [] and len(plain.liquidations) > 0
    skipped = friction.skipped_liquidations or []
    # every account the frictionless keeper liquidated was skipped here (liquidations name owners, skips keys)
    assert {x.account for x in plain.liquidations} <= {s.account.split("/")[0] for s in skipped}
    assert {s.reason.split(":")[0] for s in skipped} == {"unprofitable"}
    assert all("− gas " in s.reason for s in skipped)
    last = friction.steps[-1]
    unhealthy = [k for k, s in last.accounts.items() if s.health_maint < 0]
    assert unhealthy and set(unhealthy) <= {s.account for s in skipped}
    report = (tmp_path / "friction" / "report.md").read_text()
    assert "## Friction" in report and "unprofitable: bonus" in report


def test_compare_friction_usage(tmp_path, capsys):
    assert main(["replay", str(ROOT / "scenarios" / "cascade-50.yaml"), "--compare-friction"]) == EXIT_BAD_INPUT
    assert "has no pools:, oracles: or keepers:" in capsys.readouterr().err
    assert main(["replay", str(ROOT / "scenarios" / "cascade-50-deep.yaml"), "--compare-friction",
                 "--compare-policies", "close-factor,dutch"]) == EXIT_BAD_INPUT
    assert "one comparison at a time" in capsys.readouterr().err


@pytest.mark.parametrize("protocol", ["aave-v3", "morpho-blue"])
def test_other_protocols_refuse_flash_keepers_in_one_line(protocol, tmp_path, capsys):
    """Keepers run on Aave v3 and Morpho Blue as accounts the protocol pays directly: no contract takes a
    Uniswap v2 flash swap's callback there, so ``flash: true`` is refused in one line (and the file without it is
    accepted)."""
    source = ROOT / "scenarios" / "cascade-50-thin-twap.yaml"
    assert main(["check", str(source), "--protocol", protocol]) == 0, capsys.readouterr().err
    capsys.readouterr()
    flash = tmp_path / "flash.yaml"
    flash.write_text(source.read_text().replace("delay: 1, min_profit: 0}", "delay: 1, min_profit: 0, flash: true}"))
    code = main(["check", str(flash), "--protocol", protocol])
    err = capsys.readouterr().err.splitlines()
    assert code == EXIT_BAD_INPUT
    assert err[0].endswith(f"flash.yaml:31: keepers[1].flash: {protocol}: keepers are accounts that liquidate "
                           f"directly, with no contract to take a Uniswap v2 flash swap's callback: flash: true is "
                           f"marginlab's vault only")


def test_the_examples_state_their_friction_parameters():
    for name in ("cascade-50-thin-twap", "cascade-50-deep", "cascade-50-gas"):
        head = (ROOT / "scenarios" / f"{name}.yaml").read_text().split("name:")[0]
        for item in ("pool depth:", "arbitrage rate:", "TWAP window:", "keepers:"):
            assert item in head, f"{name}: the header does not state {item}"
