"""tools/build_peers.py compiles Morpho Blue (from node_modules) and peers/morpho-blue/ with solc 0.8.19 into
artifacts that marginlab.chain.Artifacts loads like brownie's, skips when nothing changed, and fails in one line.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from marginlab.chain import Artifacts

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_peers as bp  # noqa: E402

OURS = ("ChainlinkPairOracle", "KinkedIrm", "MorphoReader", "MorphoKeeper")
EIP170_LIMIT = 24_576


def test_morpho_and_our_peer_contracts_load_through_marginlab_artifacts():
    bp.build(bp.MORPHO_BLUE, log=io.StringIO())  # a no-op after `make compile`
    artifacts = Artifacts(build_dir=ROOT / bp.MORPHO_BLUE.out_dir)
    morpho = artifacts.load("Morpho")
    assert morpho["compiler"] == {"version": "0.8.19+commit.7dd6d404", "evm_version": "istanbul",
                                  "optimizer": {"enabled": True, "runs": 999_999}, "via_ir": False}
    assert (morpho["sourcePath"], morpho["license"], morpho["type"]) == \
        ("node_modules/@morpho-org/morpho-blue/src/Morpho.sol", "BUSL-1.1", "contract")
    assert 0 < len(morpho["deployedBytecode"]) // 2 <= EIP170_LIMIT
    assert artifacts.bytecode("Morpho")
    for name in OURS:
        data = artifacts.load(name)
        assert (data["sourcePath"], data["license"]) == (f"peers/morpho-blue/{name}.sol", "GPL-2.0-or-later")
        assert artifacts.bytecode(name)
    assert artifacts.load("IMorpho")["type"] == "interface"


def test_a_second_build_is_skipped_by_the_stamp():
    bp.build(bp.MORPHO_BLUE, log=io.StringIO())
    log = io.StringIO()
    assert bp.build(bp.MORPHO_BLUE, log=log) is False
    assert log.getvalue() == ""


def test_a_compile_error_is_one_line_naming_the_file_and_the_line(tmp_path):
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    peers = tmp_path / "peers" / "morpho-blue"
    peers.mkdir(parents=True)
    (peers / "Broken.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.19;\n"
                                      "contract Broken { function f() public { uint x = ; } }\n")
    with pytest.raises(bp.BuildError) as failure:
        bp.build(bp.MORPHO_BLUE, root=tmp_path, log=io.StringIO())
    message = str(failure.value)
    assert "\n" not in message
    assert message.startswith("morpho-blue does not compile: peers/morpho-blue/Broken.sol:3:")
    assert "ParserError" in message
    assert not (tmp_path / "build").exists()


def test_optimizer_runs_come_from_a_shipped_foundry_toml_else_999999(tmp_path):
    assert bp.optimizer_runs(tmp_path) == 999_999
    (tmp_path / "foundry.toml").write_text('[profile.default]\nvia_ir = true\noptimizer_runs = 200 # comment\n'
                                           '[profile.test]\noptimizer_runs = 1\n')
    assert bp.optimizer_runs(tmp_path) == 200
