"""marginlab replay, sweep and deploy compile what they need (marginlab.compiled): a build is stale when a source's
text is not the one an artifact was built from, and then `brownie compile` and tools/build_peers.py run in the
checkout, so `make setup` followed by `marginlab replay FILE` works."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from marginlab import compiled
from marginlab.errors import ChainError

ROOT = Path(__file__).resolve().parents[2]


def checkout(tmp_path: Path, *, built: bool = True) -> Path:
    """A tiny checkout: one contract, one interface, one peer source, and (``built``) artifacts made from them."""
    (tmp_path / "brownie-config.yaml").write_text("compiler: {}\n")
    for rel, text in (("contracts/A.sol", "contract A {}\n"), ("interfaces/IA.sol", "interface IA {}\n"),
                      ("peers/morpho-blue/P.sol", "contract P {}\n")):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / ".toolchain" / "solcx").mkdir(parents=True)
    (tmp_path / "node_modules").mkdir()
    if built:
        sha = lambda rel: hashlib.sha1((tmp_path / rel).read_bytes()).hexdigest()  # noqa: E731
        (tmp_path / "build" / "contracts").mkdir(parents=True)
        (tmp_path / "build" / "interfaces").mkdir(parents=True)
        (tmp_path / "build" / "contracts" / "A.json").write_text(
            json.dumps({"sourcePath": "contracts/A.sol", "sha1": sha("contracts/A.sol")}))
        # brownie's interface artifacts carry no sourcePath
        (tmp_path / "build" / "interfaces" / "IA.json").write_text(json.dumps({"sha1": sha("interfaces/IA.sol")}))
        stamp = tmp_path / "build" / "peers" / "morpho-blue" / ".build-stamp.json"
        stamp.parent.mkdir(parents=True)
        stamp.write_text("{}")
    return tmp_path


@pytest.fixture
def runs(monkeypatch):
    """The commands ensure_build would run, instead of running them."""
    done: list[list[str]] = []
    monkeypatch.setattr(compiled, "_run", lambda cmd, root, what: done.append(cmd))
    monkeypatch.delenv("MARGINLAB_BUILD_DIR", raising=False)
    return done


def test_the_repositorys_own_build_is_current_after_make_compile():
    assert compiled.stale_sources(ROOT) == []
    assert not compiled.peers_stale(ROOT)


def test_a_fresh_build_compiles_nothing(tmp_path, runs):
    root = checkout(tmp_path)
    assert compiled.ensure_build(root) is False
    assert runs == []


def test_a_changed_contract_is_stale_and_brownie_compiles_it(tmp_path, runs, capsys):
    root = checkout(tmp_path)
    (root / "contracts" / "A.sol").write_text("contract A { uint x; }\n")
    assert compiled.stale_sources(root) == ["contracts/A.sol"]
    assert compiled.ensure_build(root) is True
    assert [Path(c[0]).name for c in runs] == ["brownie"] and runs[0][1:] == ["compile"]
    assert capsys.readouterr().err.startswith("marginlab: compiling the contracts (contracts/A.sol changed")


def test_an_interface_change_or_a_new_file_is_stale_too(tmp_path):
    root = checkout(tmp_path)
    (root / "interfaces" / "IA.sol").write_text("interface IA { function f() external; }\n")
    (root / "contracts" / "B.sol").write_text("contract B {}\n")
    assert compiled.stale_sources(root) == ["contracts/B.sol", "interfaces/IA.sol"]


def test_no_build_at_all_compiles_everything_the_replay_needs(tmp_path, runs):
    root = checkout(tmp_path, built=False)
    assert compiled.ensure_build(root) is True
    assert runs[0][1:] == ["compile"] and runs[1][-1].endswith("tools/build_peers.py")


def test_without_the_toolchain_the_message_says_to_run_make_setup(tmp_path, runs):
    root = checkout(tmp_path, built=False)
    (root / "node_modules").rmdir()
    with pytest.raises(ChainError, match=r"run `make setup`"):
        compiled.ensure_build(root)


def test_outside_a_checkout_or_with_an_explicit_build_dir_nothing_is_compiled(tmp_path, runs, monkeypatch):
    assert compiled.ensure_build(tmp_path) is False  # no brownie-config.yaml: an installed package
    root = checkout(tmp_path / "c", built=False) if (tmp_path / "c").mkdir() is None else None
    monkeypatch.setenv("MARGINLAB_BUILD_DIR", str(tmp_path))
    assert compiled.ensure_build(root) is False
    assert runs == []


def test_a_compile_that_fails_is_one_line_with_its_last_words_and_what_to_run(tmp_path):
    with pytest.raises(ChainError) as err:
        compiled._run(["sh", "-c", "echo 'ParserError: Expected ;'; echo; exit 1"], tmp_path, "brownie compile")
    assert str(err.value) == ("brownie compile failed: ParserError: Expected ;; run `make compile` to see the whole "
                              "output")
