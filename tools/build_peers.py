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

Usage: ``python tools/build_peers.py [--force]`` (``make compile`` runs it after ``brownie compile``). Exit 0 built
or up to date; 1 with one ``build_peers: ...`` line on stderr if anything failed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WRAPPER = ROOT / "tools" / "solc" / "solc.js"
SOLC_PACKAGE = "solc-0.8.19"  # npm alias of solc@0.8.19 (package.json)
MORPHO_PACKAGE = "@morpho-org/morpho-blue"
DEFAULT_RUNS = 999_999  # morpho-blue's foundry.toml (not shipped in the npm package)
EVM_VERSION = "istanbul"
COMPILE_TIMEOUT_S = 900
STAMP_NAME = ".build-stamp.json"
SPDX = re.compile(r"SPDX-License-Identifier:\s*([^\s*]+)")


class BuildError(Exception):
    """One line for the user: what failed and what to do."""


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


# --------------------------------------------------------------------------------------------------- settings

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


def compiler_package_version(root: Path) -> str:
    path = root / "node_modules" / SOLC_PACKAGE / "package.json"
    try:
        return str(json.loads(path.read_text())["version"])
    except (OSError, ValueError, KeyError):
        raise BuildError(f"the npm compiler {SOLC_PACKAGE} is not installed ({path} missing): run `make setup` "
                         f"(npm ci)") from None


def standard_json(peer: Peer, root: Path, runs: int) -> dict[str, Any]:
    sources = {}
    for unit in peer.sources(root):
        try:
            sources[unit] = {"content": (root / unit).read_text()}
        except OSError as exc:
            hint = " (npm ci installs it: run `make setup`)" if unit.startswith("node_modules/") else ""
            raise BuildError(f"cannot read {unit}: {exc.strerror or exc}{hint}") from None
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "remappings": list(peer.remappings),
            "optimizer": {"enabled": True, "runs": runs},
            "evmVersion": EVM_VERSION,
            "viaIR": False,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object",
                                            "metadata"], "": ["ast"]}},
        },
    }


# --------------------------------------------------------------------------------------------------- stamp

def digest(root: Path, units: list[str], key: dict[str, Any]) -> str:
    """sha256 over ``key`` (settings, compiler, this script) and the content of every source unit."""
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode())
    for unit in sorted(set(units)):
        h.update(unit.encode() + b"\0")
        try:
            h.update((root / unit).read_bytes())
        except OSError:
            h.update(b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def up_to_date(out: Path, stamp: dict[str, Any], root: Path, key: dict[str, Any], inputs: list[str]) -> bool:
    """The last build read the same files (every unit it resolved, plus today's inputs) and left every artifact."""
    units = list(stamp.get("units", [])) + inputs
    if stamp.get("digest") != digest(root, units, key):
        return False
    return all((out / f"{name}.json").is_file() for name in stamp.get("artifacts", []))


# --------------------------------------------------------------------------------------------------- compile

def run_solc(root: Path, request: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, MARGINLAB_SOLC_MODULE=str(root / "node_modules" / SOLC_PACKAGE))
    try:
        proc = subprocess.run(["node", str(WRAPPER), "--standard-json", "--base-path", str(root)],
                              input=json.dumps(request), capture_output=True, text=True, cwd=root, env=env,
                              timeout=COMPILE_TIMEOUT_S)
    except FileNotFoundError:
        raise BuildError("node is not on PATH: install Node 20+ (README, Requirements)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"solc {SOLC_PACKAGE} did not finish within {COMPILE_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-1:]) or f"exit code {proc.returncode}"
        raise BuildError(f"the compiler wrapper failed: {tail}")
    try:
        return dict(json.loads(proc.stdout))
    except ValueError:
        raise BuildError(f"the compiler wrapper printed no JSON: {proc.stdout[:200]!r}") from None


def first_error(output: dict[str, Any]) -> str | None:
    """``file:line:col: Type: message`` of the first error, with a count of the others; None without errors."""
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if not errors:
        return None
    e = errors[0]
    where = ""
    loc = e.get("sourceLocation") or {}
    if loc.get("file"):
        where = str(loc["file"])
        formatted = str(e.get("formattedMessage", ""))
        m = re.search(re.escape(where) + r":(\d+):(\d+)", formatted)
        where += f":{m.group(1)}:{m.group(2)}: " if m else ": "
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}{e.get('type', 'Error')}: {e.get('message', '').strip()}{more}"


