"""Aave v3 (3.0.2, deployed from npm @aave/core-v3's artifacts) behind the protocol boundary, checked against the
independent integer model in tests/models/aave_v3.py (written from Aave's Solidity, never from the adapter) with
Aave's raw state read straight from its getters: the health factor marginlab reports at every step, liquidatable
exactly when the model says so (Aave's own liquidationCall is the judge), partial and full liquidations to the
wei, and debt left without collateral reported as Aave leaves it.

The node is marginlab's own, Ganache or Anvil as MARGINLAB_CHAIN says (default ganache). Two replays of one
small scenario (keeper on, keeper off): about 40 s on Anvil, 90 s on Ganache.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.protocols.aave_v3.protocol import AaveV3
from marginlab.protocols.registry import factory
from marginlab.protocols.world import KEEPER
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text
from marginlab.sim.engine import Replay

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from models import aave_v3 as av  # noqa: E402

CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"

# pat: a partial liquidation (health factor between 0.95 and 1: half the debt); fay: a full one (below 0.95);
# cy: cross margin over two collaterals and two debts, USDC on both sides (Aave keeps them apart); gus: a gap that
# leaves debt without collateral.
WALK = """\
name: aave-walk
seed: 5
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.80, maint: 0.85}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05, protocol_share: 0.1}
  - {symbol: WBTC, decimals: 8, price: 60000, asset_weight: {init: 0.75, maint: 0.80}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.07}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.90, maint: 0.95}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02, reserve_factor: 0.2}
liquidity:
  - {name: lp, deposits: {USDC: 2000000, WETH: 400, WBTC: 20}}
accounts:
  - {name: pat, positions: [{deposit: {WBTC: 1}, borrow: {USDC: 45000}}]}
  - {name: fay, positions: [{deposit: {WETH: 10}, borrow: {USDC: 16000}}]}
  - name: cy
    positions:
      - {deposit: {WETH: 5}, borrow: {USDC: 6000}}
      - {deposit: {USDC: 10000, WBTC: 0.2}, borrow: {WETH: 2}}
  - {name: gus, positions: [{deposit: {WBTC: 0.5}, borrow: {USDC: 21000}}]}
steps:
  - {advance: 86400}
  - {prices: {WBTC: 55000}}
  - {prices: {WETH: 1740}}
  - {advance: 86400, prices: {WETH: 2600}}
  - {prices: {WETH: 1500}}
  - {prices: {WBTC: 30000}}
  - {advance: 86400, prices: {WETH: 1900, WBTC: 40000}}
keeper: {enabled: true}
"""
KEYS = ("pat/0", "fay/0", "cy/0", "gus/0")


@pytest.fixture(autouse=True)
def isolation():
    """These tests start their own nodes through marginlab; brownie's chain is not needed."""
    yield


def _open(text: str) -> Replay:
    scenario, doc = parse_scenario_text(text, "aave.yaml")
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(backend=CHAIN), RevertDecoder(artifacts.all_abis() + AaveV3.extra_abis()))
    return Replay(build_plan(scenario, doc, "as-written"), chain, artifacts, protocol=factory(AaveV3))


def _hf(data: av.AccountData) -> int | None:
    """The timeline writes Aave's type(uint256).max (no debt) as None."""
    return None if data.health_factor == av.UINT256_MAX else data.health_factor


def _call(fn: Any, block: int | str) -> Any:
    return fn.call(block_identifier=block)


def _reserves(replay: Replay, block: int | str = "latest") -> dict[str, av.Reserve]:
    """Every reserve as Aave's own getters give it at ``block``."""
    proto = replay.protocol
    assert isinstance(proto, AaveV3)
    pool, oracle = proto.dep.pool.functions, proto.dep.oracle.functions
    out = {}
    for sym, token in replay.world.tokens.items():
        data = _call(pool.getReserveData(token.address), block)
        out[sym] = av.Reserve(int(data[7]), av.ReserveConfig.unpack(int(data[0][0] if isinstance(data[0], (list, tuple))
                                                                         else data[0])),
                              int(_call(oracle.getAssetPrice(token.address), block)),
                              int(_call(pool.getReserveNormalizedIncome(token.address), block)),
                              int(_call(pool.getReserveNormalizedVariableDebt(token.address), block)))
    return out


