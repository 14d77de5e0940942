"""Chain-side failures end the replay with one clear message and the right exit code, never a traceback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from marginlab.chain.backends import find_binary, free_port, start_node
from marginlab.chain import Chain, ChainOptions, RevertDecoder
from marginlab.cli import main
from marginlab.errors import ChainError

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"

SMALL = """\
name: small
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95}, liab_weight: {init: 1, maint: 1}, liquidation_bonus: 0.02}
liquidity:
  - {name: lp, deposits: {USDC: 100000}}
accounts:
  - {name: alice, positions: [{deposit: {WETH: 10}, borrow: {USDC: 5000}}]}
"""


@pytest.fixture
def scenario(tmp_path):
    def write(steps: str = "", expect: str = "") -> str:
        path = tmp_path / "s.yaml"
        path.write_text(SMALL + (f"steps:\n{steps}" if steps else "") + (f"expect:\n{expect}" if expect else ""))
        return str(path)
    return write


@pytest.fixture(autouse=True)
def isolation():
    """Overrides the root conftest's brownie snapshot: these tests start their own node through marginlab,
    so they need neither brownie's chain nor its plugin."""
    yield


def run(*args: str) -> int:
    return main(["replay", *args, "--quiet", "--no-charts"])


def test_an_unexpected_revert_names_step_account_call_and_decoded_error(scenario, tmp_path, capsys):
    path = scenario(steps="  - {action: {account: alice, repay: {WETH: 1}}}\n")
    assert run(path, "--chain", CHAIN, "--out", str(tmp_path / "o")) == 3
    err = capsys.readouterr().err
    assert "error: step 0: alice: repay(1 WETH, sub 0) reverted: NoDebt(WETH)" in err
    assert "Traceback" not in err
    assert (tmp_path / "o" / "timeline.json").exists()


def test_a_borrow_beyond_initial_margin_is_decoded_with_its_arguments(scenario, tmp_path, capsys):
    path = scenario(steps="  - {action: {account: alice, borrow: {USDC: 20000}}}\n")
    assert run(path, "--chain", CHAIN, "--out", str(tmp_path / "o")) == 3
    assert "reverted: AccountUnhealthy(-" in capsys.readouterr().err


def test_a_failed_expectation_exits_1_and_names_its_line(scenario, tmp_path, capsys):
    path = scenario(expect="  - {account: alice, liquidations: 1}\n")
    assert run(path, "--chain", CHAIN, "--out", str(tmp_path / "o")) == 1
    assert f"{path}:10: expect failed [as-written]: alice: liquidations == 1 (actual 0)" in capsys.readouterr().err


def test_an_expected_revert_that_does_not_happen_fails(scenario, tmp_path, capsys):
    path = scenario(steps="  - {action: {account: alice, borrow: {USDC: 1}, expect_revert: StalePrice}}\n")
    assert run(path, "--chain", CHAIN, "--out", str(tmp_path / "o")) == 1
    assert "reverts with StalePrice (actual no revert)" in capsys.readouterr().err


def test_may_revert_accepts_success_or_that_revert_and_records_which(scenario, tmp_path, capsys):
    """may_revert (a boundary action the printed stateful-machine scenarios carry): success and the named revert
    both pass and the timeline says which happened; any other revert is still unexpected (exit 3)."""
    import json
    path = scenario(steps="  - {action: {account: alice, borrow: {USDC: 1}, may_revert: AccountUnhealthy}}\n"
                          "  - {action: {account: alice, borrow: {USDC: 20000}, may_revert: AccountUnhealthy}}\n")
    assert run(path, "--chain", CHAIN, "--out", str(tmp_path / "o")) == 0
    steps = json.loads((tmp_path / "o" / "timeline.json").read_text())["steps"]
    acts = [a for st in steps for a in st["actions"] if a.get("may_revert")]
    assert [(a["ok"], (a["revert"] or "").split("(")[0]) for a in acts] == [(True, ""), (False, "AccountUnhealthy")]
    assert "⟂ AccountUnhealthy(" in (tmp_path / "o" / "report.md").read_text()
    other = scenario(steps="  - {action: {account: alice, repay: {WETH: 1}, may_revert: AccountUnhealthy}}\n")
    assert run(other, "--chain", CHAIN, "--out", str(tmp_path / "p")) == 3
    assert "reverted: NoDebt(WETH)" in capsys.readouterr().err


