"""Golden timelines: the `timeline.json` of every example and incident scenario, in cross and in isolated margin,
committed under tests/golden/ and compared byte for byte by tests/integration/test_golden.py.

They pin behaviour while the code around them changes. Work that changes behaviour on purpose re-baselines them
in a commit of its own that says why:

    make golden                  # rewrite tests/golden/ from the current code (on Anvil)
    python tools/golden.py --check --chain ganache   # compare without writing

Timelines are byte-identical across chains and mining modes, so the files do not depend on the chain that wrote
them.
"""
from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
MODES = ("cross", "isolated")


def scenario_files() -> list[Path]:
    return sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "scenarios" / "incidents").glob("*.yaml"))


def golden_name(scenario: Path, mode: str) -> str:
    prefix = "incident-" if scenario.parent.name == "incidents" else ""
    return f"{prefix}{scenario.stem}.{mode}.json"


def replay_both(scenario: Path, chain: str, out: Path) -> dict[str, str]:
    """Replay ``scenario`` in both margin modes on a fresh ``chain`` node each; mode → timeline.json text."""
    from marginlab.chain import ChainOptions
    from marginlab.runner import plan_runs, protocol_variants, run_all
    from marginlab.scenario.validate import load_scenario

    scenario_model, doc = load_scenario(scenario)
    specs = plan_runs(protocol_variants(scenario_model, doc, None), out, compare=True)
    run_all(specs, doc, out, ChainOptions(backend=chain), charts=False, progress=False)
    return {spec.mode: (spec.folder / "timeline.json").read_text(encoding="utf-8") for spec in specs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with tests/golden/ instead of writing it")
    parser.add_argument("--chain", default="anvil", choices=("anvil", "ganache", "revm"))
    parser.add_argument("names", nargs="*", help="scenario stems to do (default: all)")
    args = parser.parse_args(argv)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    differ = 0
    files = [s for s in scenario_files() if not args.names or s.stem in args.names]
    for n, scenario in enumerate(files, start=1):
        with tempfile.TemporaryDirectory() as tmp:
            texts = replay_both(scenario, args.chain, Path(tmp))
        for mode, text in texts.items():
            path = GOLDEN / golden_name(scenario, mode)
            if not args.check:
                path.write_text(text, encoding="utf-8")
                continue
            old = path.read_text(encoding="utf-8") if path.is_file() else ""
            if old != text:
                differ += 1
                diff = difflib.unified_diff(old.splitlines(), text.splitlines(), str(path), "replayed", lineterm="", n=1)
                print("\n".join(list(diff)[:40]))
        print(f"golden {n}/{len(files)}: {scenario.relative_to(ROOT)}", file=sys.stderr, flush=True)
    if args.check:
        print(f"{differ} golden timeline(s) differ" if differ else "every golden timeline matches")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