def _user(replay: Replay, key: str, block: int | str = "latest") -> av.User:
    proto = replay.protocol
    assert isinstance(proto, AaveV3)
    owner, sub = key.split("/")
    address = proto.book.sub_address(owner, int(sub))
    user = av.User(config=int(_call(proto.dep.pool.functions.getUserConfiguration(address), block)[0]
                              if isinstance(_call(proto.dep.pool.functions.getUserConfiguration(address), block),
                                            (list, tuple))
                              else _call(proto.dep.pool.functions.getUserConfiguration(address), block)))
    for sym, (a_token, debt_token, _stable) in proto.dep.tokens.items():
        user.scaled_supply[sym] = int(_call(a_token.functions.scaledBalanceOf(address), block))
        user.scaled_debt[sym] = int(_call(debt_token.functions.scaledBalanceOf(address), block))
    return user


def _aave_allows_liquidation(replay: Replay, key: str, reserves: dict[str, av.Reserve], user: av.User) -> bool:
    """Aave's own verdict: an eth_call of liquidationCall (1 unit of the first debt for the first collateral) from
    the keeper passes, or reverts with 45 HEALTH_FACTOR_NOT_BELOW_THRESHOLD."""
    proto = replay.protocol
    assert isinstance(proto, AaveV3)
    debt = next(s for s, r in reserves.items() if user.borrowing(r))
    coll = next(s for s, r in reserves.items() if user.using_as_collateral(r))
    owner, sub = key.split("/")
    fn = proto.dep.pool.functions.liquidationCall(replay.world.tokens[coll].address, replay.world.tokens[debt].address,
                                                  proto.book.sub_address(owner, int(sub)), 1, True)
    try:
        fn.call({"from": replay.world.address(KEEPER)})
        return True
    except Exception as exc:  # web3 raises ContractLogicError with the reason
        assert "45" in str(exc), exc
        return False


def test_health_factors_equal_the_model_at_every_step_and_liquidatable_exactly_when_aave_says_so():
    replay = _open(WALK.replace("keeper: {enabled: true}", "keeper: {enabled: false}"))
    try:
        replay.deploy()
        replay.setup()
        records = [replay.timeline.setup]
        seen = {True: 0, False: 0}
        for step in replay.plan.steps:
            records.append(replay.step(step))
            reserves = _reserves(replay)
            for key in KEYS:
                user = _user(replay, key)
                data = av.account_data(reserves, user)
                state = records[-1].accounts[key]
                assert state.health_factor == _hf(data), (step.index, key)
                assert state.collateral_value == data.total_collateral * 10**10, (step.index, key)
                assert state.debt_value == data.total_debt * 10**10, (step.index, key)
                model_says = data.health_factor < av.HEALTH_FACTOR_LIQUIDATION_THRESHOLD
                assert replay.protocol.liquidatable(state) == model_says, (step.index, key)
                assert (state.health_maint < 0) == model_says, (step.index, key)
                if data.total_collateral:
                    assert _aave_allows_liquidation(replay, key, reserves, user) == model_says, (step.index, key)
                seen[model_says] += 1
        assert seen[True] >= 4 and seen[False] >= 8  # the walk crosses the line both ways
    finally:
        replay.chain.close()


