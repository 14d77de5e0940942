"""Choosing a protocol by name (``--protocol marginlab``, ``protocol:`` in a scenario) or from a user's own file
(``--protocol path/to/adapter.py:ClassName``)."""
from __future__ import annotations

from typing import Callable

from marginlab.chain import ReadMode
from marginlab.protocols.base import Protocol
from marginlab.protocols.world import World
from marginlab.scenario.plan import Plan
from marginlab.timeline import SubAccountRef

ProtocolFactory = Callable[[World, Plan, list[SubAccountRef], ReadMode], Protocol]
DEFAULT = "marginlab"


def protocol_class(name: str) -> type[Protocol]:
    """The class behind a protocol name."""
    if name == "marginlab":
        from marginlab.protocols.marginlab.protocol import MarginlabVault
        return MarginlabVault
    raise KeyError(name)


def default_protocol() -> ProtocolFactory:
    return factory(protocol_class(DEFAULT))


def factory(cls: type[Protocol]) -> ProtocolFactory:
    def make(world: World, plan: Plan, sub_accounts: list[SubAccountRef], reads: ReadMode) -> Protocol:
        return cls(world, plan, sub_accounts, reads)  # type: ignore[call-arg]
    return make
