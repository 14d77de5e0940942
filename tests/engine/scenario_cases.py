"""Malformed scenario files, each with the one line `marginlab check` must print for it.

Every case is the valid BASE scenario with some lines replaced (by 1-based line number) or appended, so the
expected line number is easy to read off BASE below.
"""
from __future__ import annotations

BASE = """\
name: t
seed: 1
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 100000, WETH: 10}}
accounts:
  - name: alice
    positions:
      - {deposit: {WETH: 1}, borrow: {USDC: 1000}}
steps:
  - {prices: {WETH: "-10%"}}
"""

WETH = ("{symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, "
        "liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05")


PAUSABLE_USDC = ("  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, "
                 "liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02, token: {kind: pausable-blocklist}}")


def weth(**fields: str) -> str:
    """Line 4 with some WETH market fields replaced or added."""
    base = {"symbol": "WETH", "decimals": "18", "price": "2000", "asset_weight": "{init: 0.8, maint: 0.85}",
            "liab_weight": "{init: 1.0, maint: 1.0}", "liquidation_bonus": "0.05"}
    base.update(fields)
    return "  - {" + ", ".join(f"{k}: {v}" for k, v in base.items()) + "}"


def make(replace: dict[int, str] | None = None, append: str = "") -> str:
    lines = BASE.splitlines()
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    return "\n".join(lines) + "\n" + append


