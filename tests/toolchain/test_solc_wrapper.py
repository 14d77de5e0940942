"""The npm compiler wrapper must behave like native solc for py-solc-x and brownie.

These tests call the wrapper that `make setup` provisioned (tools/provision_solc.py); when a native solc was
provisioned instead, the wrapper is still tested directly through tools/solc/solc.js.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "tools" / "solc" / "solc.js"
VERSION = str(yaml.safe_load((ROOT / "brownie-config.yaml").read_text())["compiler"]["solc"]["version"])

GOOD = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.24;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
contract Good is ERC20 { constructor() ERC20("Good", "G") { _mint(msg.sender, 1); } }
"""
BROKEN = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.24;
contract Broken { function f() public { uint x = ; } }
"""


def _input(source: str) -> dict:
    return {
        "language": "Solidity",
        "sources": {"contracts/X.sol": {"content": source}},
        "settings": {
            "evmVersion": "istanbul",
            "optimizer": {"enabled": True, "runs": 200},
            "remappings": ["@openzeppelin=node_modules/@openzeppelin"],
            "outputSelection": {"*": {"*": ["evm.bytecode.object"]}},
        },
    }


def _run_wrapper(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", str(WRAPPER), *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def _compile_in_node(payload: dict) -> dict:
    """Reference: solc.compile() called in Node directly, with a plain file-reading import callback."""
    script = (
        "const fs=require('fs');const solc=require('./node_modules/solc');"
        "const input=fs.readFileSync(0,'utf8');"
        "const out=solc.compile(input,{import:(p)=>{try{return {contents:fs.readFileSync(p,'utf8')}}"
        "catch(e){return {error:'not found'}}}});fs.writeSync(1,out);"
    )
    done = subprocess.run(
        ["node", "-e", script], input=json.dumps(payload), capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    return json.loads(done.stdout)


def test_wrapper_answers_version_like_native_solc():
    done = _run_wrapper("--version")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[-1].startswith(f"Version: {VERSION}+commit.")


def test_good_contract_compiles_to_the_same_bytecode_as_solc_compile_in_node():
    payload = _input(GOOD)
    done = _run_wrapper("--standard-json", "--allow-paths", str(ROOT), stdin=json.dumps(payload))
    assert done.returncode == 0, done.stderr
    ours = json.loads(done.stdout)  # pure JSON: no SMT notice or other text before it
    assert not [e for e in ours.get("errors", []) if e["severity"] == "error"]
    reference = _compile_in_node(payload)
    bytecode = ours["contracts"]["contracts/X.sol"]["Good"]["evm"]["bytecode"]["object"]
    assert len(bytecode) > 1000
    assert bytecode == reference["contracts"]["contracts/X.sol"]["Good"]["evm"]["bytecode"]["object"]


def test_broken_contract_yields_solc_error_message_inside_json():
    done = _run_wrapper("--standard-json", stdin=json.dumps(_input(BROKEN)))
    assert done.returncode == 0
    errors = json.loads(done.stdout)["errors"]
    assert errors[0]["severity"] == "error"
    assert errors[0]["type"] == "ParserError"
    assert "Expected primary expression" in errors[0]["message"]


def test_missing_import_is_reported_as_a_compile_error_not_a_callback_failure():
    source = GOOD.replace("token/ERC20/ERC20.sol", "token/ERC20/Nope.sol")
    errors = json.loads(_run_wrapper("--standard-json", stdin=json.dumps(_input(source))).stdout)["errors"]
    assert "File not found" in errors[0]["message"]
    assert "callback not supported" not in errors[0]["message"]


def test_large_output_is_not_truncated_at_64_kib():
    payload = _input(GOOD)
    payload["settings"]["outputSelection"] = {"*": {"*": ["*"], "": ["ast"]}}
    done = _run_wrapper("--standard-json", stdin=json.dumps(payload))
    assert len(done.stdout) > 65536
    json.loads(done.stdout)


def test_unknown_option_fails_with_a_clear_message():
    done = _run_wrapper("--frobnicate")
    assert done.returncode == 1
    assert "unsupported option --frobnicate" in done.stderr


@pytest.mark.parametrize("name", ["solc-v" + VERSION])
def test_provisioned_compiler_is_where_py_solc_x_looks(name):
    import solcx

    installed = [str(v) for v in solcx.get_installed_solc_versions()]
    assert VERSION in installed, f"run `make setup`: {name} missing from {solcx.get_solcx_install_folder()}"
