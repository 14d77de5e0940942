#!/usr/bin/env python3
"""Compile the peer protocols marginlab replays scenarios against — today Morpho Blue — into brownie-shaped artifacts.

Morpho Blue pins ``pragma solidity 0.8.19`` while brownie (and slither) keep one compiler, 0.8.24, for
``contracts/``; so Morpho's own source (``node_modules/@morpho-org/morpho-blue/src/Morpho.sol``, never copied into
the repository) and our contracts around it (``peers/morpho-blue/*.sol``) are compiled here, in one standard-JSON
run of the npm compiler ``solc-0.8.19`` behind ``tools/solc/solc.js``, with Morpho's optimizer setting (the
``optimizer_runs`` of a ``foundry.toml`` in the package, else 999999, the figure in Morpho's repository), for
``istanbul`` like the rest of the build (Ganache runs istanbul), without via-IR.

It writes ``build/peers/morpho-blue/<Name>.json`` for every contract, interface and library of the compilation
(keys ``contractName``, ``type``, ``abi``, ``bytecode``, ``deployedBytecode``, ``compiler``, ``sourcePath``,
``license``), which ``marginlab.chain.Artifacts(build_dir=...)`` loads like brownie's. A stamp file keyed on every
source the last compilation read, the compiler, the settings and this script makes a second run a no-op.

The compilation itself (standard JSON, the stamp, the one-line errors, the artifact shape) is
``marginlab.protocols.build``, which user protocols call too (``compile_folder``).

Usage: ``python tools/build_peers.py [--force]`` (``make compile`` runs it after ``brownie compile``). Exit 0 built
or up to date; 1 with one ``build_peers: ...`` line on stderr if anything failed.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marginlab.protocols.build import BuildError, compile_units

ROOT = Path(__file__).resolve().parent.parent
SOLC_PACKAGE = "solc-0.8.19"  # npm alias of solc@0.8.19 (package.json)
MORPHO_PACKAGE = "@morpho-org/morpho-blue"
DEFAULT_RUNS = 999_999  # morpho-blue's foundry.toml (not shipped in the npm package)
EVM_VERSION = "istanbul"


@dataclass(frozen=True)
class Peer:
    """One peer protocol: the sources of one compilation and where its artifacts go."""
    name: str
    package: str
    entry_points: tuple[str, ...]  # source unit names, relative to ROOT
    remappings: tuple[str, ...]
    out_dir: str

    def sources(self, root: Path) -> list[str]:
        return list(self.entry_points) + sorted(
            str(p.relative_to(root)) for p in (root / "peers" / self.name).glob("*.sol"))


MORPHO_BLUE = Peer(
    name="morpho-blue",
    package=MORPHO_PACKAGE,
    entry_points=(f"node_modules/{MORPHO_PACKAGE}/src/Morpho.sol",),
    remappings=(f"{MORPHO_PACKAGE}/=node_modules/{MORPHO_PACKAGE}/", "@chainlink/=node_modules/@chainlink/"),
    out_dir="build/peers/morpho-blue",
)


def optimizer_runs(package_dir: Path) -> int:
    """``optimizer_runs`` of the package's ``foundry.toml`` [profile.default] if it ships one, else 999999."""
    toml = package_dir / "foundry.toml"
    if toml.is_file():
        section = ""
        for line in toml.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("["):
                section = line.strip("[]").strip()
            elif section == "profile.default" and re.match(r"optimizer[_-]runs\s*=", line):
                return int(line.split("=", 1)[1].strip().replace("_", ""))
    return DEFAULT_RUNS


def build(peer: Peer, root: Path = ROOT, force: bool = False, log: Any = sys.stderr) -> bool:
    """Compile ``peer`` unless its stamp says nothing changed; True if it compiled."""
    package_dir = root / "node_modules" / peer.package
    if not package_dir.is_dir():
        raise BuildError(f"{peer.package} is not installed (node_modules/{peer.package} missing): run `make setup` "
                         f"(npm ci)")
    return compile_units(peer.sources(root), root / peer.out_dir, root=root, label=peer.name,
                         solc_module=SOLC_PACKAGE, evm_version=EVM_VERSION, optimizer_runs=optimizer_runs(package_dir),
                         remappings=peer.remappings, force=force, log=log, prefix="build_peers",
                         key_extra={"tool": hashlib.sha256(Path(__file__).read_bytes()).hexdigest()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="compile even if the stamp says nothing changed")
    args = parser.parse_args(argv)
    try:
        build(MORPHO_BLUE, force=args.force)
    except BuildError as exc:
        print(f"build_peers: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