# (id, file content (str or bytes), expected first stderr line without the "FILE:" prefix)
CASES: list[tuple[str, str | bytes, str]] = [
    # --- the file itself
    ("empty-file", "", "1: (root): file is empty: expected a scenario mapping"),
    ("only-whitespace", "\n  \n", "1: (root): file is empty: expected a scenario mapping"),
    ("only-comment", "# nothing\n", "1: (root): file holds no YAML document: expected a scenario mapping"),
    ("not-utf8", b"name: t\nseed: \xff\n", "2: (root): file is not UTF-8 text (byte 0xff at offset 14)"),
    ("yaml-syntax", make({5: "  - {symbol: USDC, decimals: 6"}),
     "6: (root): not valid YAML: while parsing a flow mapping expected ',' or '}', but got ':'"),
    ("yaml-tab-indent", "name: t\n\tseed: 1\n",
     "2: (root): not valid YAML: while scanning for the next token found character '\\t' that cannot start any token"),
    ("top-level-list", "- name: t\n", "1: (root): expected a mapping of scenario fields at the top level, got a list"),
    ("top-level-scalar", "hello\n",
     "1: (root): expected a mapping of scenario fields at the top level, got a string"),
    ("two-documents", BASE + "---\nname: u\n", "15: (root): file holds several YAML documents; a scenario is exactly one"),
    ("duplicate-yaml-key", make({2: "seed: 1\nseed: 2"}), "3: seed: duplicate key 'seed' (first on line 2)"),
    # --- top-level fields
    ("missing-name", make({1: "# no name"}), "2: name: required field is missing"),
    ("missing-markets", "name: t\n", "1: markets: required field is missing"),
    ("unknown-top-level-key", make(append="colour: red\n"),
     "14: colour: unknown field; expected one of: name, description, protocol, seed, markets, liquidity, accounts, steps, "
     "paths, keeper, liquidation, expect, correlated, books, sequencer, strategies, pools, oracles, keepers, "
     "keeper_gas"),
    ("seed-negative", make({2: "seed: -1"}), "2: seed: must be ≥ 0, got -1"),
    ("seed-not-integer", make({2: "seed: 1.5"}), "2: seed: expected a whole number, got 1.5"),
    ("markets-not-list", make({3: "markets: {}", 4: "", 5: ""}), "3: markets: expected a list, got a mapping"),
    ("markets-empty", make({3: "markets: []", 4: "", 5: ""}), "3: markets: must not be empty"),
    # --- markets
    ("decimals-too-large", make({4: weth(decimals="37")}), "4: markets[0].decimals: must be ≤ 36, got 37"),
    ("decimals-negative", make({4: weth(decimals="-1")}), "4: markets[0].decimals: must be ≥ 0, got -1"),
    ("decimals-bool", make({4: weth(decimals="true")}), "4: markets[0].decimals: expected a whole number, got a boolean"),
    ("price-zero", make({4: weth(price="0")}), "4: markets[0].price: must be greater than 0, got 0"),
    ("price-negative", make({4: weth(price="-5")}), "4: markets[0].price: must be greater than 0, got -5"),
    ("price-nan", make({4: weth(price=".nan")}), "4: markets[0].price: expected a positive number, got NaN"),
    ("price-infinite", make({4: weth(price=".inf")}), "4: markets[0].price: expected a positive number, got infinity"),
    ("price-text", make({4: weth(price="cheap")}), "4: markets[0].price: expected a positive number, got 'cheap'"),
    ("price-too-precise-for-feed", make({4: weth(price="2000.000000001")}),
     "4: markets[0].price: price 2000.000000001 has more decimal places than the WETH feed has (8)"),
    ("asset-weights-out-of-order", make({4: weth(asset_weight="{init: 0.9, maint: 0.85}")}),
     "4: markets[0].asset_weight: init (0.9) must not exceed maint (0.85)"),
    ("asset-weight-above-one", make({4: weth(asset_weight="{init: 0.8, maint: 1.2}")}),
     "4: markets[0].asset_weight.maint: must be between 0 and 1, got 1.2"),
    ("asset-weight-one", make({4: weth(asset_weight="{init: 0.8, maint: 1}")}),
     "4: markets[0].asset_weight: maint must be below 1, got 1"),
    ("liab-weight-below-one", make({4: weth(liab_weight="{init: 1.0, maint: 0.9}")}),
     "4: markets[0].liab_weight.maint: a liability weight must be at least 1, got 0.9"),
    ("liab-weights-out-of-order", make({4: weth(liab_weight="{init: 1.0, maint: 1.1}")}),
     "4: markets[0].liab_weight: init (1) must be at least maint (1.1)"),
    ("bonus-zero", make({4: weth(liquidation_bonus="0")}),
     "4: markets[0].liquidation_bonus: must be greater than 0, got 0"),
    ("bonus-too-large-for-weight", make({4: weth(liquidation_bonus="0.2")}),
     "4: markets[0].liquidation_bonus: asset_weight.maint × (1 + liquidation_bonus) = 1.02 must not exceed 1, "
     "or a liquidation could leave the account less healthy"),
    ("missing-weight", make({4: weth(asset_weight="{init: 0.8}")}),
     "4: markets[0].asset_weight.maint: required field is missing"),
    ("unknown-market-key", make({4: weth(colour="red")}),
     "4: markets[0].colour: unknown field; expected one of: symbol, decimals, price, asset_weight, liab_weight, "
     "liquidation_bonus, protocol_share, reserve_factor, supply_cap, borrow_cap, irm, feed_decimals, heartbeat, "
     "token, oracle_guards"),
    ("duplicate-symbol", make({5: weth()}), "5: markets[1].symbol: duplicate market WETH (also markets[0])"),
    ("symbol-with-space", make({4: weth(symbol="'W ETH'")}),
     "4: markets[0].symbol: 'W ETH' is not a valid name: use letters, digits, '_', '.' or '-', starting with a letter"),
    ("irm-kink-one", make({4: weth(irm="{kink: 1}")}),
     "4: markets[0].irm: kink must be strictly between 0 and 1, got 1"),
    ("heartbeat-zero", make({4: weth(heartbeat="0")}), "4: markets[0].heartbeat: must be > 0, got 0"),
    # --- markets: token kinds (contracts/sim/hostile/)
    ("token-kind-unknown", make({4: weth(token="{kind: weird}")}),
     "4: markets[0].token.kind: expected 'plain', 'fee-on-transfer', 'hook', 'revert-on-zero', 'no-return', "
     "'returns-false' or 'pausable-blocklist', got 'weird'"),
    ("token-kind-rebasing-refused", make({4: weth(token="{kind: rebasing}")}),
     "4: markets[0].token.kind: rebasing tokens are not supported: the vault books fixed token amounts, so a rebase "
     "leaves an untracked surplus or makes the vault short (tests/integration/test_hostile_tokens.py); list a "
     "non-rebasing wrapper instead"),
    ("token-kind-missing", make({4: weth(token="{fee_bps: 100}")}), "4: markets[0].token.kind: required field is missing"),
    ("token-as-text", make({4: weth(token="fee-on-transfer")}),
     "4: markets[0].token: expected a mapping like {kind: fee-on-transfer, fee_bps: 100}, got the text "
     "'fee-on-transfer'"),
    ("token-fee-missing", make({4: weth(token="{kind: fee-on-transfer}")}),
     "4: markets[0].token: fee-on-transfer needs fee_bps: the fee in basis points (0 ≤ fee_bps < 10000)"),
    ("token-fee-whole-fee", make({4: weth(token="{kind: fee-on-transfer, fee_bps: 10000}")}),
     "4: markets[0].token.fee_bps: must be < 10000, got 10000"),
    ("token-fee-negative", make({4: weth(token="{kind: fee-on-transfer, fee_bps: -1}")}),
     "4: markets[0].token.fee_bps: must be ≥ 0, got -1"),
    ("token-fee-fractional", make({4: weth(token="{kind: fee-on-transfer, fee_bps: 0.5}")}),
     "4: markets[0].token.fee_bps: expected a whole number, got 0.5"),
    ("token-fee-bool", make({4: weth(token="{kind: fee-on-transfer, fee_bps: true}")}),
     "4: markets[0].token.fee_bps: expected a whole number, got a boolean"),
    ("token-fee-on-other-kind", make({4: weth(token="{kind: hook, fee_bps: 100}")}),
     "4: markets[0].token: fee_bps applies to kind fee-on-transfer only, not hook"),
    ("token-unknown-key", make({4: weth(token="{kind: hook, hook: 0x1}")}),
     "4: markets[0].token.hook: unknown field; expected one of: kind, fee_bps"),
    # --- amounts
    ("amount-negative", make({7: "  - {name: lp, deposits: {USDC: -1}}"}),
     "7: liquidity[0].deposits.USDC: amount must not be negative, got -1"),
    ("amount-bool", make({7: "  - {name: lp, deposits: {USDC: yes}}"}),
     "7: liquidity[0].deposits.USDC: expected an amount, got a boolean (true)"),
    ("amount-nan", make({7: "  - {name: lp, deposits: {USDC: .NaN}}"}),
     "7: liquidity[0].deposits.USDC: expected an amount, got NaN"),
    ("amount-infinite", make({7: "  - {name: lp, deposits: {USDC: .inf}}"}),
     "7: liquidity[0].deposits.USDC: expected an amount, got infinity"),
    ("amount-null", make({7: "  - {name: lp, deposits: {USDC: ~}}"}),
     "7: liquidity[0].deposits.USDC: expected an amount, got nothing (null)"),
    ("amount-too-precise", make({11: "      - {deposit: {WETH: 1}, borrow: {USDC: 0.0000001}}"}),
     "11: accounts[0].positions[0].borrow.USDC: 0.0000001 has more decimal places than USDC has (6)"),
    ("amount-above-uint256", make({11: "      - {deposit: {WETH: 1e60}, borrow: {USDC: 1}}"}),
     "11: accounts[0].positions[0].deposit.WETH: 1.000000E+60 WETH is more than 2^256-1 token units"),
    ("amount-unknown-asset", make({7: "  - {name: lp, deposits: {DOGE: 1}}"}),
     "7: liquidity[0].deposits.DOGE: unknown asset 'DOGE' (markets: WETH, USDC)"),
    ("deposit-and-borrow-same-asset", make({11: "      - {deposit: {USDC: 1}, borrow: {USDC: 1}}"}),
     "11: accounts[0].positions[0].borrow.USDC: USDC is both deposited and borrowed in one position; "
     "a sub-account holds one signed balance per asset"),
    # --- accounts
    ("duplicate-account", make({9: "  - name: lp"}),
     "9: accounts[0].name: duplicate account name 'lp' (also liquidity[0])"),
    ("margin-unknown", make({9: "  - name: alice\n    margin: portfolio"}),
     "10: accounts[0].margin: expected 'cross' or 'isolated', got 'portfolio'"),
    ("positions-empty", make({10: "    positions: []", 11: ""}), "10: accounts[0].positions: must not be empty"),
    ("position-unknown-key", make({11: "      - {deposit: {WETH: 1}, lend: {USDC: 1}}"}),
     "11: accounts[0].positions[0].lend: unknown field; expected one of: deposit, borrow"),
    ("account-count-zero", make({9: "  - name: alice\n    count: 0"}), "10: accounts[0].count: must be ≥ 1, got 0"),
    # --- steps
    ("price-change-below-minus-100", make({13: "  - {prices: {WETH: \"-100%\"}}"}),
     "13: steps[0].prices.WETH: a fall of 100% would make the price zero or negative"),
    ("price-change-without-sign", make({13: "  - {prices: {WETH: \"10%\"}}"}),
     "13: steps[0].prices.WETH: a relative price must start with + or -, like \"-30%\"; got '10%'"),
    ("step-price-unknown-asset", make({13: "  - {prices: {DOGE: 1}}"}),
     "13: steps[0].prices.DOGE: unknown asset 'DOGE' (markets: WETH, USDC)"),
    ("step-price-negative", make({13: "  - {prices: {WETH: -3}}"}),
     "13: steps[0].prices.WETH: must be greater than 0, got -3"),
    ("advance-negative", make({13: "  - {advance: -60}"}), "13: steps[0].advance: must be ≥ 0, got -60"),
    ("advance-fractional", make({13: "  - {advance: 1.5}"}), "13: steps[0].advance: expected a whole number, got 1.5"),
    ("empty-step", make({13: "  - {}"}),
     "13: steps[0]: a step needs at least one of advance, oracle, prices, token_admin, governance, liquidity_crunch, action, actions"),
    ("unknown-step-key", make({13: "  - {wait: 60}"}),
     "13: steps[0].wait: unknown field; expected one of: label, advance, oracle, prices, token_admin, governance, liquidity_crunch, action, actions"),
    ("action-unknown-account", make({13: "  - {action: {account: mallory, repay: {USDC: 1}}}"}),
     "13: steps[0].action.account: unknown account 'mallory'"),
    ("action-unknown-asset", make({13: "  - {action: {account: alice, repay: {DAI: 1}}}"}),
     "13: steps[0].action.repay.DAI: unknown asset 'DAI' (markets: WETH, USDC)"),
    ("action-two-verbs", make({13: "  - {action: {account: alice, repay: {USDC: 1}, borrow: {USDC: 1}}}"}),
     "13: steps[0].action: an action needs exactly one of deposit, withdraw, borrow, repay, transfer, liquidate, "
     "donate, settle_bad_debt (got borrow, repay)"),
    ("action-no-verb", make({13: "  - {action: {account: alice}}"}),
     "13: steps[0].action: an action needs exactly one of deposit, withdraw, borrow, repay, transfer, liquidate, "
     "donate, settle_bad_debt (got none)"),
    ("action-position-out-of-range", make({13: "  - {action: {account: alice, position: 2, repay: {USDC: 1}}}"}),
     "13: steps[0].action.position: alice has 1 position(s); index 2 is out of range"),
    ("oracle-unknown-fault", make({13: "  - {oracle: {WETH: broken}}"}),
     "13: steps[0].oracle.WETH: expected 'ok', 'stale', 'zero', 'negative', {clamp: {floor: P}} or "
     "{misprice: {factor_exp: K}}, got 'broken'"),
    # --- token_admin: a pausable-blocklist token's issuer (line 5: USDC as that kind)
    ("token-admin-plain-token", make({13: "  - {token_admin: {WETH: {paused: true}}}"}),
     "13: steps[0].token_admin.WETH: WETH is a plain token, which has no issuer to pause or block; token_admin "
     "needs a market with token: {kind: pausable-blocklist}"),
    ("token-admin-unknown-asset", make({13: "  - {token_admin: {DAI: {paused: true}}}"}),
     "13: steps[0].token_admin.DAI: unknown asset 'DAI' (markets: WETH, USDC)"),
    ("token-admin-unknown-account",
     make({5: PAUSABLE_USDC, 13: "  - {token_admin: {USDC: {block: [vault, mallory]}}}"}),
     "13: steps[0].token_admin.USDC.block[1]: unknown account 'mallory' (block or unblock the scenario's accounts "
     "and liquidity providers, or vault / keeper)"),
    ("token-admin-nothing", make({5: PAUSABLE_USDC, 13: "  - {token_admin: {USDC: {}}}"}),
     "13: steps[0].token_admin.USDC: give at least one of paused: true/false, block: [names], unblock: [names]"),
    ("token-admin-block-and-unblock",
     make({5: PAUSABLE_USDC, 13: "  - {token_admin: {USDC: {block: [alice], unblock: [alice]}}}"}),
     "13: steps[0].token_admin.USDC: alice is both blocked and unblocked in one step"),
    ("token-admin-paused-not-bool", make({5: PAUSABLE_USDC, 13: "  - {token_admin: {USDC: {paused: maybe}}}"}),
     "13: steps[0].token_admin.USDC.paused: expected true or false, got 'maybe'"),
    ("token-admin-unknown-field", make({5: PAUSABLE_USDC, 13: "  - {token_admin: {USDC: {freeze: [alice]}}}"}),
     "13: steps[0].token_admin.USDC.freeze: unknown field; expected one of: paused, block, unblock"),
    ("liquidate-same-assets",
     make({13: "  - {action: {account: lp, liquidate: {account: alice, debt: USDC, collateral: USDC, amount: 1}}}"}),
     "13: steps[0].action.liquidate.collateral: debt and collateral must be different assets"),
    # --- paths, keeper, expect
    ("path-unknown-model", make(append="paths:\n  WETH: {model: heston, dt: 60, count: 3}\n"),
     "15: paths.WETH: unknown path model 'heston': expected gbm or csv"),
    ("path-csv-missing-file", make(append="paths:\n  WETH: {model: csv, file: nope.csv, column: p, dt: 60}\n"),
     "15: paths.WETH.file: CSV file not found: {dir}/nope.csv"),
    ("path-negative-sigma", make(append="paths:\n  WETH: {model: gbm, sigma: -1, dt: 60, count: 3}\n"),
     "15: paths.WETH.sigma: amount must not be negative, got -1"),
    ("keeper-unknown-key", make(append="keeper: {enabled: true, greedy: true}\n"),
     "14: keeper.greedy: unknown field; expected one of: enabled, max_liquidations_per_step, min_profit, "
     "settle_bad_debt, choose"),
    ("expect-unknown-field", make(append="expect:\n  - {account: alice, profit: 3}\n"),
     "15: expect[0].profit: unknown field; expected one of: account, position, margin, protocol, policy, liquidations, "
     "bad_debt, "
     "health_factor_min, balances, final_equity, collateral_seized, reverts, withdrawals_refused, recovered"),
    # --- liquidation (the vault's policy; bounds as VaultGovernance's)
    ("liquidation-unknown-policy", make(append="liquidation: {policy: auction}\n"),
     "14: liquidation.policy: expected 'close-factor', 'fixed-incentive', 'dutch' or 'absorb', got 'auction'"),
    ("liquidation-close-factor-zero", make(append="liquidation: {close_factor: 0}\n"),
     "14: liquidation.close_factor: must be above 0 and at most 1, got 0"),
    ("liquidation-max-incentive-high", make(append="liquidation:\n  policy: fixed-incentive\n  max_incentive: 0.3\n"),
     "16: liquidation.max_incentive: must be between 0 and 0.25 (VaultGovernance's MAX_INCENTIVE), got 0.3"),
    ("liquidation-max-discount-high", make(append="liquidation: {policy: dutch, max_discount: 0.21}\n"),
     "14: liquidation.max_discount: must be between 0 and 0.2 (VaultGovernance's MAX_DISCOUNT), got 0.21"),
    ("liquidation-target-low", make(append="liquidation: {policy: dutch, target_health_factor: 1}\n"),
     "14: liquidation.target_health_factor: must be between 1.01 and 1.5, got 1"),
    ("liquidation-dust-high", make(append="liquidation: {min_debt_left: 1001}\n"),
     "14: liquidation.min_debt_left: must be between 0 and 1000 USD (VaultGovernance's MAX_DUST_VALUE), got 1001"),
    ("liquidation-not-a-number", make(append="liquidation: {store_front_factor: half}\n"),
     "14: liquidation.store_front_factor: expected a number, got 'half'"),
    ("liquidation-too-precise", make(append="liquidation: {incentive_cursor: 0.0000000000000000001}\n"),
     "14: liquidation.incentive_cursor: at most 18 decimal places (a WAD on chain), got 0.0000000000000000001"),
    ("liquidation-unknown-field", make(append="liquidation: {bonus: 0.1}\n"),
     "14: liquidation.bonus: unknown field; expected one of: policy, close_factor, full_close_health_factor, "
     "incentive_cursor, max_incentive, max_discount, target_health_factor, store_front_factor, min_debt_left, "
     "min_collateral_left"),
    ("expect-unknown-policy", make(append="expect:\n  - {policy: auction, liquidations: 0}\n"),
     "15: expect[0].policy: expected 'close-factor', 'fixed-incentive', 'dutch' or 'absorb', got 'auction'"),
    ("expect-unknown-account", make(append="expect:\n  - {account: bob, liquidations: 0}\n"),
     "15: expect[0].account: unknown account 'bob'"),
    ("expect-bad-comparison", make(append="expect:\n  - {bad_debt: \"~ 3\"}\n"),
     "15: expect[0].bad_debt: expected a number or a comparison like \">= 1\", got '~ 3'"),
    ("expect-account-check-without-account", make(append="expect:\n  - {final_equity: 3}\n"),
     "15: expect[0]: final_equity needs an account"),
]

