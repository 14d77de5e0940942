"""A local dev chain seen through web3.py: start or connect, sign and send transactions, decode reverts.

Transactions are signed locally with a deterministic key per actor; the simulator keeps every signer's nonce
itself and checks after each receipt that the node agrees (Ganache 7.9.2 was seen mining two transactions with
one nonce). Gas is estimated and padded; the gas price is 0 (both dev chains allow it with a zero base fee), so
actors need no ether.

Two mining modes (:data:`MINING_MODES`):

- ``auto`` (default): the node mines every transaction in its own block as it arrives; each send waits for its
  receipt.
- ``per-step``: automine is off. Transactions the engine does not need an answer for at once are *submitted*
  (:meth:`Chain.submit`): sent without waiting, in order. Before anything reads the chain (a call, a gas
  estimate, a timestamp) and at the end of each step, :meth:`Chain.flush` mines one block with ``evm_mine`` and
  fetches every receipt and nonce in one batched JSON-RPC request, checks that the block holds the transactions
  in the order they were sent, and resolves them: statuses, decoded revert reasons (read from the transaction's
  trace at its position in the block), events. The node keeps the sending order in its own way
  (:meth:`~marginlab.chain.backends.Backend.order_price`).

What differs between Ganache and Anvil lives in their classes in :mod:`~marginlab.chain.backends`; every request
goes through a :class:`~marginlab.chain.rpc.Transport`, which turns failures into :class:`ChainError` or
:class:`ChainDied`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, TypeVar

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from marginlab.chain.artifacts import Artifacts, evm_mismatch_message
from marginlab.chain.backends import (LOCAL_CHAIN_IDS, Backend, NodeProcess, backend_named, detect_backend,
                                      start_node)
from marginlab.chain.reverts import InvalidOpcode, RevertDecoder, TxReverted, abi_type, revert_data
from marginlab.chain.rpc import REQUEST_TIMEOUT_S, Progress, Transport, connect, short_error
from marginlab.errors import ChainDied, ChainError

MINING_MODES = ("auto", "per-step")
MiningMode = Literal["auto", "per-step"]
# How the engine values sub-accounts: "chain" = the vault's batch view every keeper round (the node executes the
# valuation); "mirror" = the vault's formulas in Python on balances, indexes and prices read in one call, checked
# against the batch view every few steps and at the end (marginlab/mirror.py).
ReadMode = Literal["chain", "mirror"]
# per-step mining: a submitted transaction that reuses a learnt gas limit (the largest estimate seen for that
# function) may use up to twice it plus this. In auto mining a learnt limit that falls short is re-estimated and
# sent again; in a block that already ran later transactions after it that cannot be undone (the flush then
# stops with an error that says so; snapshots to roll back cost Anvil ~0.3 MB each, kept until reverted), so
# the limit must not fall short: the spread between one function's cheapest and costliest calls in
# bench/gas.json is below 2.5x (a transfer: 66k into an existing balance, 165k into a new one; liquidation: 2
# to 8 assets, ~200k to ~490k). Gas is free (price 0, or Ganache's ordering bids paid from the ether it gives
# each sender); the cost is block room: ~75 borrows per 30M block.
PER_STEP_GAS_HEADROOM = 100_000
GAS_HEADROOM_NUM, GAS_HEADROOM_DEN = 12, 10  # estimate + 20 %
# ... but at least this much more: an estimate is taken at the latest block's timestamp, and on a node whose
# clock ticks (one we only connected to) the transaction can mine a second later and accrue interest first,
# writing storage the estimate never touched.
GAS_MIN_HEADROOM = 80_000
GAS_CAP = 29_000_000
T = TypeVar("T")


def padded_gas(estimate: int) -> int:
    return min(max(estimate * GAS_HEADROOM_NUM // GAS_HEADROOM_DEN, estimate + GAS_MIN_HEADROOM), GAS_CAP)


@dataclass(frozen=True)
class ChainOptions:
    backend: str = "ganache"
    rpc_url: str | None = None
    allow_remote: bool = False
    request_timeout: float = REQUEST_TIMEOUT_S
    port: int | None = None
    mining: MiningMode = "auto"
    reads: ReadMode = "chain"


class _OutOfGas(Exception):
    """The transaction ran out of gas (its limit may have been a reused estimate)."""


# --------------------------------------------------------------------------------------------------- signers

@dataclass
class Signer:
    name: str
    account: LocalAccount
    nonce: int = 0

    @property
    def address(self) -> str:
        return str(self.account.address)


def signer_key(role: str, name: str) -> bytes:
    """Deterministic private key per actor, so addresses (and so storage layouts) repeat between replays."""
    return keccak(text=f"marginlab:{role}:{name}")


@dataclass
class PendingTx:
    """A transaction sent (or about to be) whose outcome is known once it is mined: then exactly one of
    ``receipt`` and ``error`` is set and ``on_done(self)`` runs."""
    label: str
    signer: Signer
    to: str | None
    data: str
    gas: int
    gas_key: tuple[str, str] | None = None
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


# --------------------------------------------------------------------------------------------------- chain

class Chain:
    """One open chain: what the engine, the runner, the benchmark and the tests call."""

    def __init__(self, transport: Transport, driver: Backend, decoder: RevertDecoder, *, node: NodeProcess | None,
                 chain_id: int, block_gas_limit: int, remote: bool, mining: MiningMode = "auto",
                 reads: ReadMode = "chain", request_timeout: float = REQUEST_TIMEOUT_S) -> None:
        self.transport = transport
        self.driver = driver  # the node's quirks
        self.decoder = decoder
        self.w3: Web3 = transport.w3
        self.url = transport.url
        self.node = node  # None: connected by URL
        self.remote = remote  # connected by URL: another process may also be using this chain
        self.mining = mining
        self.reads = reads
        self.request_timeout = request_timeout
        self.block_gas_limit = block_gas_limit
        self.gas_price = 0
        self._chain_id = chain_id
        self._signers: dict[str, Signer] = {}
        self._pending: list[PendingTx] = []  # per-step mining: sent, not yet mined, in order
        self._pending_gas = 0
        self._pending_time: int | None = None  # per-step mining: the timestamp the next block must have
        self._gas_hint: dict[tuple[str, str], int] = {}
        self._out_types: dict[tuple[str, str], Any] = {}
        self._calldata: dict[Any, str] = {}

    # ---- lifecycle
    @classmethod
    def open(cls, options: ChainOptions, decoder: RevertDecoder) -> Chain:
        """Start a node (or connect to ``options.rpc_url``), check it is a local dev chain the simulator may send
        gas-price-0 transactions to, and set its mining mode."""
        node: NodeProcess | None = None
        driver: Backend
        if options.rpc_url:  # recognised below, once it answers
            url = options.rpc_url
        else:
            driver = backend_named(options.backend)
            node = start_node(driver, options.port)
            url = node.url
        transport = Transport(connect(url, options.request_timeout), url, node, Progress())
        w3 = transport.w3

        def refused(message: str) -> ChainError:
            if node is not None:
                node.stop()
            return ChainError(message)

        try:
            chain_id = transport.call(lambda: w3.eth.chain_id)
        except ChainDied as exc:
            how = "start one with `make chain` or drop --rpc-url to let marginlab start its own" if options.rpc_url \
                else "the node exited right after starting"
            raise refused(f"no node answers at {url}: {how} ({exc})") from None
        if chain_id not in LOCAL_CHAIN_IDS and not options.allow_remote:
            raise refused(f"chain id {chain_id} at {url} is not a local dev chain (1337, 31337); refusing to "
                          f"send transactions. Pass --allow-remote-chain if this really is a throwaway chain")
        latest = transport.call(lambda: w3.eth.get_block("latest"))
        base_fee = latest.get("baseFeePerGas", 0) or 0
        if base_fee:
            raise refused(f"the chain at {url} has a base fee of {base_fee} wei; the simulator sends "
                          f"gas-price-0 transactions: start the node with a zero base fee "
                          f"(anvil --block-base-fee-per-gas 0, ganache --miner.defaultGasPrice 0 "
                          f"--chain.hardfork istanbul)")
        transport.progress.last_block = transport.call(lambda: w3.eth.block_number)
        if options.rpc_url:
            driver = detect_backend(str(transport.call(lambda: w3.client_version)))
        if options.mining not in MINING_MODES:
            raise refused(f"unknown mining mode {options.mining!r}: use one of {', '.join(MINING_MODES)}")
        chain = cls(transport, driver, decoder, node=node, chain_id=int(chain_id),
                    block_gas_limit=int(latest["gasLimit"]), remote=bool(options.rpc_url), mining=options.mining,
                    reads=options.reads, request_timeout=options.request_timeout)
        if options.mining == "per-step":
            driver.stop_automine(transport)
        return chain

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()

    def rpc(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a request through :attr:`w3`) with failures classified: :class:`ChainDied` if the node is
        gone, :class:`ChainError` if it timed out."""
        return self.transport.call(fn)

    # ---- where the chain stands
    @property
    def backend(self) -> str:
        """``ganache`` or ``anvil`` (a node given by URL is recognised by its client version)."""
        return self.driver.name

    @property
    def chain_id(self) -> int:
        """The node's chain id (read once, when the chain is opened)."""
        return self._chain_id

    @property
    def step(self) -> int | None:
        """The scenario step being replayed (the engine sets it), named in failure messages."""
        return self.transport.progress.step

    @step.setter
    def step(self, value: int | None) -> None:
        self.transport.progress.step = value

    @property
    def last_block(self) -> int:
        return self.transport.progress.last_block

    @last_block.setter
    def last_block(self, value: int) -> None:
        self.transport.progress.last_block = value

    @property
    def tx_count(self) -> int:
        """Transactions mined by this chain object."""
        return self.transport.progress.tx_count

    @tx_count.setter
    def tx_count(self, value: int) -> None:
        self.transport.progress.tx_count = value

    # ---- signers
    def signer(self, role: str, name: str) -> Signer:
        key = f"{role}:{name}"
        if key not in self._signers:
            account = Account.from_key(signer_key(role, name))
            nonce = self.driver.open_sender(self.transport, account.address)
            self._signers[key] = Signer(name, account, nonce)
        return self._signers[key]

    # ---- contracts
    def contract(self, address: str, abi: list[dict[str, Any]]) -> Contract:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=abi)

    def deploy(self, signer: Signer, artifacts: Artifacts, name: str, *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=artifacts.abi(name), bytecode=artifacts.bytecode(name))
        data = factory.constructor(*args).data_in_transaction
        try:
            receipt = self.send(signer, None, data, label=f"deploy {name}")
        except InvalidOpcode:
            raise ChainError(evm_mismatch_message(artifacts, name, self.backend, self.url)) from None
        except TxReverted as exc:
            raise ChainError(f"deploy {name}: the constructor reverted: {exc.reason}") from None
        address = receipt["contractAddress"]
        if not address:
            raise ChainError(f"deploying {name} produced no contract address")
        code = self.rpc(lambda: self.w3.eth.get_code(address))
        if len(code) == 0:
            raise ChainError(f"deploying {name} left no code at {address}: the node's EVM may not support the "
                             f"compiled opcodes; compile for istanbul (brownie-config.yaml evm_version) or start "
                             f"Ganache with --chain.hardfork istanbul")
        return self.contract(address, artifacts.abi(name))

    def call(self, contract: Contract, fn: str, *args: Any) -> Any:
        self.flush()  # per-step mining: a read sees every transaction sent before it
        try:
            return self.rpc(lambda: getattr(contract.functions, fn)(*args).call())
        except (ContractLogicError, ContractCustomError, ContractPanicError, ValueError) as exc:
            data = revert_data(exc)
            if data is None:
                raise ChainError(f"call {fn} failed: {short_error(exc)}") from None
            raise TxReverted(self.decoder.decode(data)) from None

    def _call_types(self, contract: Contract, fn: str) -> tuple[list[str], list[str], bytes]:
        """Output types, input types and selector of ``contract.fn``, learnt from its ABI once."""
        key = (contract.address, fn)
        if key not in self._out_types:
            abi = next(i for i in contract.abi if i.get("type") == "function" and i.get("name") == fn)
            ins = [abi_type(o) for o in abi.get("inputs", [])]
            selector = keccak(text=f"{fn}({','.join(ins)})")[:4]
            self._out_types[key] = ([abi_type(o) for o in abi.get("outputs", [])], ins, selector)
        return self._out_types[key]

    def _decode_answer(self, fn: str, types: list[str], answer: dict[str, Any]) -> Any:
        """One JSON-RPC ``eth_call`` answer: its decoded result, or the revert it carries as :class:`TxReverted`."""
        if "error" in answer:
            data_bytes = revert_data(answer["error"])
            if data_bytes is None:
                raise ChainError(f"call {fn} failed: {answer['error']}")
            raise TxReverted(self.decoder.decode(data_bytes))
        out = abi_decode(types, bytes.fromhex(str(answer["result"])[2:]))
        return out[0] if len(out) == 1 else out

    def call_fast(self, contract: Contract, fn: str, *args: Any) -> Any:
        """:meth:`call` with a plain ``eth_call`` and ``eth_abi`` decoding: web3's result normalisers took 0.65 s
        to decode 500 sub-account states that the node returned in 14 ms."""
        types, ins, selector = self._call_types(contract, fn)
        self.flush()
        memo_key = ((contract.address, fn), _frozen(args))
        data = self._calldata.get(memo_key)
        if data is None:  # the same read (all sub-accounts) repeats every step: encode it once
            data = "0x" + (selector + abi_encode(ins, list(args))).hex()
            if len(self._calldata) > 64:
                self._calldata.clear()
            self._calldata[memo_key] = data
        response = self.rpc(lambda: self.w3.provider.make_request(  # type: ignore[arg-type]
            "eth_call", [{"to": contract.address, "data": data}, "latest"]))
        return self._decode_answer(fn, types, response)

    def call_many(self, contract: Contract, fn: str, args_list: list[tuple[Any, ...]]) -> list[Any]:
        """:meth:`call_fast` for several argument tuples in one JSON-RPC batch (one HTTP round trip, all at the
        same block): for reads too big for one ``eth_call``, which a node caps at its block gas limit."""
        if len(args_list) == 1:
            return [self.call_fast(contract, fn, *args_list[0])]
        types, ins, selector = self._call_types(contract, fn)
        self.flush()
        calls = [("eth_call", [{"to": contract.address, "data": "0x" + (selector + abi_encode(ins, list(a))).hex()},
                               "latest"]) for a in args_list]
        answers = self.transport.batch_answers(calls)
        return [self._decode_answer(fn, types, answer) for answer in answers]

    def transact(self, signer: Signer, contract: Contract, fn: str, *args: Any, gas: int | None = None,
                 learn_gas: bool = True) -> dict[str, Any]:
        """Send ``contract.fn(*args)`` with gas learnt per function (see :meth:`send`); ``gas``: this limit,
        no estimate; ``learn_gas=False``: estimate every time (batches whose gas depends on their length)."""
        data = getattr(contract.functions, fn)(*args)._encode_transaction_data()
        if gas is not None:
            return self._send_fixed(signer, contract.address, data, min(gas, GAS_CAP), fn)
        return self.send(signer, contract.address, data, label=fn,
                         gas_key=(contract.address, fn) if learn_gas else None)

    def _send_fixed(self, signer: Signer, to: str, data: str, gas: int, label: str) -> dict[str, Any]:
        if self.mining == "per-step":
            pending = self._enqueue(signer, to, data, label, None, fixed_gas=gas, blocking=True)
            self.flush()
            return pending.result()
        try:
            return self._send_signed(signer, to, data, gas, label)
        except _OutOfGas as exc:
            raise TxReverted(f"out of gas at the given limit {gas}: {exc}") from None

    def submit(self, signer: Signer, contract: Contract, fn: str, *args: Any,
               on_done: Callable[[PendingTx], None] | None = None) -> PendingTx:
        """Send ``contract.fn(*args)`` (gas learnt per function) without waiting where the mining mode allows.

        ``on_done(pending)`` runs once the outcome is known — at once in ``auto`` mining, at the next
        :meth:`flush` in ``per-step`` — with ``pending.receipt`` or ``pending.error`` (a :class:`TxReverted`,
        decoded as :meth:`transact` would) set. Without ``on_done`` a revert raises :class:`TxReverted` from
        wherever the outcome becomes known (this call, or the read or flush that mines it)."""
        data = getattr(contract.functions, fn)(*args)._encode_transaction_data()
        return self.submit_data(signer, contract.address, data, fn, (contract.address, fn), on_done)

    def submit_data(self, signer: Signer, to: str, data: str, label: str, gas_key: tuple[str, str] | None = None,
                    on_done: Callable[[PendingTx], None] | None = None) -> PendingTx:
        """:meth:`submit` for encoded calldata."""
        if self.mining == "auto":
            pending = PendingTx(label, signer, to, data, 0, gas_key, on_done=on_done)
            try:
                pending.receipt = self.send(signer, to, data, label, gas_key)
            except TxReverted as exc:
                pending.error = exc
            self._finish([pending])
            return pending
        try:
            pending = self._enqueue(signer, to, data, label, gas_key, on_done=on_done)
        except TxReverted as exc:  # the gas estimate reverted: nothing was sent, as in auto mining
            pending = PendingTx(label, signer, to, data, 0, gas_key, on_done=on_done, error=exc)
            self._finish([pending])
        return pending

    def send(self, signer: Signer, to: str | None, data: str, label: str,
             gas_key: tuple[str, str] | None = None) -> dict[str, Any]:
        """Sign, send and wait; raise :class:`TxReverted` with the decoded reason on a revert.

        Gas is the node's estimate + 20 % (at least +80k). With a ``gas_key`` the largest estimate seen for that
        contract function is reused instead of estimating again: Ganache runs a liquidation ~10 times to
        estimate it (0.4 s each, measured), which dominated replay time. A reused limit that turns out too low
        (out of gas) is dropped and the transaction re-estimated and sent again, so a learnt limit can cost a
        retry but never a wrong result.

        In per-step mining the transaction is mined at once, in one block after whatever was submitted before it.
        """
        if self.mining == "per-step":
            pending = self._enqueue(signer, to, data, label, gas_key, blocking=True)
            self.flush()
            return pending.result()
        hint = self._gas_hint.get(gas_key) if gas_key is not None else None
        if hint is None:
            estimate = self._estimate(signer, to, data, label)
            if gas_key is not None:
                self._gas_hint[gas_key] = max(estimate, self._gas_hint.get(gas_key, 0))
            gas = padded_gas(estimate)
        else:
            gas = padded_gas(hint)
        try:
            return self._send_signed(signer, to, data, gas, label)
        except _OutOfGas as exc:
            if hint is None or gas_key is None:
                raise TxReverted(f"out of gas at the estimated limit {gas}: {exc}") from None
            self._gas_hint.pop(gas_key, None)
            return self.send(signer, to, data, label, gas_key)

    def _estimate(self, signer: Signer, to: str | None, data: str, label: str) -> int:
        self.flush()  # per-step mining: estimate on the state every transaction sent so far leaves
        tx: dict[str, Any] = {"from": signer.address, "data": data, "value": 0, "gasPrice": self.gas_price}
        if to is not None:
            tx["to"] = to
        try:
            return int(self.rpc(lambda: self.w3.eth.estimate_gas(tx)))  # type: ignore[arg-type]
        except (ContractLogicError, ContractCustomError, ContractPanicError, ValueError) as exc:
            text = short_error(exc)
            # Checked before the revert data: Ganache answers an unknown opcode with data "0x" as well, which
            # would read as a plain revert without a reason.
            if self.driver.is_invalid_opcode(text):
                raise InvalidOpcode(f"{label}: invalid opcode: the node runs an older EVM than the contracts "
                                    f"were compiled for ({text})") from None
            data_bytes = revert_data(exc)
            if data_bytes is None:
                raise TxReverted(f"gas estimation failed: {text}", gas_estimation=True) from None
            raise TxReverted(self.decoder.decode(data_bytes), gas_estimation=True) from None

    def _send_signed(self, signer: Signer, to: str | None, data: str, gas: int, label: str) -> dict[str, Any]:
        tx: dict[str, Any] = {"data": data, "value": 0, "gasPrice": self.gas_price, "gas": gas,
                              "nonce": signer.nonce, "chainId": self._chain_id}
        if to is not None:
            tx["to"] = to
        raw = signer.account.sign_transaction(tx).raw_transaction
        expected_hash = keccak(raw)
        try:
            tx_hash = self.rpc(lambda: self.w3.eth.send_raw_transaction(raw))
        except ValueError as exc:
            # Ganache with vmErrorsOnRPCResponse (brownie's setting) mines a failing transaction and *also*
            # answers with an error: the nonce is spent either way, so ask the node which happened.
            on_chain = self.rpc(lambda: self.w3.eth.get_transaction_count(signer.address))
            if on_chain == signer.nonce + 1:
                signer.nonce += 1
                self.tx_count += 1
                if "out of gas" in str(exc).lower():
                    raise _OutOfGas(short_error(exc)) from None
                data_bytes = revert_data(exc)
                raise TxReverted(self.decoder.decode(data_bytes) if data_bytes is not None
                                 else f"failed on chain: {short_error(exc)}") from None
            raise ChainError(f"{label}: the node refused the transaction from {signer.name} with nonce "
                             f"{signer.nonce}: {short_error(exc)}") from None
        receipt = self.rpc(lambda: self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.request_timeout,
                                                                            poll_latency=0.01))
        if bytes(receipt["transactionHash"]) != expected_hash:
            raise ChainError(f"{label}: the receipt is for another transaction than the one sent")
        signer.nonce += 1
        self.tx_count += 1
        self.last_block = int(receipt["blockNumber"])
        on_chain = self.rpc(lambda: self.w3.eth.get_transaction_count(signer.address))
        if on_chain != signer.nonce:
            raise ChainError(f"{label}: nonce mismatch for {signer.name}: sent nonce {signer.nonce - 1}, the node "
                             f"now reports {on_chain} transactions; the node mined a duplicate or lost one "
                             f"(a known Ganache 7.9.2 fault) — replay on a fresh node")
        if receipt["status"] != 1:
            if int(receipt["gasUsed"]) >= gas:
                raise _OutOfGas(f"used all {gas} gas")
            raise TxReverted(self._replay_reason(tx, signer, to))
        return dict(receipt)

    def _replay_reason(self, tx: dict[str, Any], signer: Signer, to: str | None) -> str:
        """A mined transaction failed after a successful estimate: re-run it as a call to read the reason."""
        call = {"from": signer.address, "data": tx["data"], "gas": tx["gas"]}
        if to is not None:
            call["to"] = to
        try:
            self.rpc(lambda: self.w3.eth.call(call))  # type: ignore[arg-type]
        except (ContractLogicError, ContractCustomError, ContractPanicError, ValueError) as exc:
            data = revert_data(exc)
            return self.decoder.decode(data) if data is not None else short_error(exc)
        return "reverted on chain (out of gas?)"

    # ---- per-step mining
    def _enqueue(self, signer: Signer, to: str | None, data: str, label: str, gas_key: tuple[str, str] | None,
                 *, fixed_gas: int | None = None, blocking: bool = False,
                 on_done: Callable[[PendingTx], None] | None = None) -> PendingTx:
        """Sign and send one transaction without mining it; raises :class:`TxReverted` if its gas estimate
        reverts (then nothing was sent)."""
        hint = self._gas_hint.get(gas_key) if gas_key is not None and fixed_gas is None else None
        if fixed_gas is not None:
            gas = fixed_gas
        elif hint is not None:
            gas = padded_gas(hint) if blocking else min(max(padded_gas(hint), 2 * hint + PER_STEP_GAS_HEADROOM),
                                                        GAS_CAP)
        else:
            estimate = self._estimate(signer, to, data, label)  # flushes: it sees every earlier transaction
            if gas_key is not None:
                self._gas_hint[gas_key] = max(estimate, self._gas_hint.get(gas_key, 0))
            gas = padded_gas(estimate)
        if self._pending_gas + gas > self.block_gas_limit:
            self.flush()  # the miner must take every pending transaction into one block, or it could reorder
        pending = PendingTx(label, signer, to, data, gas, gas_key, hinted=hint is not None, on_done=on_done,
                            blocking=blocking, fixed=fixed_gas is not None)
        price = self.driver.order_price(self.transport, signer.address, len(self._pending), last=blocking)
        self._send_pending(pending, price)
        return pending

    def _send_pending(self, pending: PendingTx, price: int) -> None:
        signer = pending.signer
        tx: dict[str, Any] = {"data": pending.data, "value": 0, "gasPrice": price, "gas": pending.gas,
                              "nonce": signer.nonce, "chainId": self._chain_id}
        if pending.to is not None:
            tx["to"] = pending.to
        raw = signer.account.sign_transaction(tx).raw_transaction
        try:
            tx_hash = self.rpc(lambda: self.w3.eth.send_raw_transaction(raw))
        except ValueError as exc:
            raise ChainError(f"{pending.label}: the node refused the transaction from {signer.name} with nonce "
                             f"{signer.nonce}: {short_error(exc)}") from None
        if bytes(tx_hash) != keccak(raw):
            raise ChainError(f"{pending.label}: the node answered with another transaction hash than the one sent")
        pending.tx, pending.tx_hash = tx, "0x" + keccak(raw).hex()
        signer.nonce += 1
        self._pending.append(pending)
        self._pending_gas += pending.gas

    def flush(self) -> None:
        """Per-step mining: mine everything sent since the last flush (and a pending time change) into one block,
        check it, and resolve every transaction in sending order (``on_done``; the first revert nobody handles
        is raised). No-op in auto mining or with nothing pending."""
        if self.mining != "per-step" or (not self._pending and self._pending_time is None):
            return
        batch, self._pending, self._pending_gas = self._pending, [], 0
        target, self._pending_time = self._pending_time, None
        receipts, block = self._mine(batch)
        self._check_mined(batch, receipts, block, target)
        for i, (pending, raw) in enumerate(zip(batch, receipts)):
            self._resolve(pending, raw, last=i == len(batch) - 1)
        self._finish(batch)

    def _mine(self, batch: list[PendingTx]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Mine, then every receipt, the senders' nonces and the block in one batch request; mines again
        if the node left some pending (it should not: the batch fits the block's gas limit)."""
        receipts: list[dict[str, Any] | None] = [None] * len(batch)
        senders = sorted({p.signer.address for p in batch})
        for _ in range(len(batch) + 1):
            self.driver.mine(self.transport)
            missing = [i for i, r in enumerate(receipts) if r is None]
            calls = [("eth_getTransactionReceipt", [batch[i].tx_hash]) for i in missing]
            calls += [("eth_getTransactionCount", [a, "latest"]) for a in senders]
            calls.append(("eth_getBlockByNumber", ["latest", False]))
            answers = self.transport.batch(calls)
            for i, answer in zip(missing, answers):
                receipts[i] = answer
            if all(r is not None for r in receipts):
                counts = answers[len(missing):len(missing) + len(senders)]
                for address, count in zip(senders, counts):
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
        for pending, receipt in zip(batch, receipts):
            if str(receipt["transactionHash"]).lower() != pending.tx_hash:
                raise ChainError(f"{pending.label}: the receipt is for another transaction than the one sent")
            here = (int(receipt["blockNumber"], 16), int(receipt["transactionIndex"], 16))
            if here <= position:
                raise ChainError(f"{pending.label}: the node mined the step's transactions in another order than "
                                 f"they were sent; replay with --mining auto")
            position = here
        now = int(block["timestamp"], 16)
        if target is not None and now != target and not (self.remote and now > target):
            raise ChainError(f"advancing time reached {now}, expected {target}")
        self.last_block = int(block["number"], 16)
        self.tx_count += len(batch)

    def _resolve(self, pending: PendingTx, raw: dict[str, Any], last: bool) -> None:
        receipt = dict(receipt_formatter(raw))
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
            self._gas_hint.pop(pending.gas_key, None)
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
        """The revert data of a mined transaction, read from its trace (at its own position in the block)."""
        data = self.driver.revert_data(self.transport, pending.tx_hash)
        return self.decoder.decode(data) if data is not None else "reverted on chain (out of gas?)"

    def _finish(self, batch: list[PendingTx]) -> None:
        for pending in batch:
            if pending.on_done is not None:
                pending.on_done(pending)
            elif pending.error is not None and not pending.blocking:
                raise pending.error

    # ---- time
    def latest_timestamp(self) -> int:
        self.flush()
        return int(self.rpc(lambda: self.w3.eth.get_block("latest"))["timestamp"])

    def advance(self, seconds: int) -> None:
        """Move chain time forward by exactly ``seconds`` and mine a block at the new time."""
        if seconds <= 0:
            return
        target = self.latest_timestamp() + seconds
        self.driver.set_next_block_time(self.transport, seconds, target)
        if self.mining == "per-step":  # the step's block (mined by the next flush) carries the new time
            self._pending_time = target
            return
        self.driver.mine(self.transport)
        block = self.rpc(lambda: self.w3.eth.get_block("latest"))
        now = int(block["timestamp"])
        # Our own nodes have pinned clocks; a node we merely connected to may tick on its own.
        if now != target and not (self.remote and now > target):
            raise ChainError(f"advancing time by {seconds} s reached {now}, expected {target}")
        self.last_block = int(block["number"])


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value
