"""Exceptions the simulator raises on purpose; the CLI turns each into one message and an exit code."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in a scenario file, printed as ``file:line: field.path: reason``."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


class MarginlabError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 1


class ScenarioError(MarginlabError):
    """The scenario file is malformed. Carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = sorted(set(issues))
        super().__init__("\n".join(str(i) for i in self.issues))


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
