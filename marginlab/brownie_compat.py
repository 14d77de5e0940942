"""Fixes for eth-brownie 1.21.0 talking to Anvil 1.x, applied by tests/conftest.py (and any script that needs
`chain.mine()` on Anvil).

brownie's Anvil backend mines with `evm_mine [1]`, meaning "one block"; Anvil 1.x reads that parameter as a
*timestamp* and answers `Timestamp error: 1 is lower than previous block's timestamp`, so every
`chain.mine()` failed on Anvil. Mining with no parameter (and setting the next timestamp first when asked) is
what both mean.
"""
from __future__ import annotations

from typing import Optional


def patch_brownie_for_anvil() -> None:
    from brownie.network.rpc import anvil

    if getattr(anvil.mine, "_marginlab", False):
        return

    def mine(timestamp: Optional[int] = None) -> None:
        if timestamp:
            anvil._request("evm_setNextBlockTimestamp", [timestamp])
        anvil._request("evm_mine", [])

    mine._marginlab = True  # type: ignore[attr-defined]
    anvil.mine = mine
