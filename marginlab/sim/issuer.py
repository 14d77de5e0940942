"""A pausable-blocklist token's issuer acting in a replay (``token_admin`` steps), USDC-style.

The issuer acts through the batcher, which deployed the token and so holds its admin powers. ``paused`` is a
state, not a toggle: pausing a paused token sends nothing. Blocking an address already blocked is sent again
(the token allows it and emits the event).
"""
from __future__ import annotations

from typing import Any

from marginlab.protocols.world import DEPLOYER, KEEPER, World
from marginlab.scenario.model import TokenAdmin
from marginlab.scenario.plan import Plan


class Issuer:
    def __init__(self, world: World, plan: Plan, custody: str, keeper: str) -> None:
        self.world = world
        self.plan = plan
        self.custody = custody  # the protocol's token-holding contract, which a token_admin step names `vault`
        self.keeper = keeper

    def act(self, step: int, sym: str, admin: TokenAdmin) -> None:
        world = self.world
        token = world.tokens[sym]
        paused, blocked = world.token_status.get(sym, (False, frozenset()))
        calls: list[tuple[str, str, tuple[Any, ...]]] = []
        if admin.paused is not None and admin.paused != paused:
            calls.append(("pause()" if admin.paused else "unpause()", "pause" if admin.paused else "unpause", ()))
            paused = admin.paused
        for name, block in [(n, True) for n in admin.block] + [(n, False) for n in admin.unblock]:
            calls.append((f"setBlocked({name}, {str(block).lower()})", "setBlocked", (self._target(name), block)))
            blocked = blocked | {name} if block else blocked - {name}
        for label, fn, args in calls:
            data = getattr(token.functions, fn)(*args)._encode_transaction_data()
            world.transact(step, DEPLOYER, f"{sym}.{label}", world.deployer, world.batcher, "execute", token.address,
                           data)
        world.token_status[sym] = (paused, blocked)

    def _target(self, name: str) -> str:
        """The address a ``token_admin`` block names: an account or liquidity provider, else the protocol's
        custody contract (``vault``) or the keeper's bot (validated before the replay starts)."""
        if any(a.name == name for a in self.plan.accounts) or any(lp.name == name for lp in self.plan.liquidity):
            return self.world.address(name)
        if name == "vault":
            return self.custody
        assert name == KEEPER
        return self.keeper

    def status_text(self) -> dict[str, str] | None:
        """Each acted-on token's state for the step record ("paused; blocked: vault"); None before any act, so
        the timelines of scenarios without ``token_admin`` are unchanged."""
        if not self.world.token_status:
            return None
        out = {}
        for sym, (paused, blocked) in sorted(self.world.token_status.items()):
            parts = ["paused" if paused else "live"] + ([f"blocked: {', '.join(sorted(blocked))}"] if blocked else [])
            out[sym] = "; ".join(parts)
        return out
