"""An in-process chain: revm (pyrevm) behind a web3 provider that answers the JSON-RPC methods the simulator sends,
the way Anvil answers them, with no node process and no HTTP.

The rest of the chain package does not know it is not talking to a node: its JSON-RPC face,
:class:`~marginlab.chain.revm_rpc.RevmProvider`, has the two methods :class:`~marginlab.chain.rpc.Transport` uses
(``make_request`` and ``batch``), and :class:`RevmChain` keeps what a dev node keeps — blocks, receipts with their
logs, nonces, a transaction pool when automine is off, the next block's timestamp, snapshots. Transactions arrive
signed (``eth_sendRawTransaction``); their sender is recovered from the signature as a node would.

It follows Anvil as marginlab starts it: chain id 31337, a 30M block gas limit, a zero base fee, blocks that keep
the time of the block before unless ``evm_setNextBlockTimestamp`` (or ``evm_increaseTime``) says otherwise, a
pool mined in the order transactions arrived (``--order fifo``), reverts answered with code 3 and the revert data.

What pyrevm 0.3.7 cannot do, and what is done instead:

* It keeps one EVM journal open across transactions (it never finalises one), so an account or slot touched by an
  earlier transaction is still *warm* in a later one, and an SSTORE is priced against the value the slot had when
  it was first loaded. Gas used is therefore at most Anvil's, often less; nothing in a timeline depends on gas.
* ``message_call`` neither checks nor increments the sender's nonce: nonces are counted here, and the EVM's nonce
  of a deployer is set to that count before a deployment, so contract addresses are the ones Anvil gives.
* It keeps no history: a read at the block before the latest (Aave's health factor before a liquidation) rolls
  the EVM back to the start of the latest block, reads, and re-executes that block. Older blocks are refused.

Snapshots (``evm_snapshot``/``evm_revert``) are journal checkpoints plus a copy of the bookkeeping here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import rlp
from eth_account import Account
from eth_utils import keccak

CHAIN_ID = 31337
BLOCK_GAS_LIMIT = 30_000_000
#: The EVM revision: the latest pyrevm 0.3.7's revm implements in full; Anvil 1.x runs Prague, whose only gas
#: change for code compiled for istanbul is the calldata floor of EIP-7623 (applied below, as Anvil does).
SPEC_ID = "CANCUN"
CLIENT_VERSION = "marginlab-revm/pyrevm-0.3.7"
ZERO_ADDRESS = "0x" + "00" * 20
ANALYSIS_PADDING = 33  # zero bytes revm appends to analysed legacy code
EMPTY_BLOOM = "0x" + "00" * 256
_RESULT = re.compile(r"^(Revert|Halt) \{ (?:reason: (?P<reason>[^,]*(?:\([^)]*\))?), )?gas_used: (?P<gas>\d+)"
                     r"(?:, output: 0x(?P<output>[0-9a-fA-F]*))? \}")


class RpcError(Exception):
    """A request the chain refuses: answered as a JSON-RPC error object, as a node would."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def answer(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass
class Outcome:
    """One execution: success, the gas it used, its return or revert data, logs, a halt reason."""
    success: bool
    gas_used: int
    output: bytes = b""
    logs: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    halt: str | None = None  # "OutOfGas(Basic)", "OpcodeNotFound", ...
    address: str | None = None  # a deployment's


@dataclass
class Tx:
    """A transaction the chain took: what it needs to run again, and where it was mined."""
    hash: str
    sender: str
    to: str | None
    data: bytes
    value: int
    gas: int
    gas_price: int
    nonce: int
    raw: bytes


@dataclass
class Block:
    number: int
    timestamp: int
    hash: str
    parent: str
    txs: list[Tx] = field(default_factory=list)
    gas_used: int = 0


@dataclass
class Saved:
    """What ``evm_snapshot`` keeps besides the EVM's journal checkpoint."""
    checkpoint: Any
    blocks: int
    nonces: dict[str, int]
    pool: list[Tx]
    next_timestamp: int | None
    block_checkpoint: Any