def test_partial_and_full_liquidations_match_the_model_to_the_wei_and_debt_without_collateral_stays_debt():
    replay = _open(WALK)
    receipts: list[dict[str, Any]] = []
    try:
        replay.deploy()
        replay.setup()
        proto = replay.protocol
        assert isinstance(proto, AaveV3)
        decode = proto.decode_events

        def keep(receipt: dict[str, Any]) -> list[Any]:
            receipts.append(receipt)
            return decode(receipt)

        proto.decode_events = keep  # type: ignore[method-assign]
        for step in replay.plan.steps:
            record = replay.step(step)
            reserves = _reserves(replay)
            for key in KEYS:  # after the keeper too, marginlab's health factor is the model's
                assert record.accounts[key].health_factor == _hf(av.account_data(reserves, _user(replay, key)))
        checked = {"partial": 0, "full": 0, "capped by collateral": 0}
        by_block = {}
        for receipt in receipts:
            for ev in proto.dep.pool.events.LiquidationCall().process_receipt(receipt):
                by_block[int(receipt["blockNumber"])] = ev["args"]
        liquidations = replay.timeline.liquidations
        assert len(liquidations) == len(by_block) >= 3
        for liq, (block, args) in zip(liquidations, sorted(by_block.items()), strict=True):
            key = f"{liq.account}/{liq.sub_id}"
            before = _user(replay, key, block - 1)
            at = _reserves(replay, block)
            hf_before = av.account_data(_reserves(replay, block - 1), before).health_factor
            expected = av.liquidate(at, before, liq.collateral, liq.debt)
            assert (int(args["debtToCover"]), int(args["liquidatedCollateralAmount"])) == (
                expected.debt_repaid, expected.collateral_to_liquidator), key
            assert (liq.repaid, liq.to_liquidator, liq.protocol_cut, liq.seized) == (
                expected.debt_repaid, expected.collateral_to_liquidator, expected.protocol_fee,
                expected.collateral_to_liquidator + expected.protocol_fee), key
            after = _user(replay, key, block)
            assert (after.scaled_supply[liq.collateral], after.scaled_debt[liq.debt]) == (
                expected.scaled_supply_after, expected.scaled_debt_after), key
            assert liq.health_factor_before == (None if hf_before == av.UINT256_MAX else hf_before)
            owed = av.debt_balance(before, liq.debt, at[liq.debt])
            if av.supply_balance(before, liq.collateral, at[liq.collateral]) == expected.collateral_to_liquidator + \
                    expected.protocol_fee:
                checked["capped by collateral"] += 1
            elif expected.debt_repaid == av.percent_mul(owed, 5000):
                checked["partial"] += 1
            else:
                assert expected.debt_repaid == owed
                checked["full"] += 1
        assert all(checked.values()), checked
        # gus: the gap took all his WBTC; Aave leaves the rest as his USDC debt, which nobody absorbed.
        for entry in replay.timeline.bad_debts:  # nobody absorbs any of it
            assert entry.left_as_debt == entry.debt > 0 and entry.covered_by_reserves == entry.socialised == 0
        (bad,) = [b for b in replay.timeline.bad_debts if b.account == "gus"]
        assert bad.asset == "USDC"
        last = replay.timeline.steps[-1].accounts["gus/0"]
        assert set(last.balances) == {"USDC"} and last.balances["USDC"] < -bad.debt  # still owed, and accruing
        assert last.collateral_value == 0 and last.health_factor == 0
        gus = _user(replay, "gus/0")
        assert gus.scaled_debt["USDC"] > 0 and av.account_data(_reserves(replay), gus).total_collateral == 0
    finally:
        replay.chain.close()


def test_gap_crash_on_three_protocols_exits_0_and_the_table_shows_aave_leaving_the_shortfall_as_debt(tmp_path):
    import json
    import subprocess

    out = tmp_path / "gap"
    proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", str(ROOT / "scenarios" / "gap-crash.yaml"),
                           "--compare-protocols", "marginlab,aave-v3,morpho-blue", "--chain", CHAIN, "--out",
                           str(out), "--quiet", "--no-charts"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    rows = {r["protocol"]: r for r in json.loads((out / "compare-protocols.json").read_text())}
    assert float(rows["aave-v3"]["left_as_debt_usd"]) > 6000 and float(rows["aave-v3"]["lenders_loss_usd"]) == 0
    assert float(rows["marginlab"]["left_as_debt_usd"]) == 0 < float(rows["marginlab"]["lenders_loss_usd"])
    table = (out / "compare-protocols.md").read_text()
    assert "## What differs, and why" in table and "leaves debt without collateral as variable debt" in table
    timeline = json.loads((out / "aave-v3" / "timeline.json").read_text())
    (bad,) = timeline["bad_debts"]
    assert bad["left_as_debt"] == bad["debt"] and bad["socialised"] == bad["covered_by_reserves"] == "0"
    assert "left_as_debt" not in json.loads((out / "marginlab" / "timeline.json").read_text())["bad_debts"][0]
