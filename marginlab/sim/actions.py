"""Scenario actions on chain: each planned verb becomes one leg per asset, the protocol encodes each leg as a
transaction, and the engine funds it (minting what the actor's wallet lacks), sends it and records the outcome.

A revert is recorded when the scenario expects it (``expect_revert``) or allows exactly that error
(``may_revert``); any other revert ends the replay (:class:`~marginlab.errors.ReplayRevert`).
"""
from __future__ import annotations

from typing import Any, Callable

from typing_extensions import assert_never

from marginlab.chain import PendingTx, TxReverted
from marginlab.errors import ReplayRevert
from marginlab.numbers import UINT256_MAX
from marginlab.protocols.base import Call, Leg, Protocol
from marginlab.protocols.world import World
from marginlab.scenario.actions import (
    Borrow,
    Deposit,
    Donate,
    Liquidate,
    PlannedVerb,
    Repay,
    SettleBadDebt,
    Transfer,
    Withdraw,
    verb_word,
)
from marginlab.timeline import ActionRecord

# A repay of "all" is funded with the debt now plus this share of it and one unit: interest accrues in the block
# the repay is mined in.
ALL_DEBT_MARGIN_DIV = 1000


def legs(action: PlannedVerb, world: World, custody_name: str) -> list[Leg]:
    """One leg per asset of ``action`` (one for settle_bad_debt), labelled as the timeline shows the call."""
    amt = world.amount
    match action:
        case Deposit() | Repay():
            whose = f"{action.owner}/{action.sub_id}" if action.for_other else f"sub {action.sub_id}"
            word = verb_word(action)
            return [Leg(action, f"{word}({amt(v, s)}, {whose})", s, v) for s, v in action.amounts.items()]
        case Withdraw() | Borrow():
            word = verb_word(action)
            return [Leg(action, f"{word}({amt(v, s)}, sub {action.sub_id})", s, v) for s, v in action.amounts.items()]
        case Donate():
            return [Leg(action, f"donate({amt(v, s)} to the {custody_name})", s, v) for s, v in action.amounts.items()]
        case Transfer():
            return [Leg(action, f"transfer({amt(v, s)}, sub {action.sub_id} → sub {action.to_sub_id})", s, v)
                    for s, v in action.amounts.items()]
        case SettleBadDebt():
            return [Leg(action, f"settleBadDebt({action.target}/{action.target_sub_id})")]
        case Liquidate():
            return [Leg(action, f"liquidate({action.target}/{action.target_sub_id}, repay "
                                f"{amt(action.amount, action.debt)} for {action.collateral})",
                        action.debt, action.amount)]
        case _:
            assert_never(action)


def skips(leg: Leg) -> bool:
    """Positions that share a sub-account (every position in cross margin) have nothing to move between them; a
    scenario that expects the vault's SameSubAccount revert still sends it."""
    action = leg.action
    return (isinstance(action, Transfer) and action.to_sub_id == action.sub_id and action.expect_revert is None
            and action.may_revert is None)


class ActionSender:
    """Sends a step's actions and fills in their records as their outcomes become known."""

    def __init__(self, world: World, protocol: Protocol, custody_name: str,
                 on_receipt: Callable[[int, dict[str, Any]], None]) -> None:
        self.world = world
        self.chain = world.chain
        self.protocol = protocol
        self.custody_name = custody_name
        self.on_receipt = on_receipt  # records the liquidations and bad debt a successful call caused

    def send(self, step: int, action: PlannedVerb, records: list[ActionRecord]) -> None:
        """Send the action's legs in order (one transaction per asset)."""
        calls: list[tuple[Leg, Call]] = []
        for leg in legs(action, self.world, self.custody_name):
            if skips(leg):
                records.append(ActionRecord(step, action.account, leg.label + " skipped: same sub-account", True,
                                            str(action.source), line=action.source.line))
                continue
            calls.extend((leg, call) for call in self.protocol.encode(leg))
        for _leg, call in calls:
            self._fund(step, action, call)
            self._submit(step, action, call, records)

    def _fund(self, step: int, action: PlannedVerb, call: Call) -> None:
        """Mint what the call pays in; for ``all`` (uint256 max) that is the sub-account's debt right now, plus a
        margin for the interest of the block the call is mined in."""
        pay = call.pay
        if pay is None:
            return
        amount = pay.amount
        if amount == UINT256_MAX:
            assert pay.debt_of is not None
            try:
                debt = self.protocol.debt(pay.debt_of[0], pay.debt_of[1], pay.symbol)
            except TxReverted as exc:
                raise ReplayRevert(step, action.account, f"{call.label} (reading the debt to repay)",
                                   exc.reason) from None
            amount = debt + debt // ALL_DEBT_MARGIN_DIV + 1
        self.world.fund(self.world.signer(call.signer or action.account), pay.symbol, amount, pay.spender)

    def _submit(self, step: int, action: PlannedVerb, call: Call, records: list[ActionRecord]) -> None:
        """Send one call. Its record takes its place in the step's list now and is filled in when the outcome is
        known (at once in auto mining, when the step's block is mined in per-step mining)."""
        slot = len(records)
        source = str(action.source)
        records.append(ActionRecord(step, action.account, call.label, True, source, None, action.expect_revert,
                                    action.may_revert, line=action.source.line))

        def done(pending: PendingTx) -> None:
            if pending.error is not None:
                reason = pending.error.reason
                allowed = action.may_revert is not None and pending.error.error_name == action.may_revert
                if action.expect_revert is None and not allowed:
                    raise ReplayRevert(step, action.account, call.label, reason)
                records[slot] = ActionRecord(step, action.account, call.label, False, source, reason,
                                             action.expect_revert, action.may_revert, pending.error.error_name,
                                             action.source.line)
                return
            assert pending.receipt is not None
            self.world.log_gas(verb_word(action), pending.receipt)
            self.on_receipt(step, pending.receipt)

        signer = self.world.signer(call.signer or action.account)
        self.chain.submit(signer, call.contract, call.fn, *call.args, on_done=done)