def plain_json(value: Any) -> Any:
    """A request parameter as it would arrive as JSON: bytes as 0x-hex, containers walked."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return value


def to_hex(n: int) -> str:
    return hex(n)


def _block_hash(number: int, timestamp: int) -> str:
    return "0x" + keccak(b"marginlab-revm" + number.to_bytes(32, "big") + timestamp.to_bytes(32, "big")).hex()


def _intrinsic_floor(data: bytes) -> int:
    """EIP-7623 (Prague): a transaction pays at least 21,000 + 10 gas per calldata token (zero byte 1 token,
    other byte 4)."""
    zeros = data.count(0)
    return 21_000 + 10 * (zeros + 4 * (len(data) - zeros))


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    return int(value, 16) if isinstance(value, str) else int(value)


def _recover(unsigned: bytes, recovery: int, r: bytes, s: bytes, raw: bytes) -> str:
    """The sender (lower-case address) of a signed EIP-155 transaction: secp256k1 in C through coincurve when it
    is installed (requirements.txt pins it), else eth-account's own recovery."""
    try:
        from coincurve import PublicKey
    except ImportError:  # pragma: no cover - coincurve is pinned
        return str(Account.recover_transaction(raw)).lower()
    if recovery not in (0, 1):
        raise ValueError(f"bad signature recovery id {recovery}")
    signature = r.rjust(32, b"\0") + s.rjust(32, b"\0") + bytes([recovery])
    public = PublicKey.from_signature_and_message(signature, keccak(unsigned), hasher=None)
    return "0x" + keccak(public.format(compressed=False)[1:])[12:].hex()


def _call_data(call: dict[str, Any]) -> bytes:
    return bytes.fromhex(str(call.get("data") or call.get("input") or "0x")[2:])


def _create_address(sender: str, nonce: int) -> str:
    return "0x" + keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:].hex()


