"""Make the Solidity compiler pinned in brownie-config.yaml available to py-solc-x and brownie.

Order of preference (the first that works wins):
1. a native solc of the pinned version already installed (on PATH, or in ~/.solcx);
2. a native solc downloaded by py-solc-x (needs internet; fails fast without it);
3. the official compiler from npm (soljson, WebAssembly) behind tools/solc/solc.js.

The result is `$SOLCX_BINARY_PATH/solc-v<version>`, which is where py-solc-x looks for installed compilers.
Set MARGINLAB_SOLC=wasm to skip 1-2, MARGINLAB_SOLC=native to fail instead of falling back to 3.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def pinned_version() -> str:
    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())
    return str(config["compiler"]["solc"]["version"])


def reported_version(binary: Path) -> str | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("Version: "):
            return line.split()[1].split("+")[0]
    return None


def link_native(version: str, target: Path) -> str | None:
    candidates = []
    on_path = shutil.which("solc")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(Path.home() / ".solcx" / f"solc-v{version}")
    for c in candidates:
        if c.exists() and c.resolve() != target.resolve() and reported_version(c) == version:
            target.unlink(missing_ok=True)
            target.symlink_to(c.resolve())
            return f"native solc {version} at {c}"
    # Download into a scratch folder: py-solc-x skips the download when *any* solc-v<version> is already in its
    # folder, which would take our own npm wrapper for a native compiler.
    scratch = target.parent / ".download"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        import solcx

        solcx.install_solc(version, show_progress=False, solcx_binary_path=scratch)
    except Exception as exc:  # noqa: BLE001 - any failure means "no download here"; fall back
        print(f"provision_solc: no native solc download ({type(exc).__name__}); using the npm compiler")
        shutil.rmtree(scratch, ignore_errors=True)
        return None
    downloaded = scratch / f"solc-v{version}"
    if reported_version(downloaded) != version:
        shutil.rmtree(scratch, ignore_errors=True)
        return None
    target.unlink(missing_ok=True)
    downloaded.rename(target)
    shutil.rmtree(scratch, ignore_errors=True)
    return f"native solc {version} downloaded by py-solc-x"


def install_wasm(version: str, target: Path) -> str:
    module = ROOT / "node_modules" / "solc" / "package.json"
    if not module.exists():
        sys.exit("provision_solc: node_modules/solc is missing: run `npm ci` (make setup does) first")
    import json

    npm_version = json.loads(module.read_text())["version"]
    if npm_version != version:
        sys.exit(
            f"provision_solc: brownie-config.yaml pins solc {version} but package.json has solc {npm_version}: "
            "pin the same version in both"
        )
    script = (ROOT / "tools" / "solc" / "solc.sh").read_text().replace("@SOLC_JS@", str(ROOT / "tools/solc/solc.js"))
    target.unlink(missing_ok=True)
    target.write_text(script)
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    got = reported_version(target)
    if got != version:
        sys.exit(f"provision_solc: the npm compiler wrapper at {target} answers version {got!r}, expected {version}")
    return f"npm soljson {version} behind {target}"


def main() -> None:
    version = pinned_version()
    folder = Path(os.environ.get("SOLCX_BINARY_PATH") or Path.home() / ".solcx")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"solc-v{version}"
    mode = os.environ.get("MARGINLAB_SOLC", "auto")
    how = None
    if mode in ("auto", "native"):
        how = link_native(version, target)
        if how is None and mode == "native":
            sys.exit(f"provision_solc: MARGINLAB_SOLC=native but no native solc {version} could be found or installed")
    if how is None:
        how = install_wasm(version, target)
    (folder / "PROVENANCE").write_text(how + "\n")
    print(f"provision_solc: {how}")


if __name__ == "__main__":
    main()
