"""The JSON-RPC face of the in-process chain (:mod:`marginlab.chain.revm`): a web3 provider that answers the methods
the simulator sends the way Anvil answers them, with the two methods :class:`~marginlab.chain.rpc.Transport` uses
(``make_request`` and ``batch``)."""
from __future__ import annotations

from typing import Any, Callable

from web3.providers.base import BaseProvider

from marginlab.chain.revm import CLIENT_VERSION, RevmChain, RpcError, plain_json, to_hex


class RevmProvider(BaseProvider):
    """A web3 provider over a :class:`RevmChain`: ``make_request`` and ``batch`` as
    :class:`~marginlab.chain.rpc.CountingProvider` has them, counting calls the same way."""

    def __init__(self, chain: RevmChain) -> None:
        super().__init__()
        self.chain = chain
        self.counts: dict[str, int] = {}
        self.round_trips = 0
        self.middlewares = ()  # type: ignore[assignment]
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            "eth_chainId": lambda p: to_hex(chain.chain_id),
            "net_version": lambda p: str(chain.chain_id),
            "web3_clientVersion": lambda p: CLIENT_VERSION,
            "eth_accounts": lambda p: [],
            "eth_gasPrice": lambda p: "0x0",
            "eth_blockNumber": lambda p: to_hex(chain.blocks[-1].number),
            "eth_getBlockByNumber": lambda p: chain.block_answer(p[0], bool(p[1]) if len(p) > 1 else False),
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getBalance": lambda p: to_hex(self._at(p, lambda: chain.evm.get_balance(str(p[0])))),
            "eth_getCode": lambda p: "0x" + self._at(p, lambda: chain.code(str(p[0]))).hex(),
            "eth_getTransactionCount": self._transaction_count,
            "eth_call": self._call,
            "eth_estimateGas": lambda p: to_hex(chain.estimate(p[0])),
            "eth_sendRawTransaction": lambda p: chain.send_raw(bytes.fromhex(str(p[0])[2:])),
            "eth_getTransactionReceipt": lambda p: chain.receipts.get(str(p[0]).lower()),
            "eth_getTransactionByHash": self._tx_by_hash,
            "evm_mine": self._mine,
            "evm_setAutomine": self._set_automine,
            "evm_setNextBlockTimestamp": self._set_next_timestamp,
            "evm_increaseTime": self._increase_time,
            "evm_snapshot": lambda p: to_hex(chain.snapshot()),
            "evm_revert": lambda p: chain.revert(int(p[0], 16) if isinstance(p[0], str) else int(p[0])),
            "anvil_setBlockTimestampInterval": lambda p: None,
            "anvil_setBalance": self._set_balance,
            "evm_setAccountBalance": self._set_balance,
            "debug_traceTransaction": self._trace,
        }

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True

    def make_request(self, method: Any, params: Any) -> Any:
        self.counts[str(method)] = self.counts.get(str(method), 0) + 1
        self.round_trips += 1
        return self._answer(str(method), list(params or []), 1)

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        for method, _ in calls:
            self.counts[method] = self.counts.get(method, 0) + 1
        self.round_trips += 1
        return [self._answer(method, list(params), i) for i, (method, params) in enumerate(calls)]

    def _answer(self, method: str, params: list[Any], request_id: int) -> dict[str, Any]:
        params = [plain_json(p) for p in params]
        handler = self._methods.get(method)
        if handler is None:
            return {"jsonrpc": "2.0", "id": request_id,
                    "error": {"code": -32601, "message": f"the revm chain does not support {method}"}}
        try:
            return {"jsonrpc": "2.0", "id": request_id, "result": handler(params)}
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": request_id, "error": exc.answer()}

    # ---- handlers
    def _at(self, params: list[Any], read: Callable[[], Any]) -> Any:
        block = params[1] if len(params) > 1 else "latest"
        if self.chain._block_number(block) != self.chain.blocks[-1].number:
            raise RpcError(-32000, "the revm chain answers balances and code at the latest block only")
        return read()

    def _transaction_count(self, params: list[Any]) -> str:
        address = str(params[0]).lower()
        count = self.chain.nonces.get(address, 0)
        if len(params) > 1 and params[1] == "pending":
            count += sum(1 for p in self.chain.pool if p.sender == address)
        return to_hex(count)

    def _call(self, params: list[Any]) -> str:
        outcome = self.chain.call(params[0], params[1] if len(params) > 1 else "latest")
        if not outcome.success:
            raise self.chain._failure(outcome)
        return "0x" + outcome.output.hex()

    def _block_by_hash(self, params: list[Any]) -> dict[str, Any] | None:
        for b in self.chain.blocks:
            if b.hash == str(params[0]).lower():
                return self.chain.block_answer(b.number, bool(params[1]) if len(params) > 1 else False)
        return None

    def _tx_by_hash(self, params: list[Any]) -> dict[str, Any] | None:
        wanted = str(params[0]).lower()
        for tx in [*self.chain.pool, *(t for b in self.chain.blocks for t in b.txs)]:
            if tx.hash == wanted:
                return self.chain.tx_answer(tx)
        return None

    def _mine(self, params: list[Any]) -> str:
        timestamp = None
        if params:
            first = params[0]
            timestamp = first.get("timestamp") if isinstance(first, dict) else first
            if isinstance(timestamp, str):
                timestamp = int(timestamp, 16)
        self.chain.mine(timestamp)
        return "0x0"

    def _set_automine(self, params: list[Any]) -> None:
        self.chain.automine = bool(params[0])
        if self.chain.automine and self.chain.pool:
            self.chain.mine()

    def _set_next_timestamp(self, params: list[Any]) -> None:
        value = params[0]
        target = int(value, 16) if isinstance(value, str) else int(value)
        if target < self.chain.blocks[-1].timestamp:
            raise RpcError(-32000, f"timestamp {target} is before the latest block's {self.chain.blocks[-1].timestamp}")
        self.chain.next_timestamp = target

    def _increase_time(self, params: list[Any]) -> str:
        value = params[0]
        seconds = int(value, 16) if isinstance(value, str) else int(value)
        base = self.chain.next_timestamp if self.chain.next_timestamp is not None else self.chain.blocks[-1].timestamp
        self.chain.next_timestamp = base + seconds
        return to_hex(seconds)

    def _set_balance(self, params: list[Any]) -> None:
        value = params[1]
        self.chain.evm.set_balance(str(params[0]), int(value, 16) if isinstance(value, str)
                                   else int(value))

    def _trace(self, params: list[Any]) -> dict[str, Any]:
        """What ``debug_traceTransaction`` answers without opcode steps: failed, gas, the return or revert data."""
        outcome = self.chain.outcomes.get(str(params[0]).lower())
        if outcome is None:
            raise RpcError(-32000, f"transaction {params[0]} not found")
        return {"failed": not outcome.success, "gas": outcome.gas_used, "returnValue": "0x" + outcome.output.hex(),
                "structLogs": []}
