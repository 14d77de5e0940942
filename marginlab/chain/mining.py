"""When transactions are mined: the two mining modes behind one interface (:class:`Mining`), and per-step mining.

- ``auto`` (default, :class:`~marginlab.chain.automine.AutoMining`): the node mines every transaction in its own
  block as it arrives; each send waits for its receipt.
- ``per-step`` (:class:`PerStepMining`): automine is off. Transactions the engine does not need an answer for at
  once are *submitted*: sent without waiting, in order. Before anything reads the chain (a call, a gas estimate,
  a timestamp) and at the end of each step, :meth:`PerStepMining.flush` mines one block and fetches every receipt
  and nonce in one batched JSON-RPC request, checks that the block holds the transactions in the order they were
  sent, and resolves them: statuses, decoded revert reasons (read from the transaction's trace at its position
  in the block), events. The backend keeps the sending order (:meth:`~marginlab.chain.backends.Backend.order_price`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal

from eth_utils import keccak
from web3.types import RPCEndpoint

from marginlab.chain.backends import Backend
from marginlab.chain.gas import GAS_CAP, GasKey, GasLimits, padded_gas
from marginlab.chain.receipts import format_receipt
from marginlab.chain.reverts import RevertDecoder, TxReverted
from marginlab.chain.rpc import Transport, short_error
from marginlab.chain.signers import Signer
from marginlab.errors import ChainError

MINING_MODES = ("auto", "per-step")
MiningMode = Literal["auto", "per-step"]
# A submitted transaction that reuses a learnt gas limit (the largest estimate seen for that function) may use up
# to twice it plus this. In auto mining a learnt limit that falls short is re-estimated and sent again; in a
# block that already ran later transactions after it that cannot be undone (the flush then stops with an error
# that says so; snapshots to roll back cost Anvil ~0.3 MB each, kept until reverted), so the limit must not fall
# short: the spread between one function's cheapest and costliest calls in bench/gas.json is below 2.5x (a
# transfer: 66k into an existing balance, 165k into a new one; liquidation: 2 to 8 assets, ~200k to ~490k). Gas
# is free (price 0, or Ganache's ordering bids paid from the ether it gives each sender); the cost is block
# room: ~75 borrows per 30M block.
PER_STEP_GAS_HEADROOM = 100_000


@dataclass
class PendingTx:
    """A transaction sent (or about to be) whose outcome is known once it is mined: then exactly one of
    ``receipt`` and ``error`` is set and ``on_done(self)`` runs."""
    label: str
    signer: Signer
    to: str | None
    data: str
    gas: int
    gas_key: GasKey | None = None
    hinted: bool = False  # the gas limit is a learnt one (out of gas → re-estimate and send again)
    on_done: Callable[[PendingTx], None] | None = None
    blocking: bool = False  # a caller waits for it (send/transact): flush leaves its error to that caller
    fixed: bool = False  # the caller gave the gas limit
    tx: dict[str, Any] = field(default_factory=dict)
    tx_hash: str = ""
    receipt: dict[str, Any] | None = None
    error: TxReverted | None = None

    def result(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        assert self.receipt is not None, "not mined yet"
        return self.receipt


def settle(batch: list[PendingTx]) -> None:
    """Hand every resolved transaction to its ``on_done``, in sending order; the first revert that has no
    ``on_done`` and no caller waiting for it is raised."""
    for pending in batch:
        if pending.on_done is not None:
            pending.on_done(pending)
        elif pending.error is not None and not pending.blocking:
            raise pending.error


class Mining(ABC):
    """How a chain's transactions are sent and mined; the facade picks one per chain when it opens."""

    mode: ClassVar[MiningMode]

    def __init__(self, rpc: Transport, backend: Backend, decoder: RevertDecoder, gas: GasLimits, *, chain_id: int,
                 remote: bool) -> None:
        self.rpc = rpc
        self.backend = backend
        self.decoder = decoder
        self.gas = gas
        self.chain_id = chain_id
        self.remote = remote  # connected by URL: the node's clock may tick on its own

    @abstractmethod
    def send(self, signer: Signer, to: str | None, data: str, label: str, gas_key: GasKey | None) -> dict[str, Any]:
        """Sign, send and wait for the receipt; a revert raises :class:`TxReverted` with the decoded reason."""

    @abstractmethod
    def send_fixed(self, signer: Signer, to: str, data: str, gas: int, label: str) -> dict[str, Any]:
        """:meth:`send` with the caller's gas limit: no estimate, no retry."""

    @abstractmethod
    def submit(self, signer: Signer, to: str, data: str, label: str, gas_key: GasKey | None,
               on_done: Callable[[PendingTx], None] | None) -> PendingTx:
        """Send without waiting where the mode allows; the outcome goes to ``on_done`` once known."""

    @abstractmethod
    def flush(self) -> None:
        """Mine whatever waits to be mined, so that a read sees it."""

    @abstractmethod
    def time_set(self, target: int, seconds: int) -> None:
        """The backend has set the next block's time to ``target``: carry it into a block."""

    def _check_time(self, now: int, target: int, message: str) -> None:
        # Our own nodes have pinned clocks; a node we merely connected to may tick on its own.
        if now != target and not (self.remote and now > target):
            raise ChainError(message)


