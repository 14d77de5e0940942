"""The verbs a stateful machine's replay needs, planned without a chain: donate, settle_bad_debt, owner:, all.

The malformed cases for the same fields are in scenario_cases.py; this is the well-formed side: what each one
turns into (the sub-accounts addressed and the token units sent).
"""
from __future__ import annotations

from marginlab.numbers import UINT256_MAX
from marginlab.scenario.actions import verb_word
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text

SCENARIO = """\
name: machine-verbs
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 1000}}
accounts:
  - {name: alice, margin: isolated, positions: [{}, {}]}
  - {name: bob, margin: isolated, positions: [{}, {}]}
keeper: {enabled: false}
steps:
  - {action: {account: bob, donate: {WETH: 0.000000000000000001}}}
  - {action: {account: bob, owner: alice, position: 1, repay: {USDC: all}}}
  - {action: {account: bob, owner: alice, position: 1, deposit: {USDC: 2.5}}}
  - {action: {account: alice, position: 1, withdraw: {WETH: all}, expect_revert: ZeroAmount}}
  - {action: {account: lp, settle_bad_debt: {account: alice, position: 1}}}
  - {action: {account: lp, liquidate: {account: bob, position: 1, debt: USDC, collateral: WETH, amount: all}}}
  - {action: {account: alice, position: 0, transfer: {to_position: 0, amounts: {WETH: 1}}, expect_revert: SameSubAccount}}
"""


def _actions(mode: str = "as-written"):
    scenario, doc = parse_scenario_text(SCENARIO, "machine.yaml")
    return [s.actions[0] for s in build_plan(scenario, doc, mode).steps]


def test_donate_is_planned_in_token_units_for_the_actor():
    donate = _actions()[0]
    assert (verb_word(donate), donate.account, donate.amounts) == ("donate", "bob", {"WETH": 1})


def test_owner_addresses_the_owners_sub_account_and_all_is_uint256_max():
    repay, deposit = _actions()[1:3]
    assert (repay.account, repay.owner, repay.sub_id, repay.amounts) == ("bob", "alice", 1, {"USDC": UINT256_MAX})
    assert (deposit.owner, deposit.sub_id, deposit.amounts) == ("alice", 1, {"USDC": 2_500_000})
    assert repay.for_other and deposit.for_other


def test_withdraw_all_and_liquidate_all_are_uint256_max():
    withdraw, _, liquidate = _actions()[3:6]
    assert (withdraw.sub_id, withdraw.amounts, withdraw.expect_revert) == (1, {"WETH": UINT256_MAX}, "ZeroAmount")
    assert (liquidate.target, liquidate.target_sub_id, {liquidate.debt: liquidate.amount}) == ("bob", 1,
                                                                                           {"USDC": UINT256_MAX})


def test_settle_bad_debt_targets_another_accounts_sub_account():
    settle = _actions()[4]
    assert (verb_word(settle), settle.account, settle.target, settle.target_sub_id) == ("settle_bad_debt", "lp",
                                                                                         "alice", 1)


def test_a_same_sub_account_transfer_keeps_its_expected_revert():
    transfer = _actions()[6]
    assert (transfer.sub_id, transfer.to_sub_id, transfer.expect_revert) == (0, 0, "SameSubAccount")


def test_cross_margin_folds_owner_positions_into_sub_account_zero():
    repay = _actions("cross")[1]
    assert (repay.owner, repay.sub_id) == ("alice", 0)
