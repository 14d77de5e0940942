#!/usr/bin/env python3
"""Write abi/ from the build: one plain ABI JSON per deployable contract and one merged list of error and event
signatures, for readers outside Python (cast, web3.py, ethers, a block explorer) that should not need brownie.

    python tools/abi.py            # (re)write abi/ from build/ (make abi; make compile runs it)
    python tools/abi.py --check    # exit 1 with one line if abi/ is not what the build gives

What goes in:

- ``abi/<Name>.json``: every deployable contract of ``contracts/`` (type ``contract`` with bytecode, from brownie's
  ``build/contracts``), the ABI exactly as the compiler wrote it;
- ``abi/<peer>/<Name>.json``: the same for the peer protocols ``tools/build_peers.py`` builds
  (``build/peers/morpho-blue``: Morpho Blue itself and our oracle, rate model, reader and keeper around it);
- ``abi/signatures.json``: every custom error and event those contracts can revert with or emit, merged, one
  per line: our vault's, router's, tokens' and feeds', the OpenZeppelin errors of the code they use (ERC-20,
  SafeERC20, SafeCast, ECDSA, ReentrancyGuard, Pausable, Math, Address), Morpho's library events. Each error
  has its 4-byte ``selector``, each event its ``topic0``, with the ``signature`` (what ``cast decode-error --sig``
  and ``cast sig`` take), the argument names and the contracts that declare it. A revert bubbles up unchanged
  through the contracts that call the one that raised it (the vault re-raises the router's ``StalePrice``), so
  decode revert data against this list, not against one contract's ABI.

Contract-level: which artifacts exist is up to the compiler, so a change of contracts (a module split, a new
error) changes abi/ by running this again; ``tests/toolchain/test_abi.py`` fails while the committed abi/ is
not what the build gives.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "contracts"
PEERS = {"morpho-blue": ROOT / "build" / "peers" / "morpho-blue",
         "aave-v3": ROOT / "build" / "peers" / "aave-v3"}
OUT = ROOT / "abi"
SIGNATURES = "signatures.json"
# brownie's project source folder: artifacts from elsewhere (node_modules) are dependencies, not deployables.
PROJECT_SOURCES = ("contracts/",)


class AbiError(Exception):
    """One line for the user: what is missing and what to run."""


@dataclass(frozen=True)
class Signature:
    kind: str  # "error" | "event"
    name: str
    signature: str
    hash: str  # error: 4-byte selector; event: topic0
    inputs: str  # "address caller, uint256 amount"


def abi_type(item: dict[str, Any]) -> str:
    """The canonical type of an ABI input (tuples spelt out), as in a selector's signature."""
    kind = str(item["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in item["components"]) + ")" + kind[len("tuple"):]
    return kind


def signature_of(item: dict[str, Any]) -> Signature:
    types = [abi_type(i) for i in item.get("inputs", [])]
    text = f"{item['name']}({','.join(types)})"
    digest = keccak(text=text)
    described = ", ".join(f"{abi_type(i)}{' indexed' if i.get('indexed') else ''} {i.get('name') or '_'}"
                          for i in item.get("inputs", []))
    return Signature(item["type"], item["name"], text, "0x" + (digest[:4] if item["type"] == "error" else digest).hex(),
                     described)


def _load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AbiError(f"cannot read {path.relative_to(ROOT)}: {exc}; run `make compile`") from None
    return data


def _deployable(art: dict[str, Any]) -> bool:
    code = str(art.get("bytecode") or "")
    return art.get("type") == "contract" and len(code) > 2 and "__" not in code


def collect() -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """(file name under abi/ → ABI of each deployable contract, contract name → ABI of every contract whose errors
    and events go into the merged list)."""
    if not (BUILD / "Vault.json").is_file():
        raise AbiError("build/contracts/Vault.json not found: run `make compile` first")
    files: dict[str, list[dict[str, Any]]] = {}
    sources: dict[str, list[dict[str, Any]]] = {}
    arts = {p.stem: _load(p) for p in sorted(BUILD.glob("*.json"))}
    for name, art in arts.items():
        if not (_deployable(art) and str(art.get("sourcePath", "")).startswith(PROJECT_SOURCES)):
            continue
        files[f"{name}.json"] = art["abi"]
        sources[name] = art["abi"]
        # What it uses from elsewhere (OpenZeppelin, our interfaces and libraries): brownie names it, and keeps
        # those artifacts while something depends on them (it prunes the others, so they cannot be listed).
        for dep in art.get("dependencies", []):
            if dep in arts:
                sources.setdefault(dep, arts[dep]["abi"])
    for peer, folder in PEERS.items():
        if not folder.is_dir():
            raise AbiError(f"{folder.relative_to(ROOT)} not found: run `make compile` (tools/build_peers.py)")
        for path in sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")):
            art = _load(path)
            sources.setdefault(f"{peer}/{path.stem}", art["abi"])
            if _deployable(art):
                files[f"{peer}/{path.stem}.json"] = art["abi"]
    return files, sources


def merged(sources: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Every distinct error and event signature, with the contracts that declare it (sorted by name)."""
    found: dict[tuple[str, str], tuple[Signature, set[str]]] = {}
    for contract, abi in sources.items():
        for item in abi:
            if item.get("type") not in ("error", "event"):
                continue
            sig = signature_of(item)
            entry = found.setdefault((sig.kind, sig.signature), (sig, set()))
            entry[1].add(contract)
    out: dict[str, list[dict[str, Any]]] = {"errors": [], "events": []}
    for (kind, _), (sig, where) in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1].lower(), kv[0][1])):
        key = "selector" if kind == "error" else "topic0"
        out["errors" if kind == "error" else "events"].append(
            {key: sig.hash, "signature": sig.signature, "inputs": sig.inputs, "in": sorted(where)})
    return out


def render() -> dict[str, str]:
    """Every file of abi/ (path relative to abi/ → text)."""
    files, sources = collect()
    out = {name: json.dumps(abi, indent=2) + "\n" for name, abi in files.items()}
    lists = merged(sources)
    # One entry per line, so that `grep 0x<selector> abi/signatures.json` finds a revert's error.
    lines = ["{", ' "about": "Every custom error (selector = first 4 bytes of the revert data) and event (topic0) of '
                  'the contracts in abi/, merged; written by tools/abi.py from the build",']
    for n, key in enumerate(("errors", "events")):
        lines.append(f' "{key}": [')
        entries = [" " * 2 + json.dumps(e) for e in lists[key]]
        lines.append(",\n".join(entries))
        lines.append(" ]" + ("," if n == 0 else ""))
    lines.append("}")
    out[SIGNATURES] = "\n".join(lines) + "\n"
    return out


def existing(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*.json"))}


def differences(wanted: dict[str, str], have: dict[str, str]) -> list[str]:
    out = [f"{name} (missing)" for name in sorted(set(wanted) - set(have))]
    out += [f"{name} (not built any more)" for name in sorted(set(have) - set(wanted))]
    out += [f"{name} (changed)" for name in sorted(set(wanted) & set(have)) if wanted[name] != have[name]]
    return out


def write(wanted: dict[str, str], folder: Path) -> list[str]:
    changed = differences(wanted, existing(folder))
    for name in set(existing(folder)) - set(wanted):
        (folder / name).unlink()
    for name, text in wanted.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare abi/ with the build; write nothing")
    args = parser.parse_args(argv)
    try:
        wanted = render()
    except AbiError as exc:
        print(f"abi: {exc}", file=sys.stderr)
        return 1
    if args.check:
        diff = differences(wanted, existing(OUT))
        if diff:
            print(f"abi: abi/ is not what the build gives: {', '.join(diff)}; run `make abi` and commit abi/",
                  file=sys.stderr)
            return 1
        return 0
    changed = write(wanted, OUT)
    contracts = sum(1 for name in wanted if name != SIGNATURES)
    print(f"abi: {contracts} contracts and {SIGNATURES} in abi/" + (f" ({len(changed)} file(s) changed)"
                                                                   if changed else " (unchanged)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
