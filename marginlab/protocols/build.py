"""Compile a folder of Solidity with the project's compiler into artifacts :class:`marginlab.chain.Artifacts` loads.

A protocol that brings its own contracts (``--protocol path/to/adapter.py:ClassName``) compiles them here, in its
``deploy``::

    from marginlab.protocols.build import compile_folder, default_out
    artifacts = compile_folder(Path(__file__).parent / "contracts", default_out("mini-vault"))
    vault = world.chain.deploy(world.deployer, artifacts, "MiniVault", ...)

The compiler is the npm one behind ``tools/solc/solc.js`` (soljson, no native binary, no internet): ``solc`` (the
project's 0.8.24, the default) or any other version installed under ``node_modules`` (``solc_module="solc-0.8.19"``,
an npm alias in package.json). One standard-JSON run compiles every ``.sol`` file under the folder and what they
import (``@openzeppelin/`` and ``@chainlink/`` resolve to ``node_modules`` as in brownie-config.yaml), for
``istanbul`` by default (Ganache runs istanbul here), optimizer on, no via-IR.

The output folder gets one ``<Name>.json`` per contract, interface and library (keys ``contractName``, ``type``,
``abi``, ``bytecode``, ``deployedBytecode``, ``compiler``, ``sourcePath``, ``license``, ``language``: brownie's
shape) and a stamp (``.build-stamp.json``) keyed on every source the compilation read, the compiler, the
settings, the wrapper and this module: a second call with nothing changed compiles nothing. Keep it under
``build/`` (git-ignored; :func:`default_out`), never beside the sources.

A compile error is one line, ``file:line:col: ErrorType: message (and N more)``, raised as :class:`BuildError`
(exit 2 from the CLI, no traceback). ``tools/build_peers.py`` compiles Morpho Blue through the same functions.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence, TextIO

from marginlab.chain import Artifacts
from marginlab.errors import UsageError

DEFAULT_SOLC_MODULE = "solc"  # node_modules/solc: the project's compiler (brownie-config.yaml's version)
DEFAULT_EVM_VERSION = "istanbul"
DEFAULT_OPTIMIZER_RUNS = 200  # brownie-config.yaml's
#: What brownie-config.yaml remaps, in standard-JSON form (paths relative to the project root).
DEFAULT_REMAPPINGS = ("@openzeppelin/=node_modules/@openzeppelin/", "@chainlink/=node_modules/@chainlink/")
COMPILE_TIMEOUT_S = 900
STAMP_NAME = ".build-stamp.json"
SPDX = re.compile(r"SPDX-License-Identifier:\s*([^\s*]+)")
_WRAPPER = Path("tools") / "solc" / "solc.js"


class BuildError(UsageError):
    """One line for the user: what failed to compile (``file:line:col: ...``) or what to install."""


def project_root() -> Path:
    """The marginlab checkout whose compiler wrapper and ``node_modules`` compile user contracts: the one this
    package was installed from (``pip install -e .``), else the nearest one above the current folder."""
    for base in [Path(__file__).resolve().parents[2], Path.cwd(), *Path.cwd().parents]:
        if (base / _WRAPPER).is_file() and (base / "node_modules").is_dir():
            return base
    raise BuildError(f"no marginlab checkout with {_WRAPPER} and node_modules found: run `make setup` in the "
                     f"repository and install marginlab from it (pip install -e .)")


def default_out(name: str) -> Path:
    """Where a user protocol's artifacts go: ``build/protocols/<name>/`` of the project (git-ignored)."""
    return project_root() / "build" / "protocols" / name


# --------------------------------------------------------------------------------------------------- pieces

def compiler_version(root: Path, solc_module: str) -> str:
    """The npm package version of ``node_modules/<solc_module>`` (``0.8.24``)."""
    path = root / "node_modules" / solc_module / "package.json"
    try:
        return str(json.loads(path.read_text())["version"])
    except (OSError, ValueError, KeyError):
        raise BuildError(f"the npm compiler {solc_module} is not installed ({path} missing): run `make setup` "
                         f"(npm ci), or add it to package.json as an npm alias (\"solc-0.8.19\": "
                         f"\"npm:solc@0.8.19\")") from None


def standard_json(units: Sequence[str], root: Path, *, remappings: Sequence[str], evm_version: str,
                  optimizer_runs: int) -> dict[str, Any]:
    """The compiler's standard-JSON input for ``units`` (paths relative to ``root``, or absolute)."""
    sources = {}
    for unit in units:
        try:
            sources[unit] = {"content": (root / unit).read_text()}
        except OSError as exc:
            hint = " (npm ci installs it: run `make setup`)" if unit.startswith("node_modules/") else ""
            raise BuildError(f"cannot read {unit}: {exc.strerror or exc}{hint}") from None
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "remappings": list(remappings),
            "optimizer": {"enabled": True, "runs": optimizer_runs},
            "evmVersion": evm_version,
            "viaIR": False,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object",
                                            "metadata"], "": ["ast"]}},
        },
    }


def digest(root: Path, units: Sequence[str], key: dict[str, Any]) -> str:
    """sha256 over ``key`` (settings, compiler, tools) and the content of every source unit."""
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode())
    for unit in sorted(set(units)):
        h.update(unit.encode() + b"\0")
        try:
            h.update((root / unit).read_bytes())
        except OSError:
            h.update(b"<missing>")
        h.update(b"\0")
    return h.hexdigest()


