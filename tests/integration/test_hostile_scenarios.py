"""Scenario markets whose token is one of the hostile test tokens (`token: {kind: ...}`), replayed through the CLI
on a real local chain that marginlab starts itself. Interest is switched off (a zero rate model) so every
credited amount is exact: what a fee-on-transfer token delivers, to the wei.

Set MARGINLAB_CHAIN (or CHAIN) to ganache or anvil; default ganache.
"""
from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder, revert_data
from marginlab.cli import main
from marginlab.sim.engine import Replay
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text

CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
E18, E6 = 10**18, 10**6
ZERO_IRM = "irm: {base: 0, slope1: 0, slope2: 0}"
WEIGHTS = "asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1.0, maint: 1.0}"


@pytest.fixture(autouse=True)
def isolation():
    """Overrides the root conftest's brownie snapshot: marginlab starts its own node."""
    yield


def replay(tmp_path: Path, text: str, out: str, *extra: str) -> dict:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["replay", str(path), "--chain", CHAIN, "--out", str(tmp_path / out), "--quiet", "--no-charts",
                 *extra])
    assert code == 0
    return json.loads((tmp_path / out / "timeline.json").read_text())


def bal(record: dict, key: str, sym: str) -> int:
    return int(record["accounts"][key]["balances"].get(sym, "0"))


def received(amount: int, fee_bps: int) -> int:
    """FeeOnTransferToken.received: the fee is rounded down."""
    return amount - amount * fee_bps // 10_000


# ------------------------------------------------------------------ fee-on-transfer, to the wei
FEE_BOOK = f"""\
name: fee-book
seed: 1
markets:
  - {{symbol: FEE, decimals: 18, price: 10, {WEIGHTS}, liquidation_bonus: 0.05, {ZERO_IRM},
     token: {{kind: fee-on-transfer, fee_bps: 100}}}}
  - {{symbol: USDC, decimals: 6, price: 1, asset_weight: {{init: 0.9, maint: 0.95}}, liab_weight: {{init: 1.0, maint: 1.0}},
     liquidation_bonus: 0.02, {ZERO_IRM}}}
liquidity:
  - {{name: lp, deposits: {{FEE: 1000, USDC: 100000}}}}
accounts:
  - {{name: alice, positions: [{{deposit: {{FEE: 100}}, borrow: {{USDC: 500}}}}]}}
  - {{name: bob, positions: [{{deposit: {{USDC: 1000}}, borrow: {{FEE: 50}}}}]}}
keeper: {{max_liquidations_per_step: 1}}
steps:
  - {{action: {{account: alice, deposit: {{FEE: 10}}}}}}
  - {{action: {{account: bob, repay: {{FEE: 20}}}}}}
  - {{action: {{account: bob, repay: {{FEE: all}}}}}}
  - {{action: {{account: bob, donate: {{FEE: 1}}}}}}
  - {{prices: {{FEE: 5}}}}
  - {{prices: {{FEE: 3300}}}}
"""