CASES += [
    ("path-sigma-too-large", make(append="paths:\n  WETH: {model: gbm, sigma: 25, dt: 60, count: 3}\n"),
     "15: paths.WETH.sigma: must be ≤ 20, got 25"),
    ("path-count-zero", make(append="paths:\n  WETH: {model: gbm, sigma: 1, dt: 60, count: 0}\n"),
     "15: paths.WETH.count: must be ≥ 1, got 0"),
    ("borrow-scale-without-count",
     make({9: "  - name: alice\n    borrow_scale: {first: 0.5, last: 1}"}),
     "9: accounts[0]: borrow_scale only applies to a template with count"),
    ("relative-price-rounds-to-zero", make({4: weth(price="0.00000001"), 13: "  - {prices: {WETH: \"-99.9%\"}}"}),
     "13: steps[0].prices.WETH: -99.9% takes WETH from 0.00000001 to 0 at the feed's 8 decimals; "
     "a price must stay above 0"),
]

# --- the verbs and fields a stateful machine's failure replay needs: donate, settle_bad_debt, owner:, all
CASES += [
    ("donate-negative", make({13: "  - {action: {account: alice, donate: {WETH: -1}}}"}),
     "13: steps[0].action.donate.WETH: amount must not be negative, got -1"),
    ("donate-unknown-asset", make({13: "  - {action: {account: alice, donate: {DOGE: 1}}}"}),
     "13: steps[0].action.donate.DOGE: unknown asset 'DOGE' (markets: WETH, USDC)"),
    ("donate-too-precise", make({13: "  - {action: {account: alice, donate: {USDC: 0.0000001}}}"}),
     "13: steps[0].action.donate.USDC: 0.0000001 has more decimal places than USDC has (6)"),
    ("donate-all", make({13: "  - {action: {account: alice, donate: {USDC: all}}}"}),
     "13: steps[0].action.donate.USDC: expected an amount, got 'all'"),
    ("donate-not-a-mapping", make({13: "  - {action: {account: alice, donate: 5}}"}),
     "13: steps[0].action.donate: expected a mapping, got a number"),
    ("settle-unknown-account", make({13: "  - {action: {account: lp, settle_bad_debt: {account: mallory}}}"}),
     "13: steps[0].action.settle_bad_debt.account: unknown account 'mallory'"),
    ("settle-position-out-of-range",
     make({13: "  - {action: {account: lp, settle_bad_debt: {account: alice, position: 3}}}"}),
     "13: steps[0].action.settle_bad_debt.position: alice has 1 position(s); index 3 is out of range"),
    ("settle-unknown-key", make({13: "  - {action: {account: lp, settle_bad_debt: {account: alice, sub: 1}}}"}),
     "13: steps[0].action.settle_bad_debt.sub: unknown field; expected one of: account, position"),
    ("owner-on-borrow", make({13: "  - {action: {account: lp, owner: alice, borrow: {USDC: 1}}}"}),
     "13: steps[0].action: owner applies to deposit and repay only (anyone may pay into someone else's "
     "sub-account); borrow acts on the actor's own"),
    ("owner-unknown", make({13: "  - {action: {account: lp, owner: mallory, repay: {USDC: 1}}}"}),
     "13: steps[0].action.owner: unknown account 'mallory'"),
    ("owner-position-out-of-range", make({13: "  - {action: {account: lp, owner: alice, position: 1, repay: {USDC: 1}}}"}),
     "13: steps[0].action.position: alice has 1 position(s); index 1 is out of range"),
    ("repay-all-misspelt", make({13: "  - {action: {account: alice, repay: {USDC: everything}}}"}),
     "13: steps[0].action.repay.USDC: expected an amount or all, got 'everything'"),
    ("liquidate-amount-negative",
     make({13: "  - {action: {account: lp, liquidate: {account: alice, debt: USDC, collateral: WETH, amount: -2}}}"}),
     "13: steps[0].action.liquidate.amount: amount must not be negative, got -2"),
]

