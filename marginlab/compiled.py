"""Compile what a command needs, once: ``marginlab replay``, ``sweep`` and ``deploy`` call :func:`ensure_build`
first, so the README's order of commands (``make setup``, then ``marginlab replay FILE``) works without a
``make compile`` in between.

In a checkout (brownie-config.yaml beside this package), the build is stale when a Solidity file of
``contracts/`` or ``interfaces/`` has no artifact whose source hash (brownie's ``sha1``) matches it, or when the
peer protocols' build (``build/peers/``) is missing or older than ``peers/``. Then it runs what ``make compile``
runs — ``brownie compile`` and ``tools/build_peers.py`` — with the toolchain ``make setup`` installed, printing
one line on stderr first. Outside a checkout, or with ``MARGINLAB_BUILD_DIR`` set, nothing is compiled: the
build is whatever was given.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from marginlab.errors import ChainError

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
SOURCES = ("contracts", "interfaces")
PEERS = ROOT / "peers"
PEERS_STAMP = BUILD / "peers" / "morpho-blue" / ".build-stamp.json"
COMPILE_TIMEOUT_S = 1800


def in_checkout(root: Path = ROOT) -> bool:
    return (root / "brownie-config.yaml").is_file() and (root / "contracts").is_dir()


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def stale_sources(root: Path = ROOT) -> list[str]:
    """Project Solidity files (relative paths) whose current text no artifact was built from."""
    built: set[tuple[str, str]] = set()
    for folder in ("contracts", "interfaces"):
        for art in (root / "build" / folder).glob("*.json"):
            try:
                data = json.loads(art.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or not data.get("sha1"):
                continue
            # brownie's interface artifacts name no source path: build/interfaces/IVault.json is interfaces/IVault.sol
            source = data.get("sourcePath") or f"{folder}/{art.stem}.sol"
            built.add((str(source), str(data["sha1"])))
    out = []
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*.sol")):
            rel = str(path.relative_to(root))
            if (rel, _sha1(path)) not in built:
                out.append(rel)
    return out


def peers_stale(root: Path = ROOT) -> bool:
    """The peer build is missing, or a peer source changed after it (tools/build_peers.py then decides by content)."""
    stamp = root / "build" / "peers" / "morpho-blue" / ".build-stamp.json"
    if not stamp.is_file():
        return True
    built = stamp.stat().st_mtime
    return any(p.stat().st_mtime > built for p in (root / "peers").rglob("*.sol"))


def toolchain_env(root: Path = ROOT) -> dict[str, str]:
    """The environment make gives brownie: the npm tools and the provisioned compiler."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(root / "tools" / "bin"), str(root / "node_modules" / ".bin"),
                                   str(Path(sys.executable).parent), env.get("PATH", "")])
    env["SOLCX_BINARY_PATH"] = str(root / ".toolchain" / "solcx")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run(cmd: list[str], root: Path, what: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=root, env=toolchain_env(root), capture_output=True, text=True,
                              timeout=COMPILE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ChainError(f"{what} could not run ({exc}); run `make compile` to see why") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()]
        tail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ChainError(f"{what} failed: {tail}; run `make compile` to see the whole output")


def ensure_build(root: Path = ROOT, stream: TextIO | None = None) -> bool:
    """Compile when the build is stale (see the module's doc); True if it compiled."""
    if os.environ.get("MARGINLAB_BUILD_DIR") or not in_checkout(root):
        return False
    stale = stale_sources(root)
    peers = peers_stale(root)
    if not stale and not peers:
        return False
    if not (root / ".toolchain" / "solcx").is_dir() or not (root / "node_modules").is_dir():
        raise ChainError("the contracts are not compiled and the toolchain is not set up: run `make setup` (or "
                         "`make compile`) in the repository first")
    out = stream or sys.stderr
    if stale:
        first = stale[0] + (f" and {len(stale) - 1} more" if len(stale) > 1 else "")
        print(f"marginlab: compiling the contracts ({first} changed or not built yet; brownie compile) ...",
              file=out, flush=True)
        brownie = Path(sys.executable).parent / "brownie"
        _run([str(brownie) if brownie.is_file() else "brownie", "compile"], root, "brownie compile")
    if peers:
        print("marginlab: building the peer protocols (tools/build_peers.py) ...", file=out, flush=True)
        _run([sys.executable, str(root / "tools" / "build_peers.py")], root, "tools/build_peers.py")
    return True
