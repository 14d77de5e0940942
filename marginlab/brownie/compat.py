"""Fixes for eth-brownie 1.21.0 talking to Anvil 1.x, applied by tests/conftest.py (and any script that needs
them) through one idempotent call, `patch_brownie_for_anvil()`. Each fix is a no-op on Ganache.

1. Mining. brownie's Anvil backend mines with `evm_mine [1]`, meaning "one block"; Anvil 1.x reads that
   parameter as a *timestamp* and answers `Timestamp error: 1 is lower than previous block's timestamp`, so
   every `chain.mine()` failed on Anvil. Mining with no parameter (and setting the next timestamp first when
   asked) is what both mean.

2. Revert reasons and return values of mined transactions. brownie reads both from `debug_traceTransaction`'s
   opcode steps (`structLogs`): the memory at the final REVERT or RETURN. Anvil records opcode steps only when
   started with `--steps-tracing` (slower for every transaction); without it, it answers with empty
   `structLogs` but still gives the transaction's raw output in `returnValue`. brownie treats an empty trace as
   "nothing to find", so on Anvil every reverted transaction raised `VirtualMachineError: revert` with
   `revert_msg` None (custom errors never decoded, `brownie.reverts(revert_pattern=...)` failed) and every
   `tx.return_value` was None. The patch decodes `returnValue` exactly as brownie decodes the REVERT/RETURN
   memory: revert data through `decode_typed_error` (custom errors of every loaded contract ABI as
   "Name: arg, ...", `Error(string)` as the string, panics by code — the same message Ganache gives), return
   data through the called function's ABI.

3. The time offset. `chain.time()` is wall time plus `chain._time_offset`, which brownie sets to what the
   backend's `sleep(seconds)` returns and refreshes with `sleep(0)` after every transaction, snapshot revert
   and timestamped mine. `evm_increaseTime` answers with the *total* offset on Ganache and on Anvil alike, but
   brownie's Anvil backend returns its own argument instead, so the first transaction after `chain.sleep(x)`
   reset the offset to 0: `chain.time()` fell behind the chain's block time by every sleep so far (a feed
   "updated an hour ago" by `chain.time()` was a year old on chain). The patch returns the node's answer.

4. "Tx dropped without known replacement". brownie's confirmation loop asks for the receipt, and when there is
   none yet but the sender's transaction count has passed the transaction's nonce, it declares the transaction
   dropped. Anvil answers the new transaction count before the receipt can be read (it returns the hash before
   the receipt exists), so a mined transaction was now and then reported dropped: the deep stateful profile
   failed that way in each of its three machines (Hypothesis then reports it as Flaky), the CI profile once in
   several runs. The patch waits for the receipt (up to five seconds) before brownie's loop starts, so the loop
   finds it on its first pass; a transaction with no receipt by then gets brownie's own verdict.
"""
from __future__ import annotations

from typing import Any, Optional

_PATCHED = "_marginlab"


def patch_brownie_for_anvil() -> None:
    _patch_mine()
    _patch_trace_without_steps()
    _patch_sleep()
    _patch_dropped_race()


#: How long a transaction that brownie thinks dropped is looked for before brownie's verdict stands.
DROPPED_GRACE_S = 5.0


def _patch_dropped_race() -> None:
    import time

    from brownie.network.transaction import TransactionReceipt
    from brownie.network.web3 import web3
    from hexbytes import HexBytes
    from web3.exceptions import TransactionNotFound

    original = TransactionReceipt._await_confirmation
    if getattr(original, _PATCHED, False):
        return

    def _await_confirmation(self: TransactionReceipt, block_number: Optional[int] = None,
                            required_confs: int = 1) -> None:
        # Wait for the receipt first: brownie's loop checks the nonce before it has seen a receipt and sets the
        # "dropped" verdict (and wakes the sender's thread) at once, so it cannot be corrected afterwards.
        deadline = time.monotonic() + DROPPED_GRACE_S
        while block_number is None and time.monotonic() < deadline:
            try:
                receipt = web3.eth.get_transaction_receipt(HexBytes(self.txid))
            except TransactionNotFound:
                receipt = None
            if receipt is not None and receipt["blockHash"] is not None:
                block_number = receipt["blockNumber"]
                break
            time.sleep(0.02)
        original(self, block_number, required_confs)  # type: ignore[arg-type]  # brownie types it int = None

    setattr(_await_confirmation, _PATCHED, True)
    TransactionReceipt._await_confirmation = _await_confirmation  # type: ignore[method-assign]  # the patch