class PerStepMining(Mining):
    """Automine off: submitted transactions wait in the pool and one :meth:`flush` mines them into a block."""

    mode = "per-step"

    def __init__(self, rpc: Transport, backend: Backend, decoder: RevertDecoder, gas: GasLimits, *, chain_id: int,
                 remote: bool, block_gas_limit: int) -> None:
        super().__init__(rpc, backend, decoder, gas, chain_id=chain_id, remote=remote)
        self.block_gas_limit = block_gas_limit
        self.pending: list[PendingTx] = []  # sent, not yet mined, in order
        self.pending_gas = 0
        self.pending_time: int | None = None  # the timestamp the next block must have

    def send(self, signer: Signer, to: str | None, data: str, label: str, gas_key: GasKey | None) -> dict[str, Any]:
        # Mined at once, in one block after whatever was submitted before it.
        pending = self._enqueue(signer, to, data, label, gas_key, blocking=True)
        self.flush()
        return pending.result()

    def send_fixed(self, signer: Signer, to: str, data: str, gas: int, label: str) -> dict[str, Any]:
        pending = self._enqueue(signer, to, data, label, None, fixed_gas=gas, blocking=True)
        self.flush()
        return pending.result()

    def submit(self, signer: Signer, to: str, data: str, label: str, gas_key: GasKey | None,
               on_done: Callable[[PendingTx], None] | None) -> PendingTx:
        try:
            pending = self._enqueue(signer, to, data, label, gas_key, on_done=on_done)
        except TxReverted as exc:  # the gas estimate reverted: nothing was sent, as in auto mining
            pending = PendingTx(label, signer, to, data, 0, gas_key, on_done=on_done, error=exc)
            settle([pending])
        return pending

    def time_set(self, target: int, seconds: int) -> None:
        self.pending_time = target  # the step's block (mined by the next flush) carries the new time

    def _enqueue(self, signer: Signer, to: str | None, data: str, label: str, gas_key: GasKey | None,
                 *, fixed_gas: int | None = None, blocking: bool = False,
                 on_done: Callable[[PendingTx], None] | None = None) -> PendingTx:
        """Sign and send one transaction without mining it; raises :class:`TxReverted` if its gas estimate
        reverts (then nothing was sent)."""
        hint = self.gas.learnt(gas_key) if fixed_gas is None else None
        if fixed_gas is not None:
            gas = fixed_gas
        elif hint is not None:
            gas = padded_gas(hint) if blocking else min(max(padded_gas(hint), 2 * hint + PER_STEP_GAS_HEADROOM),
                                                        GAS_CAP)
        else:
            self.flush()  # the estimate must see every earlier transaction
            estimate = self.gas.estimate(signer.address, to, data, label)
            self.gas.learn(gas_key, estimate)
            gas = padded_gas(estimate)
        if self.pending_gas + gas > self.block_gas_limit:
            self.flush()  # the miner must take every pending transaction into one block, or it could reorder
        pending = PendingTx(label, signer, to, data, gas, gas_key, hinted=hint is not None, on_done=on_done,
                            blocking=blocking, fixed=fixed_gas is not None)
        price = self.backend.order_price(self.rpc, signer.address, len(self.pending), last=blocking)
        self._send(pending, price)
        return pending

    def _send(self, pending: PendingTx, price: int) -> None:
        signer = pending.signer
        tx, raw = signer.sign(pending.to, pending.data, pending.gas, price, self.chain_id)
        # Straight to the provider: web3's method machinery cost more than revm's execution of the transaction.
        answer = self.rpc.call(lambda: self.rpc.w3.provider.make_request(
            RPCEndpoint("eth_sendRawTransaction"), ["0x" + raw.hex()]))
        if "error" in answer:
            raise ChainError(f"{pending.label}: the node refused the transaction from {signer.name} with nonce "
                             f"{signer.nonce}: {short_error(Exception(answer['error']))}")
        if str(answer.get("result", "")).lower() != "0x" + keccak(raw).hex():
            raise ChainError(f"{pending.label}: the node answered with another transaction hash than the one sent")
        pending.tx, pending.tx_hash = tx, "0x" + keccak(raw).hex()
        signer.nonce += 1
        self.pending.append(pending)
        self.pending_gas += pending.gas

    def flush(self) -> None:
        """Mine everything sent since the last flush (and a pending time change) into one block, check it, and
        resolve every transaction in sending order (``on_done``; the first revert nobody handles is raised).
        No-op with nothing pending."""
        if not self.pending and self.pending_time is None:
            return
        batch, self.pending, self.pending_gas = self.pending, [], 0
        target, self.pending_time = self.pending_time, None
        receipts, block = self._mine(batch)
        self._check_mined(batch, receipts, block, target)
        for i, (pending, raw) in enumerate(zip(batch, receipts, strict=True)):
            self._resolve(pending, raw, last=i == len(batch) - 1)
        settle(batch)

    def _mine(self, batch: list[PendingTx]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Mine, then every receipt, the senders' nonces and the block in one batch request; mines again if the
        node left some pending (it should not: the batch fits the block's gas limit)."""
        receipts: list[dict[str, Any] | None] = [None] * len(batch)
        senders = sorted({p.signer.address for p in batch})
        for _ in range(len(batch) + 1):
            self.backend.mine(self.rpc)
            missing = [i for i, r in enumerate(receipts) if r is None]
            calls: list[tuple[str, list[Any]]] = [("eth_getTransactionReceipt", [batch[i].tx_hash])
                                                  for i in missing]
            calls += [("eth_getTransactionCount", [a, "latest"]) for a in senders]
            calls.append(("eth_getBlockByNumber", ["latest", False]))
            answers = self.rpc.batch(calls)
            for i, answer in zip(missing, answers, strict=False):  # the nonces and the block follow
                receipts[i] = answer
            if all(r is not None for r in receipts):
                counts = answers[len(missing):len(missing) + len(senders)]
                for address, count in zip(senders, counts, strict=True):
                    signer = next(p.signer for p in batch if p.signer.address == address)
                    if int(count, 16) != signer.nonce:
                        raise ChainError(f"nonce mismatch for {signer.name}: sent up to nonce {signer.nonce - 1}, "
                                         f"the node reports {int(count, 16)} transactions; the node mined a "
                                         f"duplicate or lost one — replay on a fresh node")
                return [r for r in receipts if r is not None], answers[-1]
        raise ChainError(f"evm_mine left {sum(r is None for r in receipts)} of {len(batch)} transactions unmined")

    def _check_mined(self, batch: list[PendingTx], receipts: list[dict[str, Any]], block: dict[str, Any],
                     target: int | None) -> None:
        """Same transactions, mined in the order sent; the block at the pending timestamp."""
        position = (-1, -1)
        for pending, receipt in zip(batch, receipts, strict=True):
            if str(receipt["transactionHash"]).lower() != pending.tx_hash:
                raise ChainError(f"{pending.label}: the receipt is for another transaction than the one sent")
            here = (int(receipt["blockNumber"], 16), int(receipt["transactionIndex"], 16))
            if here <= position:
                raise ChainError(f"{pending.label}: the node mined the step's transactions in another order than "
                                 f"they were sent; replay with --mining auto")
            position = here
        now = int(block["timestamp"], 16)
        if target is not None:
            self._check_time(now, target, f"advancing time reached {now}, expected {target}")
        self.rpc.progress.last_block = int(block["number"], 16)
        self.rpc.progress.tx_count += len(batch)

    def _resolve(self, pending: PendingTx, raw: dict[str, Any], last: bool) -> None:
        receipt = format_receipt(raw)
        if receipt["status"] == 1:
            pending.receipt = receipt
            return
        if int(receipt["gasUsed"]) < pending.gas:
            pending.error = TxReverted(self._trace_reason(pending))
        elif not pending.hinted:
            how = "given" if pending.fixed else "estimated"
            pending.error = TxReverted(f"out of gas at the {how} limit {pending.gas}: used all {pending.gas} gas")
        elif last:  # a learnt limit too low, and nothing after it in the block: send again, as auto mining does
            assert pending.gas_key is not None
            self.gas.forget(pending.gas_key)
            try:
                again = self._enqueue(pending.signer, pending.to, pending.data, pending.label, pending.gas_key,
                                      blocking=True)
                self.flush()
                pending.receipt, pending.error = again.receipt, again.error
            except TxReverted as exc:
                pending.error = exc
        else:
            raise ChainError(f"{pending.label}: out of gas at the learnt limit {pending.gas}, and later "
                             f"transactions of the same block already ran after it; replay with --mining auto")

    def _trace_reason(self, pending: PendingTx) -> str:
        """The decoded reason of a mined transaction that reverted, read at its own position in the block."""
        data = self.backend.revert_data(self.rpc, pending.tx_hash)
        return self.decoder.decode(data) if data is not None else "reverted on chain (out of gas?)"
