"""Exceptions the simulator raises on purpose; the CLI turns each into one message and an exit code."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

#: Longest user text quoted into a message, in characters, before it is cut with an ellipsis.
QUOTE_LIMIT = 40
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _breaks(ch: str) -> bool:
    """Control, format, line- and paragraph-separator characters: anything that can break or hide in a line."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def escape(text: str) -> str:
    """``text`` with every character that could break a line or hide in it written as an escape (``\\n``,
    ``\\x1b``, ``\\u2028``); printable text, non-ASCII letters included, is kept as written."""
    return "".join(_escape_char(ch) if _breaks(ch) else ch for ch in text)


def cut(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, so one long value cannot bury the message."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """User text quoted into a message: in single quotes, escaped, and cut (``'a\\n-'``, ``'aaaa…'``)."""
    text = cut(str(value), limit).replace("\\", "\\\\").replace("'", "\\'")
    return "'" + escape(text) + "'"


def one_line(text: str) -> str:
    """A message made safe to print as one line: every line break or control character escaped. The last
    guard before a message reaches a terminal, a log or a CI annotation."""
    return escape(text)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*\Z")


def show_name(value: Any) -> str:
    """A name from the file (an asset, an account) in a message: as written when it is a plain word, quoted
    (:func:`quote`) when it holds anything else."""
    text = str(value)
    return text if _PLAIN_KEY.match(text) and len(text) <= QUOTE_LIMIT else quote(text)


def field_part(key: str) -> str:
    """A mapping key inside a field path: a plain word stays as it is (``.WETH``); anything else — a dot, a
    colon, a space, brackets, quotes, a line break — is written ``["..."]``, escaped and cut, so it can be
    mistaken neither for the path's own punctuation nor for the message's ``: ``."""
    if _PLAIN_KEY.match(key) and len(key) <= QUOTE_LIMIT:
        return f".{key}"
    return '["' + escape(cut(key).replace("\\", "\\\\").replace('"', '\\"')) + '"]'


def error_name(reason: str) -> str:
    """The error's name in a decoded revert reason: ``StalePrice(5, 60)`` → ``StalePrice``."""
    return reason.split("(", 1)[0]


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in a scenario file, printed as ``file:line: field.path: reason``."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return one_line(f"{self.file}:{self.line}: {self.field}: {self.reason}")


class MarginlabError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 1


class ScenarioError(MarginlabError):
    """The scenario file is malformed. Carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(i) for i in self.issues))


class UsageError(MarginlabError):
    """The command line asks for something that cannot be done (exit 2, like bad input)."""

    exit_code = 2


class ChainError(MarginlabError):
    """The chain could not be started, reached or used (exit 3)."""

    exit_code = 3


class ChainDied(ChainError):
    """The node stopped answering in the middle of a replay."""

    def __init__(self, message: str, step: int | None = None, block: int | None = None) -> None:
        self.step = step
        self.block = block
        where = []
        if step is not None:
            where.append(f"step {step}")
        if block is not None:
            where.append(f"last block {block}")
        suffix = f" ({', '.join(where)})" if where else ""
        super().__init__(f"chain died{suffix}: {message}")


class ReplayRevert(MarginlabError):
    """A transaction the scenario did not expect to fail reverted (exit 3: the replay cannot go on)."""

    exit_code = 3

    def __init__(self, step: int | str, account: str, call: str, reason: str) -> None:
        self.step = step
        self.account = account
        self.call = call
        self.reason = reason
        super().__init__(f"step {step}: {account}: {call} reverted: {reason}")