def artifacts(output: dict[str, Any], request: dict[str, Any], root: Path) -> dict[str, dict[str, Any]]:
    """One brownie-shaped artifact per contract, interface and library, by name (names must be unique)."""
    settings = request["settings"]
    kinds: dict[tuple[str, str], str] = {}
    licenses: dict[str, str | None] = {}
    for unit, src in output.get("sources", {}).items():
        ast = src.get("ast") or {}
        licenses[unit] = ast.get("license")
        for node in ast.get("nodes", []):
            if node.get("nodeType") == "ContractDefinition":
                kinds[(unit, node["name"])] = node.get("contractKind", "contract")
    built: dict[str, dict[str, Any]] = {}
    version = None
    for unit, by_name in sorted(output.get("contracts", {}).items()):
        for name, c in sorted(by_name.items()):
            if name in built:
                raise BuildError(f"two contracts named {name} ({built[name]['sourcePath']} and {unit}): "
                                 f"artifacts are keyed by name")
            if version is None and c.get("metadata"):
                version = json.loads(c["metadata"])["compiler"]["version"]
            license_id = licenses.get(unit)
            if license_id is None:
                m = SPDX.search((root / unit).read_text())
                license_id = m.group(1) if m else None
            built[name] = {
                "contractName": name,
                "type": kinds.get((unit, name), "contract"),
                "abi": c.get("abi", []),
                "bytecode": c["evm"]["bytecode"]["object"],
                "deployedBytecode": c["evm"]["deployedBytecode"]["object"],
                "compiler": {"version": None, "evm_version": settings["evmVersion"],
                             "optimizer": settings["optimizer"], "via_ir": settings["viaIR"]},
                "sourcePath": unit,
                "license": license_id,
                "language": "Solidity",
            }
    for art in built.values():
        art["compiler"]["version"] = version
    return built


def build(peer: Peer, root: Path = ROOT, force: bool = False, log: Any = sys.stderr) -> bool:
    """Compile ``peer`` unless its stamp says nothing changed; True if it compiled."""
    out = root / peer.out_dir
    package_dir = root / "node_modules" / peer.package
    if not package_dir.is_dir():
        raise BuildError(f"{peer.package} is not installed (node_modules/{peer.package} missing): run `make setup` "
                         f"(npm ci)")
    runs = optimizer_runs(package_dir)
    request = standard_json(peer, root, runs)
    key = {"compiler": compiler_package_version(root), "settings": request["settings"],
           "tool": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
           "wrapper": hashlib.sha256(WRAPPER.read_bytes()).hexdigest()}
    inputs = list(request["sources"])
    stamp_path = out / STAMP_NAME
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    if not force and up_to_date(out, stamp, root, key, inputs):
        return False
    print(f"build_peers: compiling {peer.name} ({len(inputs)} files) with solc {key['compiler']} (npm), "
          f"{EVM_VERSION}, optimizer runs {runs}", file=log, flush=True)
    started = time.monotonic()
    output = run_solc(root, request)
    error = first_error(output)
    if error:
        raise BuildError(f"{peer.name} does not compile: {error}")
    built = artifacts(output, request, root)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        if stale.stem not in built:
            stale.unlink()
    for name, art in built.items():
        (out / f"{name}.json").write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")
    units = sorted(output.get("sources", {}))
    sizes = {n: len(a["deployedBytecode"]) // 2 for n, a in built.items() if a["deployedBytecode"]}
    stamp_path.write_text(json.dumps({"digest": digest(root, units + inputs, key), "units": units,
                                      "artifacts": sorted(built), "deployed_bytes": sizes}, indent=1) + "\n")
    shown = ", ".join(f"{n} {s:,} B" for n, s in sorted(sizes.items(), key=lambda kv: -kv[1]))
    print(f"build_peers: {peer.out_dir}: {len(built)} artifacts in {time.monotonic() - started:.0f} s; "
          f"deployed code {shown}", file=log, flush=True)
    return True


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
