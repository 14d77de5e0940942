"""One frozen dataclass per planned verb: what a scenario action asks, in token units, with where it came from.

Every layer that must know a verb dispatches on :data:`PlannedVerb` with a ``match`` ending in ``assert_never``,
so adding a verb here makes the type checker name each place that has to handle it (the legs the engine sends,
every protocol's encoding, the mapping rules).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marginlab.scenario.model import Market
from marginlab.scenario.source import Loc, format_loc


@dataclass(frozen=True)
class Source:
    """Where a planned item was written: its location in the file and its line."""

    loc: Loc
    line: int

    def __str__(self) -> str:
        return format_loc(self.loc)


@dataclass(frozen=True, kw_only=True)
class Verb:
    """What every action has: who signs it, where it was written, and the revert it expects or allows."""

    account: str
    source: Source
    expect_revert: str | None = None
    #: the action may succeed or revert with exactly this error (a boundary case); any other revert is unexpected
    may_revert: str | None = None


@dataclass(frozen=True, kw_only=True)
class Deposit(Verb):
    """Pay tokens into ``owner``'s sub-account ``sub_id`` (the actor's own unless ``owner:`` was written)."""

    owner: str
    sub_id: int
    amounts: dict[str, int] = field(default_factory=dict)
    for_other: bool = False  # written with ``owner:``: the actor pays into someone else's sub-account


@dataclass(frozen=True, kw_only=True)
class Repay(Verb):
    """Repay ``owner``'s debt in sub-account ``sub_id``; an amount of uint256 max means all of it."""

    owner: str
    sub_id: int
    amounts: dict[str, int] = field(default_factory=dict)
    for_other: bool = False


@dataclass(frozen=True, kw_only=True)
class Withdraw(Verb):
    sub_id: int
    amounts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Borrow(Verb):
    sub_id: int
    amounts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Transfer(Verb):
    """Move balances between two of the actor's sub-accounts."""

    sub_id: int
    to_sub_id: int
    amounts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Donate(Verb):
    """Send tokens straight to the protocol with an ERC-20 transfer: no deposit, nothing credited."""

    amounts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SettleBadDebt(Verb):
    target: str
    target_sub_id: int


@dataclass(frozen=True, kw_only=True)
class Liquidate(Verb):
    """Repay up to ``amount`` of ``target``'s ``debt`` for its ``collateral``, credited to the actor's ``sub_id``."""

    sub_id: int
    target: str
    target_sub_id: int
    debt: str
    collateral: str
    amount: int


PlannedVerb = Deposit | Withdraw | Borrow | Repay | Transfer | Donate | SettleBadDebt | Liquidate
#: The scenario's word for each planned verb type (the key an action is written with).
VERB_WORDS: dict[type[Verb], str] = {Deposit: "deposit", Withdraw: "withdraw", Borrow: "borrow", Repay: "repay",
                                     Transfer: "transfer", Donate: "donate", SettleBadDebt: "settle_bad_debt",
                                     Liquidate: "liquidate"}


@dataclass(frozen=True)
class SetParams:
    """The governor sets ``symbol``'s risk parameters: ``market`` is the whole market after the change."""

    symbol: str
    market: Market
    changed: tuple[str, ...]
    source: Source


@dataclass(frozen=True)
class Pause:
    """The guardian pauses (``paused`` true) or the governor unpauses these flags (borrow, withdraw, liquidate)."""

    flags: tuple[str, ...]
    paused: bool
    source: Source


GovernanceAct = SetParams | Pause


def verb_word(action: PlannedVerb) -> str:
    return VERB_WORDS[type(action)]


def names_in(action: PlannedVerb) -> set[str]:
    """Every account whose sub-accounts the action can change (the actor, an owner paid into, a target)."""
    names = {action.account}
    if isinstance(action, (Deposit, Repay)):
        names.add(action.owner)
    elif isinstance(action, (SettleBadDebt, Liquidate)):
        names.add(action.target)
    return names
