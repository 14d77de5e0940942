"""How a strategy's calls reach the protocol: the close routes (where the tokens to repay a position come from)
and the sender that pays with the account's own wallet. See :mod:`marginlab.sim.strategies`."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Callable

from marginlab.chain import PendingTx
from marginlab.numbers import EXACT, UINT256_MAX, from_units
from marginlab.protocols.base import Call
from marginlab.scenario.actions import PlannedVerb, Repay, Withdraw, verb_word
from marginlab.scenario.strategy_plan import PlannedStrategy
from marginlab.sim.actions import ActionSender
from marginlab.timeline import ActionRecord, StrategyAct


@dataclass(frozen=True)
class CloseRequest:
    """Close one position: its legs now (token units, + deposited, − borrowed), the sub-account's balances
    (``None``: not read) and whether the sub-account holds this position alone."""

    strategy: PlannedStrategy
    legs: dict[str, int]
    balances: dict[str, int] | None
    alone: bool


#: How a close raises the tokens to repay: a function from the request to the verbs to send (and notes for
#: what it leaves). ``wallet`` repays from the account's wallet; ``route: pool`` (sell the collateral for the
#: debt through the scenario's pools) needs reads between its calls, so it is not one of these:
#: :mod:`marginlab.sim.pool_route` runs it.
CloseRoute = Callable[[CloseRequest], tuple[list[PlannedVerb], list[str]]]


def wallet_route(req: CloseRequest) -> tuple[list[PlannedVerb], list[str]]:
    """Repay every borrowed leg in full from the wallet, then withdraw the position's deposits: all of them when
    the sub-account is the position's alone, otherwise the leg's amount as far as the sub-account still holds it
    as a deposit (in cross margin a leg netted against another position's debt stays, and a note says so)."""
    s = req.strategy
    common = dict(account=s.account, source=s.source)
    verbs: list[PlannedVerb] = []
    notes: list[str] = []
    debts = {sym: UINT256_MAX for sym, v in sorted(req.legs.items()) if v < 0}
    if debts:
        verbs.append(Repay(owner=s.account, sub_id=s.sub_id, amounts=debts, **common))  # type: ignore[arg-type]
    out: dict[str, int] = {}
    for sym, v in sorted(req.legs.items()):
        if v <= 0:
            continue
        if req.alone:
            out[sym] = UINT256_MAX
            continue
        held = (req.balances or {}).get(sym, 0)
        if held <= 0:
            notes.append(f"{sym} deposit stays in sub {s.sub_id}: netted against other positions' debt")
        else:
            out[sym] = min(v, held)
    if out:
        verbs.append(Withdraw(sub_id=s.sub_id, amounts=out, **common))  # type: ignore[arg-type]
    return verbs, notes


ROUTES: dict[str, CloseRoute] = {"wallet": wallet_route}


class WalletSender(ActionSender):
    """An :class:`ActionSender` for strategies: the account's own tokens only (approve, never mint), and a revert
    is a failed action in the record, never the end of the replay."""

    label_prefix = ""
    on_ok: Callable[[PlannedVerb], None] | None = None
    strategy = ""
    acts: list[StrategyAct] = []
    prices: dict[str, Decimal] = {}

    def _fund(self, step: int, action: PlannedVerb, call: Call) -> None:
        pay = call.pay
        if pay is not None and pay.spender is not None:
            self.world.approve(self.world.signer(call.signer or action.account), pay.symbol, pay.spender)

    def _submit(self, step: int, action: PlannedVerb, call: Call, records: list[ActionRecord]) -> None:
        slot = len(records)
        label = f"{self.label_prefix}{call.label}"
        source = str(action.source)
        records.append(ActionRecord(step, action.account, label, True, source, line=action.source.line))
        on_ok = self.on_ok
        act = self._act(step, action, call)
        self.acts.append(act)

        def done(pending: PendingTx) -> None:
            if pending.error is not None:
                act.ok = False
                act.error_name = pending.error.error_name or pending.error.reason
                records[slot] = ActionRecord(step, action.account, label, False, source, pending.error.reason,
                                             error_name=pending.error.error_name, line=action.source.line)
                return
            assert pending.receipt is not None
            self.on_receipt(step, pending.receipt)
            if on_ok is not None:
                on_ok(action)

        signer = self.world.signer(call.signer or action.account)
        self.chain.submit(signer, call.contract, call.fn, *call.args, on_done=done)

    def _act(self, step: int, action: PlannedVerb, call: Call) -> StrategyAct:
        pay = call.pay
        amounts = {pay.symbol: pay.amount} if pay is not None else {}
        if pay is None and isinstance(action, Withdraw):  # one asset per call: what it asks to take out
            amounts = dict(action.amounts)
        value = 0
        for sym, amount in amounts.items():
            if amount != UINT256_MAX:
                with localcontext(EXACT):
                    usd = from_units(amount, self.world.markets[sym].decimals) * self.prices[sym]
                    value += int(usd.scaleb(18))
        return StrategyAct(step, action.account, self.strategy, verb_word(action), True, amounts, value)