def test_no_node_at_the_url_is_a_chain_failure_that_says_how_to_start_one(scenario, tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    assert run(scenario(), "--rpc-url", url, "--out", str(tmp_path / "o")) == 3
    err = capsys.readouterr().err
    assert f"error: no node answers at {url}" in err and "start one" in err
    assert not (tmp_path / "o").exists()


def test_a_chain_id_that_is_not_a_local_dev_chain_is_refused_unless_allowed(scenario, tmp_path, capsys):
    port = free_port()
    proc = subprocess.Popen([find_binary("anvil"), "--port", str(port), "--chain-id", "5",
                             "--block-base-fee-per-gas", "0", "--silent"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(url)
        assert run(scenario(), "--rpc-url", url, "--out", str(tmp_path / "o")) == 3
        assert "chain id 5" in capsys.readouterr().err
        assert run(scenario(), "--rpc-url", url, "--allow-remote-chain", "--out", str(tmp_path / "o")) == 0
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_missing_node_binary_says_how_to_install_it(scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MARGINLAB_NODE_BIN", str(tmp_path))
    assert run(scenario(), "--chain", "anvil", "--out", str(tmp_path / "o")) == 3
    assert "anvil not found in MARGINLAB_NODE_BIN" in capsys.readouterr().err


def test_missing_compiled_contracts_say_to_compile(scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MARGINLAB_BUILD_DIR", str(tmp_path))
    assert run(scenario(), "--chain", CHAIN, "--out", str(tmp_path / "o")) == 3
    assert "run `make compile`" in capsys.readouterr().err


def test_a_port_in_use_is_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        with pytest.raises(ChainError, match=r"port \d+ is already in use"):
            start_node(CHAIN, port=s.getsockname()[1])


def test_an_rpc_that_never_answers_times_out_below_30_seconds():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        accepted = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(ChainError, match="timed out"):
            Chain.open(ChainOptions(rpc_url=url, request_timeout=1.0), RevertDecoder([]))


def test_the_command_line_reports_chain_failures_without_a_traceback(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SMALL)
    proc = subprocess.run([sys.executable, "-m", "marginlab", "replay", str(path), "--rpc-url",
                           f"http://127.0.0.1:{free_port()}", "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: no node answers at")


@pytest.fixture(scope="module")
def shanghai_build(tmp_path_factory) -> Path:
    """build/contracts with SimBatcher — the first contract a replay deploys — recompiled for evm_version
    shanghai by the project's own compiler: its bytecode uses PUSH0, which istanbul does not have."""
    import json
    import shutil

    import solcx

    from marginlab.chain import find_build_dir

    folder = tmp_path_factory.mktemp("shanghai") / "contracts"
    shutil.copytree(find_build_dir(), folder)
    source = "contracts/sim/SimBatcher.sol"
    standard = {"language": "Solidity", "sources": {source: {"urls": [str(ROOT / source)]}},
                "settings": {"evmVersion": "shanghai", "optimizer": {"enabled": True, "runs": 200},
                             "remappings": ["@openzeppelin/=node_modules/@openzeppelin/",
                                            "@chainlink/=node_modules/@chainlink/"],
                             "outputSelection": {source: {"SimBatcher": ["evm.bytecode"]}}}}
    out = solcx.compile_standard(standard, allow_paths=[str(ROOT)], base_path=str(ROOT), solc_version="0.8.24")
    bytecode = out["contracts"][source]["SimBatcher"]["evm"]["bytecode"]
    artifact = json.loads((folder / "SimBatcher.json").read_text())
    # PUSH0 throughout the shanghai code; at most a stray one in the istanbul build, where a 0x5f byte of the
    # metadata trailer disassembles as PUSH0 but never runs.
    assert bytecode["opcodes"].split().count("PUSH0") >= 50
    assert artifact["opcodes"].split().count("PUSH0") <= 2
    artifact["bytecode"], artifact["compiler"]["evm_version"] = bytecode["object"], "shanghai"
    (folder / "SimBatcher.json").write_text(json.dumps(artifact))
    return folder


@pytest.mark.parametrize("node", ["ganache", "anvil-istanbul"])
def test_contracts_compiled_for_a_newer_evm_than_the_node_fail_with_the_artifact_and_the_fix(
        node, shanghai_build, scenario, tmp_path, capsys, monkeypatch):
    """Ganache runs istanbul here (backends.node_command); Anvil is started with --hardfork istanbul."""
    monkeypatch.setenv("MARGINLAB_BUILD_DIR", str(shanghai_build))
    out = tmp_path / "o"
    if node == "ganache":
        code = run(scenario(), "--chain", "ganache", "--out", str(out))
    else:
        port = free_port()
        proc = subprocess.Popen([find_binary("anvil"), "--port", str(port), "--hardfork", "istanbul",
                                 "--block-base-fee-per-gas", "0", "--silent"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            _wait_for(f"http://127.0.0.1:{port}")
            code = run(scenario(), "--rpc-url", f"http://127.0.0.1:{port}", "--out", str(out))
        finally:
            proc.terminate()
            proc.wait(10)
    err = capsys.readouterr().err
    assert code == 3
    assert "Traceback" not in err
    first, second = err.splitlines()[:2]
    assert first.startswith(f"error: {shanghai_build / 'SimBatcher.json'}: compiler.evm_version: SimBatcher was "
                            f"compiled for 'shanghai' and hit an invalid opcode deploying on ")
    assert "set compiler.evm_version: istanbul in brownie-config.yaml and run `make compile`" in first
    assert second == f"the timeline up to the failure is in {out}/ (0 of 0 steps)"
    import json
    assert json.loads((out / "timeline.json").read_text())["status"] == "chain-error"


def _wait_for(url: str) -> None:
    import time

    import requests
    for _ in range(100):
        try:
            requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")
