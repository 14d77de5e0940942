"""Aave v3's own compiled contracts, as npm ``@aave/core-v3`` ships them (hardhat artifacts: ABI, bytecode and
library link references), loaded straight from ``node_modules`` — no Aave source or bytecode is copied into this
repository — and linked here to the logic libraries of the replay's own deployment, as Aave's deploy scripts do.
Also: Aave's numeric error codes (``Errors.sol``) by name, so a revert reads ``45 HEALTH_FACTOR_NOT_BELOW_THRESHOLD``.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from marginlab.chain import Artifacts
from marginlab.errors import ChainError

ROOT = Path(__file__).resolve().parents[3]
PACKAGE_NAME = "@aave/core-v3"
PACKAGE_DIR = ROOT / "node_modules" / "@aave" / "core-v3"
#: what the pinned package (package.json) is: its protocol version and licence, for the provenance
PROTOCOL_VERSION = "3.0.2"
LICENSE = "BUSL-1.1"
PEERS_SRC = ROOT / "peers" / "aave-v3"
PEERS_BUILD = ROOT / "build" / "peers" / "aave-v3"
_ERROR = re.compile(r"string public constant (\w+) = '(\d+)';")
_NOT_INSTALLED = f"{PACKAGE_NAME} is not installed (node_modules/@aave/core-v3 missing): run `make setup` (npm ci)"


def package_version() -> str:
    try:
        return str(json.loads((PACKAGE_DIR / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


@lru_cache(maxsize=1)
def _index() -> dict[str, Path]:
    """Contract name → its hardhat artifact (the first one found, in path order)."""
    base = PACKAGE_DIR / "artifacts" / "contracts"
    if not base.is_dir():
        raise ChainError(_NOT_INSTALLED)
    out: dict[str, Path] = {}
    for path in sorted(base.rglob("*.json")):
        if not path.name.endswith(".dbg.json"):
            out.setdefault(path.stem, path)
    return out


class AaveArtifacts(Artifacts):
    """:class:`~marginlab.chain.Artifacts` over the package's hardhat artifacts; ``link(name, address)`` records a
    deployed library, and ``bytecode`` fills its address in wherever a contract links it."""

    def __init__(self) -> None:
        super().__init__(build_dir=PACKAGE_DIR / "artifacts")
        self.libraries: dict[str, str] = {}

    def load(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            path = _index().get(name)
            if path is None:
                raise ChainError(f"{PACKAGE_NAME} ships no artifact {name}")
            self._cache[name] = json.loads(path.read_text())
        return self._cache[name]

    def link(self, name: str, address: str) -> None:
        self.libraries[name] = address

    def bytecode(self, name: str) -> str:
        art = self.load(name)
        code = str(art["bytecode"])
        for refs in (art.get("linkReferences") or {}).values():
            for lib, spots in refs.items():
                if lib not in self.libraries:
                    raise ChainError(f"{name} links {lib}, which is not deployed yet")
                address = self.libraries[lib].lower().removeprefix("0x")
                for spot in spots:
                    start = 2 + 2 * int(spot["start"])
                    code = code[:start] + address + code[start + 2 * int(spot["length"]):]
        return code

    def link_order(self, name: str) -> list[str]:
        """The libraries ``name`` links, in the order of its link references."""
        refs = self.load(name).get("linkReferences") or {}
        return [lib for by_file in refs.values() for lib in by_file]

    def all_abis(self) -> list[list[dict[str, Any]]]:
        return []


@lru_cache(maxsize=1)
def error_names() -> dict[str, str]:
    """Aave's error code → its name (``"45"`` → ``HEALTH_FACTOR_NOT_BELOW_THRESHOLD``), from the package's
    Errors.sol."""
    path = PACKAGE_DIR / "contracts" / "protocol" / "libraries" / "helpers" / "Errors.sol"
    try:
        text = path.read_text()
    except OSError:
        return {}
    return {code: name for name, code in _ERROR.findall(text)}


def explain(reason: str) -> str:
    """``Error('45')`` → ``Error('45') HEALTH_FACTOR_NOT_BELOW_THRESHOLD``; anything else as it is."""
    m = re.fullmatch(r"Error\(['\"](\d+)['\"]\)", reason.strip())
    if m and m.group(1) in error_names():
        return f"{reason} {error_names()[m.group(1)]}"
    if reason == "reverted without a reason":
        return reason + " (AaveOracle: a non-positive answer goes to the fallback oracle, and there is none)"
    return reason