def up_to_date(out: Path, stamp: dict[str, Any], root: Path, key: dict[str, Any], inputs: Sequence[str]) -> bool:
    """The last build read the same files (every unit it resolved, plus today's inputs) and left every artifact."""
    units = list(stamp.get("units", [])) + list(inputs)
    if stamp.get("digest") != digest(root, units, key):
        return False
    return all((out / f"{name}.json").is_file() for name in stamp.get("artifacts", []))


def run_solc(root: Path, request: dict[str, Any], solc_module: str) -> dict[str, Any]:
    """One standard-JSON run of ``node_modules/<solc_module>`` through the project's wrapper, imports read from
    disk relative to ``root``."""
    wrapper = project_root() / _WRAPPER
    env = dict(os.environ, MARGINLAB_SOLC_MODULE=str(root / "node_modules" / solc_module))
    try:
        proc = subprocess.run(["node", str(wrapper), "--standard-json", "--base-path", str(root)],
                              input=json.dumps(request), capture_output=True, text=True, cwd=root, env=env,
                              timeout=COMPILE_TIMEOUT_S)
    except FileNotFoundError:
        raise BuildError("node is not on PATH: install Node 20+ (README, Requirements)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"solc {solc_module} did not finish within {COMPILE_TIMEOUT_S} s") from None
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
    message = " ".join(str(e.get("message", "")).split())
    return f"{where}{e.get('type', 'Error')}: {message}{more}"


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


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------- build

def compile_units(units: Sequence[str], out: Path, *, root: Path, label: str, solc_module: str = DEFAULT_SOLC_MODULE,
                  evm_version: str = DEFAULT_EVM_VERSION, optimizer_runs: int = DEFAULT_OPTIMIZER_RUNS,
                  remappings: Sequence[str] = DEFAULT_REMAPPINGS, key_extra: dict[str, Any] | None = None,
                  force: bool = False, log: TextIO | None = None, prefix: str = "build") -> bool:
    """Compile source ``units`` (relative to ``root``) into ``out`` unless the stamp says nothing changed; True if it
    compiled. ``label`` names the compilation in messages (``morpho-blue does not compile: ...``); progress lines
    go to ``log`` (stderr by default) prefixed ``prefix:``. ``out`` is created only once the compilation worked."""
    log = sys.stderr if log is None else log
    request = standard_json(units, root, remappings=remappings, evm_version=evm_version,
                            optimizer_runs=optimizer_runs)
    key = {"compiler": compiler_version(root, solc_module), "settings": request["settings"],
           "wrapper": _sha(project_root() / _WRAPPER), "helper": _sha(Path(__file__)), **(key_extra or {})}
    inputs = list(request["sources"])
    stamp_path = out / STAMP_NAME
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}
    if not force and up_to_date(out, stamp, root, key, inputs):
        return False
    print(f"{prefix}: compiling {label} ({len(inputs)} files) with solc {key['compiler']} (npm), {evm_version}, "
          f"optimizer runs {optimizer_runs}", file=log, flush=True)
    started = time.monotonic()
    output = run_solc(root, request, solc_module)
    error = first_error(output)
    if error:
        raise BuildError(f"{label} does not compile: {error}")
    built = artifacts(output, request, root)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        if stale.stem not in built:
            stale.unlink()
    for name, art in built.items():
        _write(out / f"{name}.json", json.dumps(art, indent=1, sort_keys=True) + "\n")
    units_read = sorted(output.get("sources", {}))
    sizes = {n: len(a["deployedBytecode"]) // 2 for n, a in built.items() if a["deployedBytecode"]}
    _write(stamp_path, json.dumps({"digest": digest(root, units_read + inputs, key), "units": units_read,
                                   "artifacts": sorted(built), "deployed_bytes": sizes}, indent=1) + "\n")
    shown = ", ".join(f"{n} {s:,} B" for n, s in sorted(sizes.items(), key=lambda kv: -kv[1]))
    where = out.relative_to(root) if out.is_relative_to(root) else out
    print(f"{prefix}: {where}: {len(built)} artifacts in {time.monotonic() - started:.0f} s; deployed code {shown}",
          file=log, flush=True)
    return True


def _write(path: Path, text: str) -> None:
    """Write through a temporary file and a rename, so a reader never sees half an artifact."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def compile_folder(folder: Path, out: Path, *, solc_module: str | None = None, evm_version: str = DEFAULT_EVM_VERSION,
                   remappings: Sequence[str] = DEFAULT_REMAPPINGS, optimizer_runs: int = DEFAULT_OPTIMIZER_RUNS,
                   force: bool = False, log: TextIO | None = None) -> Artifacts:
    """Compile every ``.sol`` file under ``folder`` (and what it imports) into ``out`` with the project's compiler,
    unless nothing changed since the last call; returns the artifacts. ``solc_module``: another compiler installed
    under ``node_modules`` (default ``solc``, the project's 0.8.24). Raises :class:`BuildError` (one line)."""
    root = project_root()
    folder = Path(folder).resolve()
    out = Path(out).resolve()
    if not folder.is_dir():
        raise BuildError(f"{folder}: no such folder of Solidity sources")
    if out == folder or out.is_relative_to(folder):
        raise BuildError(f"{out}: build output must not go inside the source folder {folder}; use build/ "
                         f"(marginlab.protocols.build.default_out)")
    units = sorted(str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in folder.rglob("*.sol"))
    if not units:
        raise BuildError(f"{folder}: no .sol files to compile")
    label = str(folder.relative_to(root)) if folder.is_relative_to(root) else str(folder)
    compile_units(units, out, root=root, label=label, solc_module=solc_module or DEFAULT_SOLC_MODULE,
                  evm_version=evm_version, optimizer_runs=optimizer_runs, remappings=remappings, force=force,
                  log=log, prefix="compile")
    return Artifacts(build_dir=out)