def test_a_fee_on_transfer_market_is_credited_exactly_what_arrived(tmp_path):
    t = replay(tmp_path, FEE_BOOK, "chain")
    assert t["markets"][0]["token"] == "fee-on-transfer (100 bps)" and "token" not in t["markets"][1]
    setup, steps = t["setup"], t["steps"]
    # Set-up deposits are amounts sent: the vault credits what arrived (1 % burnt on the way in). Borrows are debt.
    assert bal(setup, "lp/0", "FEE") == received(1000 * E18, 100) == 990 * E18
    assert bal(setup, "alice/0", "FEE") == 99 * E18
    assert bal(setup, "bob/0", "FEE") == -50 * E18
    assert bal(steps[0], "alice/0", "FEE") == 99 * E18 + received(10 * E18, 100)  # 108.9
    assert bal(steps[1], "bob/0", "FEE") == -50 * E18 + received(20 * E18, 100)  # -30.2
    # repay all pulls the whole debt and credits it less the fee: a little debt is left.
    debt = 50 * E18 - received(20 * E18, 100)
    assert bal(steps[2], "bob/0", "FEE") == -debt + received(debt, 100) == -302 * E18 // 1000
    # A donation credits nobody and moves no market total.
    assert steps[3]["accounts"] == steps[2]["accounts"]
    assert steps[3]["markets"]["FEE"]["total_deposits"] == steps[2]["markets"]["FEE"]["total_deposits"]
    # The keeper liquidates alice (FEE collateral, USDC debt): health factor 0.926 < 0.95, so the whole debt;
    # seizure is a book entry, so no fee: 500 × 1.05 / 5 = 105 FEE.
    liq_alice, liq_bob = t["liquidations"]
    assert (liq_alice["step"], liq_alice["account"], liq_alice["debt"], liq_alice["collateral"]) == \
        (4, "alice", "USDC", "FEE")
    assert (int(liq_alice["repaid"]), int(liq_alice["seized"])) == (500 * E6, 105 * E18)
    assert bal(steps[4], "alice/0", "FEE") == 108_900 * E18 // 1000 - 105 * E18
    # Then bob (FEE debt, health factor 0.953: half of it): the keeper pays 0.151 FEE, 0.14949 arrives, and the
    # vault books and pays collateral for what arrived only.
    assert (liq_bob["step"], liq_bob["account"], liq_bob["debt"], liq_bob["collateral"]) == (5, "bob", "FEE", "USDC")
    half = (302 * E18 // 1000) // 2
    assert int(liq_bob["repaid"]) == received(half, 100) == 149_490 * E18 // 10**6
    assert bal(steps[5], "bob/0", "FEE") == -302 * E18 // 1000 + int(liq_bob["repaid"])
    assert bal(steps[5], "bob/0", "USDC") == 1000 * E6 - int(liq_bob["seized"])
    assert 0 < int(liq_bob["seized"]) <= int(Decimal(liq_bob["repaid"]) * 3300 * Decimal("1.02") / E18 * E6)
    # The mirror values the same books the same way: byte-identical timeline.
    replay(tmp_path, FEE_BOOK, "mirror", "--reads", "mirror")
    assert (tmp_path / "mirror" / "timeline.json").read_bytes() == (tmp_path / "chain" / "timeline.json").read_bytes()


# ------------------------------------------------------------------ every supported kind
KINDS = {  # symbol: (kind, decimals, fee bps)
    "FEE": ("{kind: fee-on-transfer, fee_bps: 50}", 18, 50),
    "HOOK": ("{kind: hook}", 8, 0),
    "RZERO": ("{kind: revert-on-zero}", 6, 0),
    "NORET": ("{kind: no-return}", 18, 0),
    "RFALSE": ("{kind: returns-false}", 18, 0),
    "PAUSE": ("{kind: pausable-blocklist}", 6, 0),
}
SYMS = list(KINDS)


def every_kind_book() -> str:
    """Per kind: lp lends 1000; alice/i holds 100 of it against 75 USDC of debt; carol/i borrows 100 of it against
    1000 USDC. Steps: carol donates 1 of each, repays each debt in full, then every kind falls to $0.80 and the
    keeper liquidates each of alice's sub-accounts (RZERO with a protocol share: the cut is booked, not sent)."""
    markets = [f"  - {{symbol: {s}, decimals: {d}, price: 1, {WEIGHTS}, liquidation_bonus: 0.05, {ZERO_IRM}, "
               f"protocol_share: {'0.1' if s == 'RZERO' else '0'}, token: {k}}}" for s, (k, d, _) in KINDS.items()]
    markets.append(f"  - {{symbol: USDC, decimals: 6, price: 1, {WEIGHTS}, liquidation_bonus: 0.05, {ZERO_IRM}}}")
    lend = ", ".join(f"{s}: 1000" for s in SYMS)
    alice = ", ".join(f"{{deposit: {{{s}: 100}}, borrow: {{USDC: 75}}}}" for s in SYMS)
    carol = ", ".join(f"{{deposit: {{USDC: 1000}}, borrow: {{{s}: 100}}}}" for s in SYMS)
    repays = ", ".join(f"{{account: carol, position: {i}, repay: {{{s}: all}}}}" for i, s in enumerate(SYMS))
    donation = ", ".join(f"{s}: 1" for s in SYMS)
    crash = ", ".join(f"{s}: 0.8" for s in SYMS)
    return "\n".join([
        "name: every-kind", "seed: 2", "markets:", *markets,
        "liquidity:", f"  - {{name: lp, deposits: {{USDC: 100000, {lend}}}}}",
        "accounts:", f"  - {{name: alice, margin: isolated, positions: [{alice}]}}",
        f"  - {{name: carol, margin: isolated, positions: [{carol}]}}",
        "steps:", f"  - {{action: {{account: carol, donate: {{{donation}}}}}}}", f"  - {{actions: [{repays}]}}",
        f"  - {{prices: {{{crash}}}}}", ""])


def test_every_supported_token_kind_replays_with_exact_balances(tmp_path):
    t = replay(tmp_path, every_kind_book(), "o")
    assert [m.get("token") for m in t["markets"]] == \
        ["fee-on-transfer (50 bps)", "hook", "revert-on-zero", "no-return", "returns-false", "pausable-blocklist", None]
    setup, (donated, repaid, crashed) = t["setup"], t["steps"]
    one = {s: 10 ** d for s, (_, d, _) in KINDS.items()}
    for i, (s, (_, _, fee)) in enumerate(KINDS.items()):
        assert bal(setup, "lp/0", s) == received(1000 * one[s], fee), s
        assert bal(setup, f"alice/{i}", s) == received(100 * one[s], fee), s
        assert bal(setup, f"carol/{i}", s) == -100 * one[s], s
        # repay all: the whole debt arrives, except a fee token's fee.
        assert bal(repaid, f"carol/{i}", s) == -100 * one[s] + received(100 * one[s], fee), s
        assert donated["markets"][s]["total_deposits"] == setup["markets"][s]["total_deposits"], s
    assert donated["accounts"] == setup["accounts"]
    assert all(a["ok"] for step in t["steps"] for a in step["actions"])
    # $0.80: alice/i's health factor is 0.907 (FEE: 0.902), so each whole 75 USDC debt is repaid and
    # 75 × 1.05 / 0.8 = 98.4375 of the collateral seized.
    liquidated = {x["collateral"]: x for x in t["liquidations"]}
    assert sorted(liquidated) == sorted(SYMS) and len(t["liquidations"]) == len(SYMS)
    for i, s in enumerate(SYMS):
        x = liquidated[s]
        seized = 984_375 * one[s] // 10_000
        assert (x["account"], x["sub_id"], x["debt"], int(x["repaid"]), int(x["seized"])) == \
            ("alice", i, "USDC", 75 * E6, seized), s
        # The bonus part is 98.4375 - 93.75 = 4.6875; RZERO's protocol share of it (10 %: 0.46875) is booked to
        # reserves: a book entry, no transfer.
        cut = 46_875 * one[s] // 10**5 if s == "RZERO" else 0
        assert (int(x["protocol_cut"]), int(x["to_liquidator"])) == (cut, seized - cut), s
        assert bal(crashed, f"alice/{i}", s) == received(100 * one[s], KINDS[s][2]) - seized, s


def test_each_kind_deploys_its_hostile_contract_with_the_batcher_as_minter():
    """The replay's tokens are the hostile contracts themselves, each showing its one behaviour, and the batcher
    deployed them (so it could mint their set-up balances)."""
    scenario, doc = parse_scenario_text(every_kind_book())
    artifacts = Artifacts()
    chain = Chain.open(ChainOptions(backend=CHAIN), RevertDecoder(artifacts.all_abis()))  # type: ignore[arg-type]
    try:
        replay = Replay(build_plan(scenario, doc), chain, artifacts)
        replay.deploy()
        batcher, nobody = replay.world.batcher.address, "0x" + "11" * 20
        tokens = replay.world.tokens

        def call(sym: str, fn: str, *args, sender: str = nobody) -> bytes:
            data = getattr(tokens[sym].functions, fn)(*args)._encode_transaction_data()
            return bytes(chain.w3.eth.call({"to": tokens[sym].address, "from": sender, "data": data}))

        for sym in SYMS:
            assert tokens[sym].functions.deployer().call() == batcher, sym
        assert tokens["USDC"].functions.minter().call() == batcher
        assert tokens["FEE"].functions.feeBps().call() == 50
        assert tokens["FEE"].functions.received(10_000).call() == 9_950
        assert tokens["HOOK"].functions.hookOf(nobody).call() == "0x" + "00" * 20  # no hook registered
        assert call("NORET", "transfer", batcher, 0) == b""  # USDT-style: no return value
        assert call("RFALSE", "transfer", batcher, 1) == (0).to_bytes(32, "big")  # false, not a revert
        assert tokens["PAUSE"].functions.paused().call() is False
        with pytest.raises(Exception) as zero:
            call("RZERO", "transfer", batcher, 0)
        assert "ZeroAmountTransfer" in chain.decoder.decode(revert_data(zero.value) or b"")
    finally:
        chain.close()


# ------------------------------------------------------------------ the issuer pauses and blocks (token_admin)
ROOT = Path(__file__).resolve().parents[2]


def test_a_paused_debt_token_stops_liquidation_and_the_delay_becomes_bad_debt(tmp_path):
    """scenarios/usdc-paused.yaml: while USDC is paused nobody can repay it, so the keeper cannot liquidate;
    unpaused an hour and a 10 % fall later, all of alice's collateral no longer covers her debt."""
    t = replay(tmp_path, (ROOT / "scenarios" / "usdc-paused.yaml").read_text(), "chain")
    steps = t["steps"]
    assert "tokens" not in t["setup"]
    assert [s.get("tokens") for s in steps] == [{"USDC": "paused"}] * 4 + [{"USDC": "live"}] + \
        [{"USDC": "live; blocked: vault"}] * 3 + [{"USDC": "live"}] * 2
    assert [(a["account"], a["ok"], a["revert"]) for a in steps[1]["actions"]] == \
        [("alice", False, "EnforcedPause()")]
    for step in steps[2:4]:  # alice is liquidatable (HF 0.963, then 0.867), every attempt reverts in the token
        assert [(a["account"], a["ok"], a["revert"]) for a in step["actions"]] == \
            [("keeper", False, "EnforcedPause()")]
        assert int(step["accounts"]["alice/0"]["health_factor"]) < 10**18
    [liq] = t["liquidations"]
    assert (liq["step"], liq["account"], liq["debt"], liq["collateral"], int(liq["seized"])) == \
        (4, "alice", "USDC", "WETH", 10 * E18)
    [bad] = t["bad_debts"]
    assert (bad["step"], bad["account"], bad["asset"]) == (4, "alice", "USDC")
    assert 400 * E6 < int(bad["debt"]) < 500 * E6
    for step, who in ((6, "bob"), (7, "lp")):  # the vault blocked: nothing moves in or out
        assert [(a["account"], a["ok"], a["revert"]) for a in steps[step]["actions"]] == \
            [(who, False, "Blocked(vault)")]
    assert steps[9]["actions"][0]["ok"]
    replay(tmp_path, (ROOT / "scenarios" / "usdc-paused.yaml").read_text(), "mirror", "--reads", "mirror")
    assert (tmp_path / "mirror" / "timeline.json").read_bytes() == (tmp_path / "chain" / "timeline.json").read_bytes()


PAUSED_COLLATERAL = f"""\
name: paused-collateral
seed: 1
markets:
  - {{symbol: PAXG, decimals: 18, price: 2000, {WEIGHTS}, liquidation_bonus: 0.05, {ZERO_IRM},
     token: {{kind: pausable-blocklist}}}}
  - {{symbol: USDC, decimals: 6, price: 1, {WEIGHTS}, liquidation_bonus: 0.05, {ZERO_IRM},
     token: {{kind: pausable-blocklist}}}}
liquidity:
  - {{name: lp, deposits: {{USDC: 100000}}}}
accounts:
  - {{name: alice, positions: [{{deposit: {{PAXG: 10}}, borrow: {{USDC: 15000}}}}]}}
steps:
  - {{token_admin: {{PAXG: {{paused: true}}, USDC: {{block: [keeper]}}}}}}
  - {{actions: [{{account: alice, withdraw: {{PAXG: 0.5}}, expect_revert: EnforcedPause}},
               {{account: lp, deposit: {{PAXG: 1}}, expect_revert: EnforcedPause}}]}}
  - {{token_admin: {{PAXG: {{paused: true}}}}}}
  - {{prices: {{PAXG: "-15%"}}}}
  - {{token_admin: {{USDC: {{unblock: [keeper]}}}}}}
"""


def test_paused_collateral_is_still_seized_and_a_blocked_keeper_cannot_liquidate(tmp_path):
    """Seizure is a book entry, so a paused collateral token does not stop liquidation; the keeper's repayment is
    a transfer, so blocking the keeper does. Pausing a paused token is a no-op, not a revert that ends the
    replay, and an action paying in a paused token is not funded by a mint (which would revert first)."""
    t = replay(tmp_path, PAUSED_COLLATERAL, "o")
    steps = t["steps"]
    assert steps[0]["tokens"] == {"PAXG": "paused", "USDC": "live; blocked: keeper"}
    # lp holds no PAXG: the deposit goes out unfunded (a mint would revert too) and meets the pause itself.
    assert [a["revert"] for a in steps[1]["actions"]] == ["EnforcedPause()", "EnforcedPause()"]
    assert steps[2]["tokens"] == steps[0]["tokens"] and steps[2]["actions"] == []
    assert [(a["account"], a["ok"], a["revert"]) for a in steps[3]["actions"]] == \
        [("keeper", False, "Blocked(keeper)")]
    assert steps[4]["tokens"] == {"PAXG": "paused", "USDC": "live"}
    [liq] = t["liquidations"]
    assert (liq["step"], liq["collateral"], liq["debt"]) == (4, "PAXG", "USDC")
    # HF 0.963 ≥ 0.95: half the debt, and its collateral moves inside the vault while PAXG stays paused.
    assert int(liq["repaid"]) == 7_500 * E6
    assert bal(steps[4], "alice/0", "PAXG") == 10 * E18 - int(liq["seized"])
    assert int(liq["seized"]) == 7_500 * 105 * E18 // (100 * 1_700)