# --- may_revert: a boundary action may succeed or revert with exactly the named error
CASES += [
    ("may-and-expect-revert",
     make({13: "  - {action: {account: alice, borrow: {USDC: 1}, expect_revert: AccountUnhealthy, "
               "may_revert: AccountUnhealthy}}"}),
     "13: steps[0].action: give expect_revert (the action must revert) or may_revert (it may), not both"),
    ("may-revert-not-an-error-name", make({13: "  - {action: {account: alice, borrow: {USDC: 1}, may_revert: 'no!'}}"}),
     "13: steps[0].action.may_revert: 'no!' is not an error name: use letters, digits and '_', not starting with "
     "a digit"),
]

# --- oracle guards (docs/oracle-guards.md): markets[].oracle_guards, sequencer:, and the faults that exercise them
CASES += [
    ("guards-empty", make({4: weth(oracle_guards="{}")}),
     "4: markets[0].oracle_guards: set at least one of min_price, max_price, max_move"),
    ("guards-min-not-below-max", make({4: weth(oracle_guards="{min_price: 5000, max_price: 100}")}),
     "4: markets[0].oracle_guards: min_price (5000) must be below max_price (100)"),
    ("guards-start-below-floor", make({4: weth(oracle_guards="{min_price: 2000}")}),
     "4: markets[0].oracle_guards.min_price: the market starts at 2000, not strictly inside its bound 2000: its "
     "price would be refused from the start"),
    ("guards-start-above-cap", make({4: weth(oracle_guards="{max_price: 1500}")}),
     "4: markets[0].oracle_guards.max_price: the market starts at 2000, not strictly inside its bound 1500: its "
     "price would be refused from the start"),
    ("guards-max-move-above-one", make({4: weth(oracle_guards="{max_move: 1.5}")}),
     "4: markets[0].oracle_guards: max_move must be a fraction up to 1 in steps of 0.0001, got 1.5"),
    ("guards-max-move-zero", make({4: weth(oracle_guards="{max_move: 0}")}),
     "4: markets[0].oracle_guards.max_move: must be greater than 0, got 0"),
    ("guards-window-zero", make({4: weth(oracle_guards="{max_move: 0.2, window: 0}")}),
     "4: markets[0].oracle_guards.window: must be > 0, got 0"),
    ("guards-unknown-key", make({4: weth(oracle_guards="{floor: 1}")}),
     "4: markets[0].oracle_guards.floor: unknown field; expected one of: min_price, max_price, max_move, window"),
    ("guards-floor-too-precise", make({4: weth(oracle_guards="{min_price: 0.000000001}")}),
     "4: markets[0].oracle_guards.min_price: price 0.000000001 has more decimal places than the WETH feed has (8)"),
    ("sequencer-grace-too-long", make(append="sequencer: {grace_period: 999999}\n"),
     "14: sequencer.grace_period: must be ≤ 604800, got 999999"),
    ("sequencer-fault-without-sequencer", make({13: "  - {oracle: {sequencer: down}}"}),
     "13: steps[0].oracle.sequencer: a sequencer fault needs a top-level sequencer: {grace_period: SECONDS}"),
    ("sequencer-fault-wrong-word", make({13: "  - {oracle: {sequencer: stale}}"}, "sequencer: {}\n"),
     "13: steps[0].oracle.sequencer: the sequencer is down or up"),
    ("feed-fault-down", make({13: "  - {oracle: {WETH: down}}"}),
     "13: steps[0].oracle.WETH: down is for the sequencer (oracle: {sequencer: down}); a feed is ok, stale, zero, "
     "negative, clamp or misprice"),
    ("clamp-no-floor", make({13: "  - {oracle: {WETH: {clamp: 5}}}"}),
     "13: steps[0].oracle.WETH: clamp needs {floor: P} with a price P > 0: the feed reports P while the market is "
     "below it"),
    ("clamp-negative-floor", make({13: "  - {oracle: {WETH: {clamp: {floor: -1}}}}"}),
     "13: steps[0].oracle.WETH: clamp needs {floor: P} with a price P > 0: the feed reports P while the market is "
     "below it"),
    ("misprice-zero", make({13: "  - {oracle: {WETH: {misprice: {factor_exp: 0}}}}"}),
     "13: steps[0].oracle.WETH: misprice needs {factor_exp: K} with a whole K, 1 ≤ |K| ≤ 18: the feed reports the "
     "price × 10^K"),
    ("misprice-fraction", make({13: "  - {oracle: {WETH: {misprice: {factor_exp: 1.5}}}}"}),
     "13: steps[0].oracle.WETH: misprice needs {factor_exp: K} with a whole K, 1 ≤ |K| ≤ 18: the feed reports the "
     "price × 10^K"),
    ("fault-two-kinds", make({13: "  - {oracle: {WETH: {clamp: {floor: 1}, misprice: {factor_exp: 1}}}}"}),
     "13: steps[0].oracle.WETH: expected 'ok', 'stale', 'zero', 'negative', {clamp: {floor: P}} or "
     "{misprice: {factor_exp: K}}, got {clamp, misprice}"),
    ("set-params-guards-bad", make(append="  - {governance: {set_params: {WETH: {oracle_guards: {max_move: 2}}}}}\n"),
     "14: steps[1].governance.set_params.WETH.oracle_guards: max_move must be a fraction up to 1 in steps of 0.0001, "
     "got 2"),
]

