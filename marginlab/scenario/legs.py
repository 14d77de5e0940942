"""Each position's own legs, as the scenario wrote them, and the step actions that move them.

The vault keeps one signed balance per sub-account and asset, so in cross margin the legs of every position are
netted together. Attribution (:mod:`marginlab.report.attribution`) needs them apart; the plan carries them here
and ``replay --attribution`` copies them into the timeline. Pure: no chain.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Mapping, Sequence

from marginlab.scenario.fields import ALL
from marginlab.scenario.model import Action, Scenario
from marginlab.scenario.source import format_loc
from marginlab.timeline import LegMove, PositionBook, PositionLegs

if TYPE_CHECKING:  # plan imports this module
    from marginlab.scenario.plan import PlannedAccount


def opening_legs(accounts: Sequence[PlannedAccount]) -> list[PositionLegs]:
    """Every position of every planned account: deposits positive, borrows negative, in token units."""
    out = []
    for acct in accounts:
        for i, pos in enumerate(acct.positions):
            legs = dict(pos.deposit)
            legs.update({s: -v for s, v in pos.borrow.items()})
            out.append(PositionLegs(acct.name, i, acct.sub_id(i), legs))
    return out


def leg_moves(scenario: Scenario, owners: set[str], units: Mapping[str, int]) -> list[LegMove]:
    """Moves of the steps' deposit, withdraw, borrow, repay and transfer actions on named accounts' positions
    (a liquidity provider's have none). ``units``: each asset's decimals."""
    moves: list[LegMove] = []
    for i, step in enumerate(scenario.steps):
        located: list[tuple[tuple[str | int, ...], Action]] = []
        if step.action is not None:
            located.append((("steps", i, "action"), step.action))
        located += [(("steps", i, "actions", j), a) for j, a in enumerate(step.actions or [])]
        for loc, act in located:
            moves += _moves(i, format_loc(loc), act, owners, units)
    return moves


def _moves(step: int, source: str, act: Action, owners: set[str], units: Mapping[str, int]) -> list[LegMove]:
    def amount(sym: str, value: Decimal | str) -> tuple[int, bool]:
        if value == ALL:
            return 0, True
        return int(Decimal(value).scaleb(units[sym])), False

    owner = act.owner if act.owner is not None else act.account
    if owner not in owners:
        return []
    out = []
    signs = {"deposit": 1, "repay": 1, "withdraw": -1, "borrow": -1}
    for verb, sign in signs.items():
        for sym, value in (getattr(act, verb) or {}).items():
            n, closes = amount(sym, value)
            out.append(LegMove(step, source, owner, act.position, sym, sign * n, closes))
    if act.transfer is not None:
        for sym, value in act.transfer.amounts.items():
            n, _ = amount(sym, value)
            out.append(LegMove(step, source, owner, act.position, sym, -n))
            out.append(LegMove(step, source, owner, act.transfer.to_position, sym, n))
    return out


def position_book(scenario: Scenario, accounts: Sequence[PlannedAccount], units: Mapping[str, int]) -> PositionBook:
    return PositionBook(opening_legs(accounts), leg_moves(scenario, {a.name for a in accounts}, units))
