"""marginlab.protocols.build.compile_folder: a user's folder of Solidity, compiled with the project's compiler into
artifacts marginlab.chain.Artifacts loads, once (stamp), with a compile error on one line."""
from __future__ import annotations

import io

import pytest

from marginlab.protocols.build import BuildError, compile_folder

COUNTER = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Step} from "./lib/Step.sol";

contract Counter {
    uint256 public count;

    function bump() external {
        count = Step.next(count);
    }
}
"""
STEP = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

library Step {
    function next(uint256 x) internal pure returns (uint256) {
        return x + 1;
    }
}
"""


@pytest.fixture
def sources(tmp_path):
    folder = tmp_path / "contracts"
    (folder / "lib").mkdir(parents=True)
    (folder / "Counter.sol").write_text(COUNTER)
    (folder / "lib" / "Step.sol").write_text(STEP)
    return folder


def test_a_folder_compiles_into_loadable_artifacts_once(sources, tmp_path):
    out = tmp_path / "build" / "counter"
    log = io.StringIO()
    artifacts = compile_folder(sources, out, log=log)
    counter = artifacts.load("Counter")
    assert counter["compiler"]["version"].startswith("0.8.24+")
    assert (counter["compiler"]["evm_version"], counter["license"], counter["type"]) == ("istanbul", "MIT", "contract")
    assert artifacts.bytecode("Counter") and [f["name"] for f in artifacts.abi("Counter")] == ["bump", "count"]
    assert artifacts.load("Step")["type"] == "library"
    assert "compile: compiling" in log.getvalue()
    again = io.StringIO()
    compile_folder(sources, out, log=again)
    assert again.getvalue() == ""  # the stamp: nothing changed, nothing compiled
    assert not list(sources.rglob("*.json"))


def test_a_compile_error_is_one_line_naming_the_file_and_the_line(sources, tmp_path):
    (sources / "Counter.sol").write_text(COUNTER.replace("Step.next(count)", "Step.next(count"))
    with pytest.raises(BuildError) as failure:
        compile_folder(sources, tmp_path / "out", log=io.StringIO())
    message = str(failure.value)
    assert "\n" not in message
    assert f"{sources / 'Counter.sol'}:10:" in message and "ParserError" in message
    assert failure.value.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_output_inside_the_source_folder_is_refused(sources):
    with pytest.raises(BuildError, match="must not go inside the source folder"):
        compile_folder(sources, sources / "build")
