"""The protocol's governor and guardian acting in a replay (``governance`` steps): each act the protocol encodes is
sent by the role's signer before the step's actions and recorded like an action; a revert ends the replay."""
from __future__ import annotations

from typing_extensions import assert_never

from marginlab.numbers import plain
from marginlab.protocols.base import Protocol
from marginlab.protocols.world import World
from marginlab.scenario.actions import GovernanceAct, Pause, SetParams
from marginlab.scenario.guards import OracleGuards
from marginlab.timeline import ActionRecord


def describe_guards(g: OracleGuards | None) -> str:
    if g is None:
        return "none"
    shown = [f"{k} {plain(v) if not isinstance(v, int) else v}" for k, v in
             (("min_price", g.min_price), ("max_price", g.max_price), ("max_move", g.max_move))
             if v is not None]
    return "{" + ", ".join(shown + ([f"window {g.window}"] if g.max_move is not None else [])) + "}"


def describe(act: GovernanceAct) -> tuple[str, str]:
    """(role, label) of a governance act, as the timeline shows it."""
    match act:
        case SetParams():
            m = act.market
            shown = {"asset_weight": lambda: f"asset_weight {plain(m.asset_weight.init)}/{plain(m.asset_weight.maint)}",
                     "liab_weight": lambda: f"liab_weight {plain(m.liab_weight.init)}/{plain(m.liab_weight.maint)}",
                     "oracle_guards": lambda: f"oracle_guards {describe_guards(m.oracle_guards)}"}
            parts = [shown[k]() if k in shown else f"{k} {plain(getattr(m, k))}" for k in act.changed]
            return "governor", f"set_params({act.symbol}: {', '.join(parts)})"
        case Pause():
            return ("guardian" if act.paused else "governor"), \
                f"{'pause' if act.paused else 'unpause'}({', '.join(act.flags)})"
        case _:
            assert_never(act)


def govern(world: World, protocol: Protocol, step: int, acts: tuple[GovernanceAct, ...],
           records: list[ActionRecord]) -> None:
    for act in acts:
        role, label = describe(act)
        for call in protocol.govern(act):
            signer = world.signer(call.signer or role)
            world.transact(step, role, label, signer, call.contract, call.fn, *call.args, gas_kind="governance")
        records.append(ActionRecord(step, role, label, True, str(act.source), line=act.source.line))
