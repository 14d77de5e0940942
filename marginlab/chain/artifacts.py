"""The compiled contracts: brownie's ``build/contracts/<Name>.json`` (ABI and bytecode), found wherever a replay runs.

Knows nothing of nodes; the one message that mixes both (:func:`evm_mismatch_message`: code compiled for a newer
EVM than the node runs) lives here because its fix is in the build, not in the node.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from marginlab.errors import ChainError

# The checkout this package sits in (marginlab/chain/artifacts.py → three levels up): the last place looked for
# the build, so that `marginlab` run from another directory still finds it.
REPO_ROOT = Path(__file__).resolve().parents[2]


def find_build_dir() -> Path:
    """``$MARGINLAB_BUILD_DIR``, else ``build/contracts`` here or in a folder above, else in the checkout."""
    env = os.environ.get("MARGINLAB_BUILD_DIR")
    if env:  # an explicit choice is the only place looked at
        if (Path(env) / "Vault.json").is_file():
            return Path(env)
        raise ChainError(f"compiled contracts not found in MARGINLAB_BUILD_DIR={env} (no Vault.json): run "
                         f"`make compile` (brownie compile) and point it at build/contracts")
    candidates = [base / "build" / "contracts" for base in [Path.cwd(), *Path.cwd().parents]]
    candidates.append(REPO_ROOT / "build" / "contracts")
    for c in candidates:
        if (c / "Vault.json").is_file():
            return c
    raise ChainError("compiled contracts not found (build/contracts/Vault.json): run `make compile` "
                     "(brownie compile) in the repository first")


class Artifacts:
    """ABIs and bytecode from brownie's ``build/contracts/<Name>.json``, each file read once."""

    def __init__(self, build_dir: Path | None = None) -> None:
        self.dir = build_dir or find_build_dir()
        self._cache: dict[str, dict[str, Any]] = {}

    def load(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            path = self.dir / f"{name}.json"
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise ChainError(f"cannot read artifact {path}: {exc}; run `make compile`") from None
            if not data.get("bytecode") and data.get("type") == "contract":
                raise ChainError(f"artifact {path} has no bytecode; run `make compile`")
            self._cache[name] = data
        return self._cache[name]

    def abi(self, name: str) -> list[dict[str, Any]]:
        return list(self.load(name)["abi"])

    def bytecode(self, name: str) -> str:
        code = str(self.load(name)["bytecode"])
        if "__" in code:
            raise ChainError(f"{name} needs library linking, which the simulator does not do")
        return code

    def all_abis(self) -> list[list[dict[str, Any]]]:
        """Every ABI in the build (interfaces and libraries too): the revert decoder learns every custom error."""
        out: list[list[dict[str, Any]]] = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                out.append(json.loads(path.read_text()).get("abi", []))
            except (OSError, ValueError):
                continue
        return out


def evm_mismatch_message(artifacts: Artifacts, name: str, backend: str, url: str) -> str:
    """One line, in the scenario errors' ``file: field: reason`` shape, naming the artifact, its EVM and the fix."""
    path = artifacts.dir / f"{name}.json"
    evm = (artifacts.load(name).get("compiler") or {}).get("evm_version") or "unknown"
    return (f"{path}: compiler.evm_version: {name} was compiled for {evm!r} and hit an invalid opcode deploying on "
            f"{backend} at {url}, whose EVM is older; set compiler.evm_version: istanbul in brownie-config.yaml and "
            f"run `make compile` (Ganache runs istanbul here), or replay on a node with a newer hardfork")