# --- strategies: (issue 21): every field of the section
CASES += [
    ('strategy-delay-fraction', make(append='strategies:\n  - {account: alice, delay: 1.5, stop_loss: {share: 0.1}}\n'),
     '15: strategies[0].delay: expected a whole number, got 1.5'),
    ('strategy-delay-negative', make(append='strategies:\n  - {account: alice, delay: -1, stop_loss: {share: 0.1}}\n'),
     '15: strategies[0].delay: must be ≥ 0, got -1'),
    ('strategy-deleverage-below-zero', make(append='strategies:\n  - {account: alice, deleverage: {below: 0, repay: {USDC: 1}}}\n'),
     '15: strategies[0].deleverage.below: must be greater than 0, got 0'),
    ('strategy-deleverage-empty', make(append='strategies:\n  - {account: alice, deleverage: {below: 1.2, repay: {}}}\n'),
     '15: strategies[0].deleverage: repay names at least one asset and amount'),
    ('strategy-deleverage-route-pool', make(append='strategies:\n  - {account: alice, deleverage: {below: 1.2, repay: {USDC: 1}, route: pool}}\n'),
     "15: strategies[0].deleverage.route: route: pool sells the position's collateral for its USDC debt, and pools: has no pool WETH/USDC (it has none): add one, or use route: wallet"),
    ('strategy-exit-no-trigger', make(append='strategies:\n  - {account: alice, stop_loss: {position: 0}}\n'),
     '15: strategies[0].stop_loss: give exactly one of share (of the margin the position opened with) or price'),
    ('strategy-exit-two-triggers', make(append='strategies:\n  - {account: alice, take_profit: {share: 0.1, price: {symbol: WETH, above: 3000}}}\n'),
     '15: strategies[0].take_profit: give exactly one of share (of the margin the position opened with) or price'),
    ('strategy-kind-none', make(append='strategies:\n  - {account: alice}\n'),
     '15: strategies[0]: a strategy needs exactly one of stop_loss, take_profit, top_up, deleverage, withdraw (got none)'),
    ('strategy-kind-two', make(append='strategies:\n  - {account: alice, top_up: {below: 1.1, deposit: {USDC: 10}, budget: {USDC: 20}}, deleverage: {below: 1.1, repay: {USDC: 10}}}\n'),
     '15: strategies[0]: a strategy needs exactly one of stop_loss, take_profit, top_up, deleverage, withdraw (got top_up, deleverage)'),
    ('strategy-miss-above-one', make(append='strategies:\n  - {account: alice, miss: 1.5, stop_loss: {share: 0.1}}\n'),
     '15: strategies[0].miss: must be between 0 and 1, got 1.5'),
    ('strategy-miss-one', make(append='strategies:\n  - {account: alice, miss: 1, stop_loss: {share: 0.1}}\n'),
     '15: strategies[0].miss: miss is a chance below 1 (1 would never act)'),
    ('strategy-position-range', make(append='strategies:\n  - {account: alice, stop_loss: {position: 3, share: 0.1}}\n'),
     "15: strategies[0].stop_loss.position: 'alice' has 1 position(s); position 3 does not exist"),
    ('strategy-price-both-sides', make(append='strategies:\n  - {account: alice, stop_loss: {price: {symbol: WETH, below: 1, above: 3}}}\n'),
     '15: strategies[0].stop_loss.price: give exactly one of above or below'),
    ('strategy-price-unknown', make(append='strategies:\n  - {account: alice, stop_loss: {price: {symbol: DOGE, below: 1}}}\n'),
     "15: strategies[0].stop_loss.price.symbol: unknown asset 'DOGE'"),
    ('strategy-price-zero', make(append='strategies:\n  - {account: alice, stop_loss: {price: {symbol: WETH, below: 0}}}\n'),
     '15: strategies[0].stop_loss.price.below: must be greater than 0, got 0'),
    ('strategy-route-other', make(append='strategies:\n  - {account: alice, deleverage: {below: 1.2, repay: {USDC: 1}, route: bridge}}\n'),
     "15: strategies[0].deleverage.route: expected 'wallet' or 'pool', got 'bridge'"),
    ('strategy-route-pool', make(append='strategies:\n  - {account: alice, stop_loss: {share: 0.1, route: pool}}\n'),
     "15: strategies[0].stop_loss.route: route: pool sells the position's collateral for its USDC debt, and pools: has no pool WETH/USDC (it has none): add one, or use route: wallet"),
    ('strategy-route-pool-outside', make(append='strategies:\n  - {account: alice, route: pool, stop_loss: {share: 0.1}}\n'),
     "15: strategies[0].route: unknown field; expected one of: account, stop_loss, take_profit, top_up, deleverage, withdraw, delay, miss"),
    ('strategy-share-negative', make(append='strategies:\n  - {account: alice, stop_loss: {share: -0.1}}\n'),
     '15: strategies[0].stop_loss.share: must be greater than 0, got -0.1'),
    ('strategy-strategies-not-list', make(append='strategies: {account: alice}\n'),
     '14: strategies: expected a list, got a mapping'),
    ('strategy-strategy-unknown-field', make(append='strategies:\n  - {account: alice, stop_loss: {share: 0.1, trailing: true}}\n'),
     '15: strategies[0].stop_loss.trailing: unknown field; expected one of: position, share, price, route'),
    ('strategy-topup-below-missing', make(append='strategies:\n  - {account: alice, top_up: {deposit: {USDC: 1}, budget: {USDC: 1}}}\n'),
     '15: strategies[0].top_up.below: required field is missing'),
    ('strategy-topup-empty-deposit', make(append='strategies:\n  - {account: alice, top_up: {below: 1.2, deposit: {}, budget: {USDC: 1}}}\n'),
     '15: strategies[0].top_up: deposit names at least one asset and amount'),
    ('strategy-topup-no-budget', make(append='strategies:\n  - {account: alice, top_up: {below: 1.2, deposit: {USDC: 10}, budget: {}}}\n'),
     '15: strategies[0].top_up: budget has no amount for USDC: every deposited asset needs one'),
    ('strategy-topup-precision', make(append='strategies:\n  - {account: alice, top_up: {below: 1.2, deposit: {USDC: 0.0000001}, budget: {USDC: 1}}}\n'),
     '15: strategies[0].top_up.deposit.USDC: 0.0000001 has more decimal places than USDC has (6)'),
    ('strategy-topup-unknown-asset', make(append='strategies:\n  - {account: alice, top_up: {below: 1.2, deposit: {DOGE: 1}, budget: {DOGE: 1}}}\n'),
     "15: strategies[0].top_up.budget.DOGE: unknown asset 'DOGE' (markets: WETH, USDC)"),
    ('strategy-unknown-account', make(append='strategies:\n  - {account: carol, stop_loss: {share: 0.1}}\n'),
     "15: strategies[0].account: unknown account 'carol'"),
    ('strategy-withdraw-no-trigger', make(append='strategies:\n  - {account: lp, withdraw: {share: 0.5}}\n'),
     '15: strategies[0].withdraw: give exactly one of utilisation_above (with for_steps) or after_bad_debt: true'),
    ('strategy-withdraw-two-triggers', make(append='strategies:\n  - {account: lp, withdraw: {after_bad_debt: true, utilisation_above: 0.9}}\n'),
     '15: strategies[0].withdraw: give exactly one of utilisation_above (with for_steps) or after_bad_debt: true'),
    ('strategy-withdraw-utilisation-above-one', make(append='strategies:\n  - {account: lp, withdraw: {utilisation_above: 1.5}}\n'),
     '15: strategies[0].withdraw.utilisation_above: must be between 0 and 1, got 1.5'),
    ('strategy-withdraw-for-steps-zero', make(append='strategies:\n  - {account: lp, withdraw: {utilisation_above: 0.9, for_steps: 0}}\n'),
     '15: strategies[0].withdraw.for_steps: must be ≥ 1, got 0'),
    ('strategy-withdraw-for-steps-without-level', make(append='strategies:\n  - {account: lp, withdraw: {after_bad_debt: true, for_steps: 2}}\n'),
     '15: strategies[0].withdraw: for_steps goes with utilisation_above'),
    ('strategy-withdraw-share-above-one', make(append='strategies:\n  - {account: lp, withdraw: {after_bad_debt: true, share: 1.5}}\n'),
     '15: strategies[0].withdraw: share is a part of the deposit, at most 1, got 1.5'),
    ('strategy-withdraw-bad-debt-not-bool', make(append='strategies:\n  - {account: lp, withdraw: {after_bad_debt: maybe}}\n'),
     "15: strategies[0].withdraw.after_bad_debt: expected true or false, got 'maybe'"),
    ('strategy-withdraw-by-borrower', make(append='strategies:\n  - {account: alice, withdraw: {after_bad_debt: true}}\n'),
     "15: strategies[0].withdraw: withdraw is a liquidity provider's strategy; 'alice' is not one of liquidity:"),
    ('strategy-lender', make(append='strategies:\n  - {account: lp, stop_loss: {share: 0.1}}\n'),
     "15: strategies[0].account: 'lp' is a liquidity provider: its strategy is withdraw (stop_loss, take_profit, top_up, deleverage need positions)"),
    ('strategy-expect-recovered-unknown', make(append='expect:\n  - {account: lp, recovered: {DOGE: 1}}\n'),
     "15: expect[0].recovered.DOGE: unknown asset 'DOGE' (markets: WETH, USDC)"),
    ('strategy-expect-recovered-no-account', make(append='expect:\n  - {recovered: {USDC: 1}}\n'),
     '15: expect[0]: recovered needs an account'),
]

