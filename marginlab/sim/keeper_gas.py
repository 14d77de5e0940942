"""The gas side of keepers with a balance sheet (``keepers:``, issue 17): one per-operation table of gas units for
every chain (the scenario's ``keeper_gas``, else bench/gas.json's Anvil column), never read from receipts, so a
keeper decides the same on every chain."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from marginlab.numbers import plain, round_significant
from marginlab.scenario.plan import Plan

GAS_JSON = Path(__file__).resolve().parents[2] / "bench" / "gas.json"
#: bench/gas.json's Anvil rows the defaults come from
GAS_ROWS = {"liquidate": "liquidate (2 assets: 1 collateral, 1 debt)", "withdraw": "withdraw (all, no debt)"}
#: SimSwapper.swap on a Uniswap v2 pair (pull, transfer in, swap, event): 102,098 to 106,898 gas measured on Anvil
#: from an account with an approval in place (not in bench/gas.json)
SWAP_GAS = 105_000
USD_DIGITS = 12


def gas_table(plan: Plan) -> dict[str, int]:
    """Gas units per keeper operation: the scenario's ``keeper_gas``, else bench/gas.json's Anvil column."""
    anvil = json.loads(GAS_JSON.read_text())["anvil"]
    table = {op: int(anvil[row]) for op, row in GAS_ROWS.items()}
    table["swap"] = SWAP_GAS
    for op in ("liquidate", "withdraw", "swap"):
        given = getattr(plan.keeper_gas, op)
        if given is not None:
            table[op] = given
    return table


def usd(x: Decimal) -> str:
    return plain(round_significant(x, USD_DIGITS)) if x != 0 else "0"


__all__ = ["GAS_ROWS", "SWAP_GAS", "gas_table", "usd"]
