"""Auto mining (the default): the node mines each transaction in its own block as it arrives, and every send
waits for its receipt and checks that the node counted the sender's nonce as we did."""
from __future__ import annotations

import time
from typing import Any, Callable

from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, TimeExhausted
from web3.types import RPCEndpoint

from marginlab.chain.backends import Backend
from marginlab.chain.gas import GAS_PRICE, GasKey, GasLimits, padded_gas
from marginlab.chain.mining import Mining, PendingTx, settle
from marginlab.chain.receipts import format_receipt
from marginlab.chain.reverts import RevertDecoder, TxReverted, revert_data
from marginlab.chain.rpc import Transport, short_error
from marginlab.chain.signers import Signer
from marginlab.errors import ChainError


class _OutOfGas(Exception):
    """The transaction ran out of gas (its limit may have been a reused estimate)."""


class AutoMining(Mining):
    """A block per transaction; a learnt gas limit that falls short is forgotten and the transaction re-estimated
    and sent again, so a learnt limit can cost a retry but never a wrong result."""

    mode = "auto"

    def __init__(self, rpc: Transport, backend: Backend, decoder: RevertDecoder, gas: GasLimits, *, chain_id: int,
                 remote: bool, request_timeout: float) -> None:
        super().__init__(rpc, backend, decoder, gas, chain_id=chain_id, remote=remote)
        self.request_timeout = request_timeout

    def send(self, signer: Signer, to: str | None, data: str, label: str, gas_key: GasKey | None) -> dict[str, Any]:
        # Gas is the node's estimate + 20 % (at least +80k), or the padded learnt limit of the function.
        hint = self.gas.learnt(gas_key)
        if hint is None:
            estimate = self.gas.estimate(signer.address, to, data, label)
            self.gas.learn(gas_key, estimate)
            gas = padded_gas(estimate)
        else:
            gas = padded_gas(hint)
        try:
            return self._send_signed(signer, to, data, gas, label)
        except _OutOfGas as exc:
            if hint is None or gas_key is None:
                raise TxReverted(f"out of gas at the estimated limit {gas}: {exc}") from None
            self.gas.forget(gas_key)
            return self.send(signer, to, data, label, gas_key)

    def send_fixed(self, signer: Signer, to: str, data: str, gas: int, label: str) -> dict[str, Any]:
        try:
            return self._send_signed(signer, to, data, gas, label)
        except _OutOfGas as exc:
            raise TxReverted(f"out of gas at the given limit {gas}: {exc}") from None

    def submit(self, signer: Signer, to: str, data: str, label: str, gas_key: GasKey | None,
               on_done: Callable[[PendingTx], None] | None) -> PendingTx:
        pending = PendingTx(label, signer, to, data, 0, gas_key, on_done=on_done)
        try:
            pending.receipt = self.send(signer, to, data, label, gas_key)
        except TxReverted as exc:
            pending.error = exc
        settle([pending])
        return pending

    def flush(self) -> None:
        """Nothing waits: every transaction was mined as it was sent."""

    def time_set(self, target: int, seconds: int) -> None:
        """Mine a block at the new time now."""
        self.backend.mine(self.rpc)
        block = self.rpc.call(lambda: self.rpc.w3.eth.get_block("latest"))
        now = int(block["timestamp"])
        self._check_time(now, target, f"advancing time by {seconds} s reached {now}, expected {target}")
        self.rpc.progress.last_block = int(block["number"])

    def _send_signed(self, signer: Signer, to: str | None, data: str, gas: int, label: str) -> dict[str, Any]:
        rpc, progress = self.rpc, self.rpc.progress
        tx, raw = signer.sign(to, data, gas, GAS_PRICE, self.chain_id)
        expected_hash = keccak(raw)
        # The provider's requests directly (send, receipt, nonce), each as web3 would send it and its answer
        # formatted as web3 would: web3's method machinery cost more than revm's execution of the transaction.
        answer = rpc.call(lambda: rpc.w3.provider.make_request(RPCEndpoint("eth_sendRawTransaction"),
                                                               ["0x" + raw.hex()]))
        if "error" in answer:
            exc = ValueError(answer["error"])
            # Ganache with vmErrorsOnRPCResponse (brownie's setting) mines a failing transaction and *also*
            # answers with an error: the nonce is spent either way, so ask the node which happened.
            on_chain = self._nonce(signer.address)
            if on_chain == signer.nonce + 1:
                signer.nonce += 1
                progress.tx_count += 1
                if "out of gas" in str(exc).lower():
                    raise _OutOfGas(short_error(exc)) from None
                data_bytes = revert_data(exc)
                raise TxReverted(self.decoder.decode(data_bytes) if data_bytes is not None
                                 else f"failed on chain: {short_error(exc)}") from None
            raise ChainError(f"{label}: the node refused the transaction from {signer.name} with nonce "
                             f"{signer.nonce}: {short_error(exc)}") from None
        receipt = rpc.call(lambda: self._wait_for_receipt("0x" + expected_hash.hex()))
        if bytes(receipt["transactionHash"]) != expected_hash:
            raise ChainError(f"{label}: the receipt is for another transaction than the one sent")
        signer.nonce += 1
        progress.tx_count += 1
        progress.last_block = int(receipt["blockNumber"])
        on_chain = self._nonce(signer.address)
        if on_chain != signer.nonce:
            raise ChainError(f"{label}: nonce mismatch for {signer.name}: sent nonce {signer.nonce - 1}, the node "
                             f"now reports {on_chain} transactions; the node mined a duplicate or lost one "
                             f"(a known Ganache 7.9.2 fault) — replay on a fresh node")
        if receipt["status"] != 1:
            if int(receipt["gasUsed"]) >= gas:
                raise _OutOfGas(f"used all {gas} gas")
            raise TxReverted(self._replay_reason(tx, signer, to))
        return dict(receipt)

    def _nonce(self, address: str) -> int:
        """``eth_getTransactionCount`` at the latest block."""
        return int(self.rpc.raw("eth_getTransactionCount", [address, "latest"]), 16)

    def _wait_for_receipt(self, tx_hash: str) -> dict[str, Any]:
        """web3's ``wait_for_transaction_receipt``: poll every 10 ms until the node has the receipt, at most the
        request timeout (then :class:`TimeExhausted`, which the transport reports as a timeout)."""
        deadline = time.monotonic() + self.request_timeout
        while True:
            raw = self.rpc.raw("eth_getTransactionReceipt", [tx_hash])
            if raw is not None:
                return format_receipt(raw)
            if time.monotonic() > deadline:
                raise TimeExhausted(f"transaction {tx_hash} is not in the chain after {self.request_timeout} s")
            time.sleep(0.01)

    def _replay_reason(self, tx: dict[str, Any], signer: Signer, to: str | None) -> str:
        """A mined transaction failed after a successful estimate: re-run it as a call to read the reason."""
        call = {"from": signer.address, "data": tx["data"], "gas": tx["gas"]}
        if to is not None:
            call["to"] = to
        try:
            self.rpc.call(lambda: self.rpc.w3.eth.call(call))  # type: ignore[arg-type]
        except (ContractLogicError, ContractCustomError, ContractPanicError, ValueError) as exc:
            data = revert_data(exc)
            return self.decoder.decode(data) if data is not None else short_error(exc)
        return "reverted on chain (out of gas?)"