# --- the vault's books (docs/deposits-and-deficits.md#listing-bounds): caps beyond 2^128 scale at the index floor
CASES += [
    ("decimals-uncapped-beyond-books", make({4: weth(decimals="27")}),
     "4: markets[0].decimals: a market of more than 26 decimals needs a supply_cap: uncapped, the vault's books would "
     "hold less than a million whole WETH"),
    ("supply-cap-beyond-books", make({4: weth(decimals="30", supply_cap="341")}),
     "4: markets[0].supply_cap: more than the vault's books hold at 30 decimals (340.282366 WETH)"),
    ("borrow-cap-beyond-books", make({4: weth(decimals="36", supply_cap="0.0003", borrow_cap="0.001")}),
     "4: markets[0].borrow_cap: more than the vault's books hold at 36 decimals (0.00034 WETH)"),
]

# --- friction (issue 17): pools:, oracles:, steps[].liquidity_crunch
POOL = "pools:\n  - {pair: WETH/USDC, depth_usd: 100000, arbitrage: 0.5}\n"  # lines 14-15 when appended
CASES += [
    ("pool-pair-not-a-pair", make(append="pools:\n  - {pair: WETHUSDC, depth_usd: 1}\n"),
     "15: pools[0].pair: expected a pair of two market symbols, base/quote, like WETH/USDC, got 'WETHUSDC'"),
    ("pool-pair-same-asset", make(append="pools:\n  - {pair: WETH/WETH, depth_usd: 1}\n"),
     "15: pools[0].pair: expected a pair of two market symbols, base/quote, like WETH/USDC, got 'WETH/WETH'"),
    ("pool-unknown-asset", make(append="pools:\n  - {pair: WETH/DAI, depth_usd: 1}\n"),
     "15: pools[0].pair: unknown asset 'DAI' (markets: WETH, USDC)"),
    ("pool-no-size", make(append="pools:\n  - {pair: WETH/USDC}\n"),
     "15: pools[0]: give exactly one of depth_usd (USD on each side) or reserves ({BASE: n, QUOTE: m})"),
    ("pool-both-sizes", make(append="pools:\n  - {pair: WETH/USDC, depth_usd: 1, reserves: {WETH: 1, USDC: 2000}}\n"),
     "15: pools[0]: give exactly one of depth_usd (USD on each side) or reserves ({BASE: n, QUOTE: m})"),
    ("pool-depth-zero", make(append="pools:\n  - {pair: WETH/USDC, depth_usd: 0}\n"),
     "15: pools[0].depth_usd: must be greater than 0, got 0"),
    ("pool-reserves-wrong-assets", make(append="pools:\n  - {pair: WETH/USDC, reserves: {WETH: 1}}\n"),
     "15: pools[0].reserves: name both assets of the pair and no other: WETH and USDC"),
    ("pool-reserves-too-precise", make(append="pools:\n  - {pair: WETH/USDC, reserves: {WETH: 1, USDC: 0.0000001}}\n"),
     "15: pools[0].reserves.USDC: 0.0000001 has more decimal places than USDC has (6)"),
    ("pool-arbitrage-above-one", make(append="pools:\n  - {pair: WETH/USDC, depth_usd: 1, arbitrage: 1.5}\n"),
     "15: pools[0].arbitrage: must be between 0 and 1, got 1.5"),
    ("pool-twice", make(append=POOL + "  - {pair: USDC/WETH, depth_usd: 1}\n"),
     "16: pools[1].pair: a second pool for USDC and WETH: one pool per pair"),
    ("pool-unknown-field", make(append="pools:\n  - {pair: WETH/USDC, depth_usd: 1, fee: 0.01}\n"),
     "15: pools[0].fee: unknown field; expected one of: pair, depth_usd, reserves, arbitrage"),
    ("pool-hostile-token", make({5: PAUSABLE_USDC}, append=POOL),
     "15: pools[0].pair: USDC is a pausable-blocklist token; pools hold plain tokens only"),
    ("oracle-unknown-model", make(append="oracles:\n  WETH: {model: magic}\n"),
     "15: oracles.WETH: unknown oracle model 'magic': expected exact, push or pool-twap"),
    ("oracle-no-model", make(append="oracles:\n  WETH: {window: 5}\n"),
     "15: oracles.WETH: missing model: expected model: exact, push or pool-twap"),
    ("oracle-unknown-asset", make(append="oracles:\n  DAI: {model: exact}\n"),
     "15: oracles.DAI: unknown asset 'DAI' (markets: WETH, USDC)"),
    ("oracle-push-no-heartbeat", make(append="oracles:\n  WETH: {model: push, deviation: 0.01}\n"),
     "15: oracles.WETH.heartbeat: required field is missing"),
    ("oracle-push-deviation-one", make(append="oracles:\n  WETH: {model: push, deviation: 1, heartbeat: 60}\n"),
     "15: oracles.WETH.deviation: must be < 1, got 1"),
    ("oracle-push-two-delays",
     make(append="oracles:\n  WETH: {model: push, deviation: 0.01, heartbeat: 60, delay: 1, delay_seconds: 5}\n"),
     "15: oracles.WETH: give delay (steps) or delay_seconds (scenario seconds), not both"),
    ("oracle-push-negative-delay", make(append="oracles:\n  WETH: {model: push, deviation: 0.01, heartbeat: 60, delay: -1}\n"),
     "15: oracles.WETH.delay: must be ≥ 0, got -1"),
    ("oracle-twap-window-zero", make(append=POOL + "oracles:\n  WETH: {model: pool-twap, pool: WETH/USDC, window: 0}\n"),
     "17: oracles.WETH.window: must be > 0, got 0"),
    ("oracle-twap-no-pool", make(append="oracles:\n  WETH: {model: pool-twap, pool: WETH/USDC, window: 60}\n"),
     "15: oracles.WETH.pool: no pool 'WETH/USDC' in pools: (listed: none)"),
    ("oracle-twap-pool-without-asset",
     make(append=POOL + "oracles:\n  USDC: {model: pool-twap, pool: WETH/USDC, window: 60}\n"),
     "17: oracles.USDC.pool: USDC is the quote of WETH/USDC: a TWAP prices the base asset (list the pool as "
     "USDC/WETH)"),
    ("crunch-unknown-pool", make({13: "  - {liquidity_crunch: {WETH/USDC: 0.5}}"}),
     "13: steps[0].liquidity_crunch[\"WETH/USDC\"]: no pool 'WETH/USDC' in pools: (listed: none)"),
    ("crunch-share-one", make({13: "  - {liquidity_crunch: {WETH/USDC: 1}}"}, append=POOL),
     "13: steps[0].liquidity_crunch[\"WETH/USDC\"]: the share withdrawn must be above 0 and below 1, got 1"),
    ("crunch-share-text", make({13: "  - {liquidity_crunch: {WETH/USDC: lots}}"}, append=POOL),
     "13: steps[0].liquidity_crunch[\"WETH/USDC\"]: expected a number, got 'lots'"),
]