class RevmChain:
    """The chain state: the EVM, blocks, receipts, nonces, the pool, snapshots. One per opened chain."""

    def __init__(self, genesis_time: int, chain_id: int = CHAIN_ID, gas_limit: int = BLOCK_GAS_LIMIT) -> None:
        import pyrevm

        self._pyrevm = pyrevm
        self.chain_id = chain_id
        self.gas_limit = gas_limit
        env = pyrevm.Env(cfg=pyrevm.CfgEnv(chain_id=chain_id),
                         block=pyrevm.BlockEnv(number=0, timestamp=genesis_time, gas_limit=gas_limit, basefee=0,
                                               coinbase=ZERO_ADDRESS, difficulty=0, prevrandao=bytes(32)))
        self.evm = pyrevm.EVM(env=env, gas_limit=gas_limit, spec_id=SPEC_ID)
        self.blocks: list[Block] = [Block(0, genesis_time, _block_hash(0, genesis_time), "0x" + "00" * 32)]
        self.receipts: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.nonces: dict[str, int] = {}  # lower-case address → transactions mined
        self.pool: list[Tx] = []
        self.automine = True
        self.next_timestamp: int | None = None
        self.block_checkpoint: Any = None  # the EVM at the start of the latest block (reads at latest - 1)
        self.snapshots: dict[int, Saved] = {}
        self._snapshot_ids = 0
        self._depth = 0  # journal checkpoints this object holds open (the EVM counts them too)

    # ---- transactions
    def decode(self, raw: bytes) -> Tx:
        if not raw or raw[0] < 0x80:
            raise RpcError(-32602, "only legacy transactions are supported by the revm chain")
        try:
            nonce, price, gas, to, value, data, v, r, s = rlp.decode(raw)
            v_int = int.from_bytes(v, "big")
            chain_id = (v_int - 35) // 2
            sender = _recover(rlp.encode([nonce, price, gas, to, value, data, chain_id, b"", b""]),
                              v_int - 35 - 2 * chain_id, r, s, raw)
        except Exception as exc:  # malformed RLP or signature
            raise RpcError(-32602, f"invalid transaction: {exc}") from None
        if chain_id != self.chain_id:
            raise RpcError(-32003, f"invalid chain id {chain_id}, expected {self.chain_id}")
        return Tx("0x" + keccak(raw).hex(), sender, "0x" + bytes(to).hex() if to else None, bytes(data),
                  int.from_bytes(value, "big"), int.from_bytes(gas, "big"), int.from_bytes(price, "big"),
                  int.from_bytes(nonce, "big"), raw)

    def send_raw(self, raw: bytes) -> str:
        tx = self.decode(raw)
        if tx.hash in self.receipts or any(p.hash == tx.hash for p in self.pool):
            raise RpcError(-32003, "transaction already imported")
        expected = self.nonces.get(tx.sender, 0) + sum(1 for p in self.pool if p.sender == tx.sender)
        if tx.nonce != expected:
            raise RpcError(-32003, f"nonce {'too low' if tx.nonce < expected else 'too high'}: "
                                   f"expected {expected}, got {tx.nonce}")
        if tx.gas > self.gas_limit:
            raise RpcError(-32003, f"intrinsic gas too high: gas {tx.gas} above the block gas limit")
        if tx.gas < 21_000:
            raise RpcError(-32003, "intrinsic gas too low")
        self.pool.append(tx)
        if self.automine:
            self.mine()
        return tx.hash

    def mine(self, timestamp: int | None = None) -> Block:
        """One block with everything in the pool, in the order it arrived."""
        parent = self.blocks[-1]
        if timestamp is None:
            timestamp = self.next_timestamp if self.next_timestamp is not None else parent.timestamp
        self.next_timestamp = None
        block = Block(parent.number + 1, timestamp, _block_hash(parent.number + 1, timestamp), parent.hash)
        self._open_block(block)
        txs, self.pool = self.pool, []
        log_index = 0
        for index, tx in enumerate(txs):
            outcome = self._execute(tx)
            block.gas_used += outcome.gas_used
            self.nonces[tx.sender] = tx.nonce + 1
            self.outcomes[tx.hash] = outcome
            self.receipts[tx.hash] = self._receipt(tx, outcome, block, index, log_index)
            log_index += len(outcome.logs)
            block.txs.append(tx)
        self.blocks.append(block)
        return block

    def _open_block(self, block: Block) -> None:
        """Point the EVM at ``block`` and keep a checkpoint of its start (the one of the block before is let go)."""
        if self.block_checkpoint is not None:
            self.evm.commit()
            self._depth -= 1
        self.block_checkpoint = self.evm.snapshot()
        self._depth += 1
        self._set_block_env(block.number, block.timestamp)

    def _set_block_env(self, number: int, timestamp: int) -> None:
        self.evm.set_block_env(self._pyrevm.BlockEnv(number=number, timestamp=timestamp, gas_limit=self.gas_limit,
                                                     basefee=0, coinbase=ZERO_ADDRESS, difficulty=0,
                                                     prevrandao=bytes(32)))

    def _execute(self, tx: Tx) -> Outcome:
        if tx.to is None:
            # message_call leaves nonces alone; a deployment's address comes from the EVM's nonce of the sender
            info = self.evm.basic(tx.sender)
            if info.nonce != tx.nonce:
                balance = self.evm.get_balance(tx.sender)
                self.evm.insert_account_info(tx.sender, self._pyrevm.AccountInfo(nonce=tx.nonce))
                if balance:
                    self.evm.set_balance(tx.sender, balance)
            outcome = self._run(lambda: self.evm.deploy(tx.sender, tx.data, value=tx.value, gas=tx.gas), tx.gas,
                                deploy=True)
            if outcome.success:
                expected = _create_address(tx.sender, tx.nonce)
                if outcome.address is None or outcome.address.lower() != expected.lower():
                    raise RuntimeError(f"revm deployed at {outcome.address}, expected {expected}")
                outcome.address = expected
        else:
            to = tx.to
            outcome = self._run(lambda: self.evm.message_call(tx.sender, to, calldata=tx.data, value=tx.value,
                                                              gas=tx.gas, gas_price=tx.gas_price), tx.gas)
        floor = _intrinsic_floor(tx.data)
        if outcome.gas_used < floor:
            outcome.gas_used = min(floor, tx.gas)
        return outcome

    def _run(self, fn: Callable[[], Any], gas: int, deploy: bool = False) -> Outcome:
        try:
            answer = fn()
        except RuntimeError as exc:
            text = str(exc)
            match = _RESULT.match(text)
            if match is None:  # a validation error (no execution): nothing ran, all gas counted
                return Outcome(False, gas, halt=text)
            if text.startswith("Revert"):
                return Outcome(False, int(match["gas"]), bytes.fromhex(match["output"] or ""))
            return Outcome(False, gas, halt=match["reason"] or "Halt")
        result = self.evm.result
        assert result is not None, "pyrevm ran a transaction and kept no result"
        logs = [(str(log.address), [str(t) for t in log.topics], bytes(log.data[1])) for log in result.logs]
        if deploy:
            return Outcome(True, int(result.gas_used), b"", logs, address=str(answer))
        return Outcome(True, int(result.gas_used), bytes(answer), logs)

    def _receipt(self, tx: Tx, outcome: Outcome, block: Block, index: int, log_index: int) -> dict[str, Any]:
        logs = [{"address": address.lower(), "topics": topics, "data": "0x" + data.hex(),
                 "blockHash": block.hash, "blockNumber": to_hex(block.number), "transactionHash": tx.hash,
                 "transactionIndex": to_hex(index), "logIndex": to_hex(log_index + i), "removed": False}
                for i, (address, topics, data) in enumerate(outcome.logs)]
        return {"transactionHash": tx.hash, "transactionIndex": to_hex(index), "blockHash": block.hash,
                "blockNumber": to_hex(block.number), "from": tx.sender, "to": tx.to,
                "cumulativeGasUsed": to_hex(block.gas_used), "gasUsed": to_hex(outcome.gas_used),
                "effectiveGasPrice": to_hex(tx.gas_price),
                "contractAddress": (outcome.address or _create_address(tx.sender, tx.nonce)).lower()
                if tx.to is None else None,
                "logs": logs, "logsBloom": EMPTY_BLOOM, "status": "0x1" if outcome.success else "0x0", "type": "0x0"}

    # ---- reads
    def code(self, address: str) -> bytes:
        """The code at ``address`` as deployed: pyrevm hands out revm's analysed copy, which ends in 33 zero bytes
        of padding that Anvil does not show."""
        code = bytes(self.evm.get_code(address) or b"")
        return code[:-ANALYSIS_PADDING] if code.endswith(bytes(ANALYSIS_PADDING)) else code

    def call(self, call: dict[str, Any], block: Any = "latest", *, estimate: bool = False) -> Outcome:
        """An ``eth_call`` (or one run of an estimate): executed at ``block`` and rolled back."""
        number = self._block_number(block)
        latest = self.blocks[-1].number
        if number == latest:
            return self._call_here(call)
        if number == latest - 1 and self.block_checkpoint is not None:
            return self._call_before_latest(call)
        raise RpcError(-32000, f"the revm chain keeps no state before block {latest - 1} (asked for {number})")

    def _call_here(self, call: dict[str, Any]) -> Outcome:
        sender = str(call.get("from") or ZERO_ADDRESS).lower()
        data = _call_data(call)
        value = _int(call.get("value"), 0)
        gas = _int(call.get("gas"), self.gas_limit)
        to = call.get("to")
        checkpoint = self.evm.snapshot()
        try:
            if to:
                return self._run(lambda: self.evm.message_call(sender, str(to), calldata=data,
                                                               value=value, gas=gas, gas_price=0), gas)
            return self._run(lambda: self.evm.deploy(sender, data, value=value, gas=gas), gas, deploy=True)
        finally:
            self.evm.revert(checkpoint)

    def _call_before_latest(self, call: dict[str, Any]) -> Outcome:
        """Roll back to the start of the latest block, read, and execute the block again (pyrevm keeps no history).
        """
        if any(s.checkpoint.journal_i > self.block_checkpoint.journal_i for s in self.snapshots.values()):
            raise RpcError(-32000, "the revm chain cannot read before the latest block while a snapshot was "
                                   "taken after it")
        latest = self.blocks[-1]
        self.evm.revert(self.block_checkpoint)
        self._depth -= 1
        self.block_checkpoint = None
        parent = self.blocks[-2]
        self._set_block_env(parent.number, parent.timestamp)
        try:
            return self._call_here(call)
        finally:
            self._open_block(latest)
            for tx in latest.txs:
                self._execute(tx)

    def estimate(self, call: dict[str, Any]) -> int:
        """The least gas limit (to within 1/64) with which the call succeeds, as Anvil searches for it."""
        cap = self.gas_limit
        first = self.call({**call, "gas": cap})
        if not first.success:
            raise self._failure(first)
        low = max(first.gas_used + self._refund(), _intrinsic_floor(_call_data(call)))
        if self.call({**call, "gas": low}).success:
            return low
        high = min(cap, low * 64 // 63 + 10_000)
        while not self.call({**call, "gas": high}).success:
            if high >= cap:
                raise self._failure(first)
            low, high = high, min(cap, high * 2)
        while high - low > max(high // 1000, 100):
            mid = (low + high) // 2
            if self.call({**call, "gas": mid}).success:
                high = mid
            else:
                low = mid
        return high

    def _refund(self) -> int:
        result = self.evm.result
        return int(result.gas_refunded) if result is not None and result.is_success else 0

    @staticmethod
    def _failure(outcome: Outcome) -> RpcError:
        """A failed call as Anvil answers it: code 3 and the revert data, or the halt reason."""
        if outcome.halt is None:
            data = "0x" + outcome.output.hex()
            return RpcError(3, "execution reverted" + (f": custom error {data}" if outcome.output else ""), data)
        return RpcError(-32603, f"EVM error {outcome.halt}")

    def _block_number(self, block: Any) -> int:
        latest = self.blocks[-1].number
        if block in (None, "latest", "pending", "safe", "finalized"):
            return latest
        if block == "earliest":
            return 0
        if isinstance(block, dict):
            block = block.get("blockNumber", "latest")
            return self._block_number(block)
        number = int(block, 16) if isinstance(block, str) else int(block)
        if number > latest:
            raise RpcError(-32000, f"block {number} not found (latest {latest})")
        return number

    def block_answer(self, block: Any, full: bool) -> dict[str, Any] | None:
        try:
            number = self._block_number(block)
        except RpcError:
            return None
        b = self.blocks[number]
        return {"number": to_hex(b.number), "hash": b.hash, "parentHash": b.parent, "timestamp": to_hex(b.timestamp),
                "gasLimit": to_hex(self.gas_limit), "gasUsed": to_hex(b.gas_used), "baseFeePerGas": "0x0",
                "miner": ZERO_ADDRESS, "difficulty": "0x0", "totalDifficulty": "0x0", "extraData": "0x",
                "nonce": "0x0000000000000000", "mixHash": "0x" + "00" * 32, "sha3Uncles": "0x" + "00" * 32,
                "logsBloom": EMPTY_BLOOM, "transactionsRoot": "0x" + "00" * 32, "stateRoot": "0x" + "00" * 32,
                "receiptsRoot": "0x" + "00" * 32, "size": "0x0", "uncles": [],
                "transactions": [self.tx_answer(t) for t in b.txs] if full else [t.hash for t in b.txs]}

    def tx_answer(self, tx: Tx) -> dict[str, Any]:
        receipt = self.receipts.get(tx.hash)
        return {"hash": tx.hash, "from": tx.sender, "to": tx.to,
                "input": "0x" + tx.data.hex(), "value": to_hex(tx.value), "gas": to_hex(tx.gas),
                "gasPrice": to_hex(tx.gas_price), "nonce": to_hex(tx.nonce), "type": "0x0",
                "chainId": to_hex(self.chain_id),
                "blockHash": receipt["blockHash"] if receipt else None,
                "blockNumber": receipt["blockNumber"] if receipt else None,
                "transactionIndex": receipt["transactionIndex"] if receipt else None}

    # ---- snapshots
    def snapshot(self) -> int:
        self._snapshot_ids += 1
        checkpoint = self.evm.snapshot()
        self._depth += 1
        self.snapshots[self._snapshot_ids] = Saved(checkpoint, len(self.blocks), dict(self.nonces), list(self.pool),
                                                   self.next_timestamp, self.block_checkpoint)
        return self._snapshot_ids

    def revert(self, snapshot_id: int) -> bool:
        """Back to snapshot ``snapshot_id``; it and every later snapshot are gone (as on Anvil and Ganache)."""
        saved = self.snapshots.get(snapshot_id)
        if saved is None:
            return False
        for later in [i for i in self.snapshots if i >= snapshot_id]:
            del self.snapshots[later]
        self.evm.revert(saved.checkpoint)
        for block in self.blocks[saved.blocks:]:
            for tx in block.txs:
                self.receipts.pop(tx.hash, None)
                self.outcomes.pop(tx.hash, None)
        del self.blocks[saved.blocks:]
        self.nonces, self.pool, self.next_timestamp = saved.nonces, saved.pool, saved.next_timestamp
        self.block_checkpoint = saved.block_checkpoint
        # Reverting closes one journal level whatever was opened after it; close the rest so the EVM's depth
        # stays the number of checkpoints still held (it bounds nothing here, but revert needs it above zero).
        self._depth = len(self.snapshots) + (1 if self.block_checkpoint is not None else 0)
        while self.evm.journal_depth > self._depth:
            self.evm.commit()
        latest = self.blocks[-1]
        self._set_block_env(latest.number, latest.timestamp)
        return True
