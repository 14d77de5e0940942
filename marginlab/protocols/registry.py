"""Choosing a protocol by name (``--protocol marginlab``, ``protocol:`` in a scenario) or from a user's own file
(``--protocol path/to/adapter.py:ClassName``)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Callable

from marginlab.chain import ReadMode
from marginlab.errors import UsageError, quote
from marginlab.protocols.base import Protocol
from marginlab.protocols.world import World
from marginlab.scenario.fields import PROTOCOL_NAMES
from marginlab.scenario.plan import Plan
from marginlab.timeline import SubAccountRef

ProtocolFactory = Callable[[World, Plan, list[SubAccountRef], ReadMode], Protocol]
DEFAULT = "marginlab"


def protocol_class(name: str) -> type[Protocol]:
    """The class behind a built-in protocol name."""
    if name == "marginlab":
        from marginlab.protocols.marginlab.protocol import MarginlabVault
        return MarginlabVault
    if name == "morpho-blue":
        from marginlab.protocols.morpho_blue.protocol import MorphoBlue
        return MorphoBlue
    if name == "aave-v3":
        from marginlab.protocols.aave_v3.protocol import AaveV3
        return AaveV3
    raise KeyError(name)


def load_protocol(spec: str, scenario_file: str | None = None) -> type[Protocol]:
    """A built-in protocol by name, or ``FILE.py:CLASS``: a :class:`Protocol` subclass in a user's own file (a
    relative path is taken from the current folder)."""
    if ":" not in spec or spec in PROTOCOL_NAMES:
        try:
            return protocol_class(spec)
        except KeyError:
            raise UsageError(f"unknown protocol {quote(spec)}: choose one of {', '.join(PROTOCOL_NAMES)}, or "
                             f"FILE.py:CLASS for your own adapter") from None
    file, _, name = spec.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise UsageError(f"--protocol {quote(spec)}: no such file {quote(file)}")
    module_name = f"marginlab_user_adapter_{abs(hash(str(path.resolve())))}"
    module = sys.modules.get(module_name)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise UsageError(f"--protocol {quote(spec)}: {quote(file)} is not a Python file")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:  # the user's file: any error is theirs to see, on one line
            del sys.modules[module_name]
            raise UsageError(f"--protocol {quote(spec)}: importing {file} failed: {type(exc).__name__}: "
                             f"{exc}") from None
    cls = getattr(module, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Protocol)):
        raise UsageError(f"--protocol {quote(spec)}: {file} has no class {quote(name)} that subclasses "
                         f"marginlab.protocols.base.Protocol")
    for attr in ("name", "capabilities"):
        if not hasattr(cls, attr):
            raise UsageError(f"--protocol {quote(spec)}: {name} does not set the class attribute {attr}")
    return cls


def default_protocol() -> ProtocolFactory:
    return factory(protocol_class(DEFAULT))


def factory(cls: type[Protocol]) -> ProtocolFactory:
    def make(world: World, plan: Plan, sub_accounts: list[SubAccountRef], reads: ReadMode) -> Protocol:
        return cls(world, plan, sub_accounts, reads)
    return make