# --- keepers with a balance sheet (issue 17): keepers:, keeper_gas:
KEEPERS = "keepers:\n  - {name: k1, inventory: {USDC: 1000}, gas_price_gwei: 20}\n"
CASES += [
    ("keepers-without-pools", make(append=KEEPERS),
     "14: keepers: keepers sell what they seize into pools: add a pools: section"),
    ("keeper-unknown-asset", make(append=POOL + "keepers:\n  - {name: k1, inventory: {DAI: 5}}\n"),
     "17: keepers[0].inventory.DAI: unknown asset 'DAI' (markets: WETH, USDC)"),
    ("keeper-inventory-too-precise", make(append=POOL + "keepers:\n  - {name: k1, inventory: {USDC: 0.0000001}}\n"),
     "17: keepers[0].inventory.USDC: 0.0000001 has more decimal places than USDC has (6)"),
    ("keeper-inventory-negative", make(append=POOL + "keepers:\n  - {name: k1, inventory: {USDC: -5}}\n"),
     "17: keepers[0].inventory.USDC: amount must not be negative, got -5"),
    ("keeper-name-taken", make(append=POOL + "keepers:\n  - {name: alice}\n"),
     "17: keepers[0].name: 'alice' is already taken: keeper names must be unique and not name an account or "
     "liquidity provider"),
    ("keeper-name-twice", make(append=POOL + "keepers:\n  - {name: k1}\n  - {name: k1}\n"),
     "18: keepers[1].name: 'k1' is already taken: keeper names must be unique and not name an account or "
     "liquidity provider"),
    ("keeper-gas-price-negative", make(append=POOL + "keepers:\n  - {name: k1, gas_price_gwei: -1}\n"),
     "17: keepers[0].gas_price_gwei: amount must not be negative, got -1"),
    ("keeper-delay-fraction", make(append=POOL + "keepers:\n  - {name: k1, delay: 1.5}\n"),
     "17: keepers[0].delay: expected a whole number, got 1.5"),
    ("keeper-min-profit-text", make(append=POOL + "keepers:\n  - {name: k1, min_profit: lots}\n"),
     "17: keepers[0].min_profit: expected an amount, got 'lots'"),
    ("keeper-flash-not-a-bool", make(append=POOL + "keepers:\n  - {name: k1, flash: sometimes}\n"),
     "17: keepers[0].flash: expected true or false, got 'sometimes'"),
    ("keeper-unknown-field", make(append=POOL + "keepers:\n  - {name: k1, budget: 5}\n"),
     "17: keepers[0].budget: unknown field; expected one of: name, inventory, gas_price_gwei, delay, min_profit, "
     "flash"),
    ("keeper-gas-native-unknown", make(append=POOL + KEEPERS + "keeper_gas: {native_price: ETH}\n"),
     "18: keeper_gas.native_price: gas is priced in 'ETH', which is not a market: set keeper_gas: {native_price: "
     "SYMBOL or a USD price}"),
    ("keeper-gas-native-zero", make(append=POOL + KEEPERS + "keeper_gas: {native_price: 0}\n"),
     "18: keeper_gas.native_price: native_price must be a market symbol or a USD price above 0, got 0"),
    ("keeper-gas-units-zero", make(append=POOL + KEEPERS + "keeper_gas: {swap: 0}\n"),
     "18: keeper_gas.swap: must be > 0, got 0"),
]
