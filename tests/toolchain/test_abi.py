"""abi/ (tools/abi.py): plain ABIs of every deployable contract and one merged list of error and event signatures,
committed, and always what the current build gives; forge and cast work on the repository offline."""
from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eth_utils import keccak

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import abi as gen  # noqa: E402

FORGE = ROOT / "node_modules" / ".bin" / "forge"
CAST = ROOT / "node_modules" / ".bin" / "cast"


@functools.lru_cache(maxsize=1)
def rendered() -> dict[str, str]:
    """abi/ as the generator makes it from the current build (read once: the artifacts are large)."""
    return gen.render()


def committed() -> dict[str, str] | None:
    """abi/ as committed (HEAD), or None outside a git checkout."""
    git = shutil.which("git")
    if git is None:
        return None
    listing = subprocess.run([git, "-C", str(ROOT), "ls-tree", "-r", "--name-only", "HEAD", "abi/"],
                             capture_output=True, text=True)
    if listing.returncode != 0:
        return None
    out = {}
    for name in listing.stdout.split():
        shown = subprocess.run([git, "-C", str(ROOT), "show", f"HEAD:{name}"], capture_output=True, text=True)
        out[name[len("abi/"):]] = shown.stdout
    return out


def test_the_committed_abi_folder_is_what_the_build_gives():
    """Fails after a contract change until `make abi` (make compile runs it) has rewritten abi/ and it is committed."""
    wanted = rendered()
    have = committed()
    if have is None:  # a tarball: the files there are what was shipped
        have = gen.existing(gen.OUT)
    assert gen.differences(wanted, have) == [], "run `make abi` and commit abi/"
    assert gen.differences(wanted, gen.existing(gen.OUT)) == [], "run `make abi`"


def test_every_deployable_contract_has_its_plain_abi_and_nothing_else_is_there():
    files = rendered()
    for name in ("Vault", "OracleRouter", "InterestRateModel", "SimToken", "SettableAggregator", "SimBatcher",
                 "SimKeeper", "FeeOnTransferToken", "morpho-blue/Morpho", "morpho-blue/MorphoKeeper"):
        abi = json.loads(files[f"{name}.json"])
        assert isinstance(abi, list) and all("type" in item for item in abi)
    # interfaces, abstract contracts and libraries cannot be deployed
    for name in ("VaultBase", "IVault", "ERC20", "WadMath", "SafeERC20", "morpho-blue/EventsLib"):
        assert f"{name}.json" not in files


def signatures() -> dict[str, list[dict[str, object]]]:
    return json.loads(rendered()[gen.SIGNATURES])


def test_the_merged_list_holds_the_vault_router_token_and_openzeppelin_errors_with_their_selectors():
    errors = {e["signature"]: e for e in signatures()["errors"]}
    for sig in ("AccountUnhealthy(int256)", "NotGovernor(address)", "StalePrice(uint256,uint32)",
                "NotMinter(address)", "NoRound(uint80)", "ERC20InsufficientBalance(address,uint256,uint256)",
                "ERC20InsufficientAllowance(address,uint256,uint256)", "SafeERC20FailedOperation(address)",
                "SafeCastOverflowedUintDowncast(uint8,uint256)", "ReentrancyGuardReentrantCall()",
                "EnforcedPause()"):
        assert errors[sig]["selector"] == "0x" + keccak(text=sig)[:4].hex(), sig
    # the router's StalePrice reaches a vault caller unchanged: it is listed, though the vault does not declare it
    assert errors["StalePrice(uint256,uint32)"]["in"] == ["OracleRouter"]
    assert "Vault" in errors["SafeERC20FailedOperation(address)"]["in"]
    assert errors["AccountUnhealthy(int256)"]["inputs"] == "int256 healthInit"


def test_the_merged_list_holds_every_event_with_its_topic0_and_morphos_library_events():
    events = {e["signature"]: e for e in signatures()["events"]}
    liquidated = next(s for s in events if s.startswith("Liquidated("))
    assert events[liquidated]["topic0"] == "0x" + keccak(text=liquidated).hex()
    assert "address indexed liquidator" in str(events[liquidated]["inputs"])
    assert any(s.startswith("Transfer(address,address,uint256)") for s in events)
    assert "morpho-blue/EventsLib" in events["Liquidate(bytes32,address,address,uint256,uint256,uint256,uint256,"
                                            "uint256)"]["in"]


def test_every_selector_in_the_list_is_one_signature_so_a_revert_decodes_to_one_name():
    selectors = [e["selector"] for e in signatures()["errors"]]
    assert len(selectors) == len(set(selectors))


def test_one_entry_per_line_so_that_grep_finds_a_selector():
    text = rendered()[gen.SIGNATURES]
    line = next(ln for ln in text.splitlines() if "AccountUnhealthy" in ln)
    assert json.loads(line.strip().rstrip(","))["signature"] == "AccountUnhealthy(int256)"


def test_check_names_the_files_that_differ(tmp_path):
    wanted = rendered()
    gen.write(wanted, tmp_path)
    (tmp_path / "Vault.json").write_text("[]\n")
    (tmp_path / "Gone.json").write_text("[]\n")
    (tmp_path / "SimToken.json").unlink()
    assert gen.differences(wanted, gen.existing(tmp_path)) == ["SimToken.json (missing)", "Gone.json (not built any more)",
                                                               "Vault.json (changed)"]
    gen.write(wanted, tmp_path)
    assert gen.differences(wanted, gen.existing(tmp_path)) == []


def test_cast_decodes_a_revert_with_a_signature_from_the_list():
    entry = next(e for e in signatures()["errors"] if e["signature"] == "StalePrice(uint256,uint32)")
    data = str(entry["selector"]) + (5).to_bytes(32, "big").hex() + (3600).to_bytes(32, "big").hex()
    out = subprocess.run([str(CAST), "decode-error", "--sig", str(entry["signature"]), data], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["5", "3600"]


@pytest.mark.skipif(not FORGE.is_file(), reason="forge is installed by make setup (npm)")
def test_forge_builds_the_repository_offline_with_the_projects_compiler_and_the_same_abis():
    """foundry.toml: offline, solc = tools/solc/solc.js; remappings.txt: the npm libraries. Same ABIs as brownie's.
    forge's own cache (content-keyed) makes a second run a no-op; the first compiles for ~40 s with the npm solc."""
    done = subprocess.run([str(FORGE), "build"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Compiler run successful" in done.stdout or "No files changed" in done.stdout
    files = rendered()
    for name in ("Vault", "OracleRouter", "SimToken"):
        forge_abi = json.loads((ROOT / "build" / "forge" / f"{name}.sol" / f"{name}.json").read_text())["abi"]
        key = lambda item: json.dumps(item, sort_keys=True)  # noqa: E731
        assert sorted(map(key, forge_abi)) == sorted(map(key, json.loads(files[f"{name}.json"])))