def _patch_mine() -> None:
    from brownie.network.rpc import anvil

    if getattr(anvil.mine, _PATCHED, False):
        return

    def mine(timestamp: Optional[int] = None) -> None:
        if timestamp:
            anvil._request("evm_setNextBlockTimestamp", [timestamp])
        anvil._request("evm_mine", [])

    setattr(mine, _PATCHED, True)
    anvil.mine = mine


def _patch_sleep() -> None:
    from brownie.network.rpc import anvil

    if getattr(anvil.sleep, _PATCHED, False):
        return

    def sleep(seconds: int) -> int:
        # Anvil's evm_increaseTime returns the total offset after the increase (an int, possibly negative after
        # evm_revert), as Ganache's does.
        offset = anvil._request("evm_increaseTime", [hex(seconds)])
        return int(offset, 16) if isinstance(offset, str) else int(offset)  # type: ignore[call-overload]

    setattr(sleep, _PATCHED, True)
    anvil.sleep = sleep


def _patch_trace_without_steps() -> None:
    from brownie.network.transaction import TransactionReceipt

    original = TransactionReceipt._get_trace
    if getattr(original, _PATCHED, False):
        return

    def _get_trace(self: TransactionReceipt) -> None:
        fresh = self._raw_trace is None
        original(self)
        # brownie left an empty trace for a call it would have traced (plain ETH transfers are skipped): the node
        # recorded no opcode steps. Fall back to the raw output the node reports alongside.
        if fresh and self._raw_trace == [] and not (self.input == "0x" and self.gas_used == 21000):
            _apply_return_value(self)

    setattr(_get_trace, _PATCHED, True)
    TransactionReceipt._get_trace = _get_trace  # type: ignore[method-assign]  # the patch


def _apply_return_value(tx: Any) -> None:
    from brownie.exceptions import decode_typed_error
    from brownie.network import state
    from brownie.network.web3 import web3
    from hexbytes import HexBytes

    response = web3.provider.make_request(  # type: ignore[attr-defined]
        "debug_traceTransaction",  # type: ignore[arg-type]
        (tx.txid, {"disableStorage": True, "disableStack": True, "disableMemory": True}),
    )
    output = (response.get("result") or {}).get("returnValue")
    if output is None:  # not Anvil's answer: leave brownie's result alone
        return
    data = HexBytes(output)
    if not tx.status:
        # brownie's _reverted_trace: decoded revert data, or "" for a bare revert / invalid opcode / out of gas.
        if tx._revert_msg is None:
            tx._revert_msg = decode_typed_error(_hexstr(data)) if data else ""
        if tx._dev_revert_msg is None:
            tx._dev_revert_msg = ""
        return
    # brownie's _confirmed_trace: decode what the called function returned.
    tx._modified_state = None  # unknown without opcode steps (brownie had set False)
    if tx.contract_address or not data:
        return
    contract = state._find_contract(tx.receiver)
    fn = contract.get_method_object(tx.input) if contract else None
    if fn is not None:
        try:
            tx._return_value = fn.decode_output(data)
        except Exception:  # output that does not fit the ABI: brownie would leave it unset as well
            pass


def _hexstr(data: bytes) -> str:
    """0x-prefixed hex whatever the hexbytes version (1.x drops the prefix from .hex())."""
    return "0x" + bytes(data).hex()
