"""Why a call or transaction failed, in words: revert payloads found wherever web3 or the node put them, decoded to
``ErrorName(arg, ...)`` with every custom error of the build.

A reverted step must read the same whichever way the reason reached us — an ``eth_call`` error, an estimate, a
replayed call, a trace of the mined transaction (:func:`trace_return_value`, :func:`trace_final_revert`) — so
every path ends in one :class:`RevertDecoder`.
"""
from __future__ import annotations

from typing import Any, Mapping

from eth_abi import decode as abi_decode
from eth_utils import keccak

from marginlab.errors import ChainError, quote

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
PANIC_CODES = {0x01: "assert failed", 0x11: "arithmetic overflow or underflow", 0x12: "division by zero",
               0x21: "invalid enum value", 0x31: "pop on empty array", 0x32: "array index out of bounds",
               0x41: "out of memory", 0x51: "call to a zero function"}


class TxReverted(Exception):
    """A call or transaction reverted; ``reason`` is the decoded custom error, e.g. ``StalePrice(5, 60)``."""

    def __init__(self, reason: str, gas_estimation: bool = False) -> None:
        self.reason = reason
        self.gas_estimation = gas_estimation
        super().__init__(reason)

    @property
    def error_name(self) -> str:
        return self.reason.split("(", 1)[0]


class InvalidOpcode(ChainError):
    """The node's EVM does not know an opcode the code uses: it predates the EVM the code was compiled for."""


class RevertDecoder:
    """Turns revert data into ``ErrorName(arg, ...)`` using every custom error in the build's ABIs."""

    def __init__(self, abis: list[list[dict[str, Any]]]) -> None:
        self.errors: dict[bytes, tuple[str, list[str]]] = {}
        self.labels: dict[str, str] = {}  # lower-case address → name shown instead (token symbol, actor)
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [abi_type(i) for i in item.get("inputs", [])]
                signature = f"{item['name']}({','.join(types)})"
                self.errors.setdefault(keccak(text=signature)[:4], (item["name"], types))

    def decode(self, data: bytes) -> str:
        if not data:
            return "reverted without a reason"
        selector, payload = data[:4], data[4:]
        try:
            if selector == ERROR_STRING_SELECTOR:
                return f"Error({quote(abi_decode(['string'], payload)[0], 200)})"
            if selector == PANIC_SELECTOR:
                code = abi_decode(["uint256"], payload)[0]
                return f"Panic(0x{code:02x}: {PANIC_CODES.get(code, 'unknown panic')})"
            if selector in self.errors:
                name, types = self.errors[selector]
                values = abi_decode(types, payload) if types else ()
                return f"{name}({', '.join(self._show(v) for v in values)})"
        except Exception:  # malformed payload: show the raw bytes below
            pass
        return f"unknown error 0x{data.hex()}"

    def _show(self, value: Any) -> str:
        if isinstance(value, str) and value.lower() in self.labels:
            return self.labels[value.lower()]
        return _show_arg(value)


def abi_type(item: Mapping[str, Any]) -> str:
    """The canonical type of an ABI input or output (tuples spelt out), as selectors and ``eth_abi`` need it."""
    kind = str(item["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in item["components"]) + ")" + kind[len("tuple"):]
    return kind


def _show_arg(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show_arg(v) for v in value) + "]"
    return str(value)


def revert_data(exc: object) -> bytes | None:
    """Dig the revert payload out of whatever web3 or the node raised."""
    candidates: list[Any] = [getattr(exc, "data", None), *getattr(exc, "args", ())]
    while candidates:
        c = candidates.pop(0)
        if isinstance(c, dict):
            candidates.extend([c.get("data"), c.get("result"), c.get("error")])
            candidates.extend(v for v in c.values() if isinstance(v, dict))
        elif isinstance(c, (bytes, bytearray)):
            return bytes(c)
        elif isinstance(c, str):
            text = c.strip()
            if text.startswith("0x") and len(text) >= 10 and all(ch in "0123456789abcdefABCDEF" for ch in text[2:]):
                return bytes.fromhex(text[2:])
            if text == "0x":
                return b""
    return None


def trace_return_value(trace: dict[str, Any]) -> bytes | None:
    """Revert data a ``debug_traceTransaction`` answer reports as its ``returnValue`` (a 0x-hex string), if any."""
    value = trace.get("returnValue")
    if isinstance(value, str) and value.startswith("0x"):
        return bytes.fromhex(value[2:])
    return None


def trace_final_revert(trace: dict[str, Any]) -> bytes | None:
    """Revert data read from an opcode trace: the memory its final REVERT returns (its stack holds offset and
    length; memory is a list of 32-byte words). ``None`` when the trace does not end in a REVERT."""
    logs = trace.get("structLogs") or []
    if not logs or logs[-1].get("op") != "REVERT":
        return None
    stack, memory = logs[-1].get("stack") or [], logs[-1].get("memory") or []
    if len(stack) < 2:
        return None
    offset, length = int(stack[-1], 16), int(stack[-2], 16)
    return bytes.fromhex("".join(w[2:] if w.startswith("0x") else w for w in memory))[offset:offset + length]
