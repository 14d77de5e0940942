"""Command line: ``marginlab check FILE``, ``marginlab replay FILE [--compare] ...``, ``marginlab sweep FILE ...`` and
``marginlab deploy [--rpc-url URL]``.

Exit codes: 0 ok, 1 an ``expect:`` failed, 2 bad input (the scenario), 3 chain failure or an unexpected
revert. Expected errors print one clear message and no traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from marginlab.compiled import ensure_build
from marginlab.errors import MarginlabError, ScenarioError, UsageError, one_line
from marginlab.node import DEFAULT_RPC_URL

if TYPE_CHECKING:
    from marginlab.scenario.model import Scenario
    from marginlab.scenario.source import SourceDoc

EXIT_OK = 0
EXIT_EXPECT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CHAIN = 3
DEFAULT_OUT = Path("out")
DEFAULT_MARKETS = Path("deployments/markets.yaml")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="marginlab", description="Replay lending-protocol scenarios on a local chain.")
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a scenario file without touching a chain")
    check.add_argument("file", type=Path)
    check.add_argument("--protocol", default=None, metavar="NAME|FILE.py:CLASS",
                       help="also check that the protocol can express the file (both margin modes; no chain)")
    check.add_argument("--strict", action="store_true",
                       help="with --protocol: a setting the protocol would not honour is a refusal too")
    replay = sub.add_parser("replay", help="replay a scenario on a fresh protocol and write a report")
    replay.add_argument("file", type=Path)
    replay.add_argument("--compare", action="store_true",
                        help="replay under margin: cross and margin: isolated for every account, side by side")
    replay.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default: {DEFAULT_OUT}/<scenario name>)")
    replay.add_argument("--chain", choices=("ganache", "anvil", "revm"), default="ganache",
                        help="local node to start (default: ganache), or revm: an EVM in this process, no node")
    replay.add_argument("--rpc-url", default=None, help="use an already running node instead of starting one")
    replay.add_argument("--allow-remote-chain", action="store_true",
                        help="accept a chain id other than the local dev chains 1337 and 31337")
    replay.add_argument("--mining", choices=("auto", "per-step"), default="auto",
                        help="auto (default): the node mines each transaction as it arrives; per-step: automine off, "
                             "one evm_mine per step for all of its transactions (same timeline)")
    replay.add_argument("--reads", choices=("chain", "mirror"), default="chain",
                        help="chain (default): the vault values every sub-account each keeper round; mirror: the "
                             "vault's formulas in Python on balances read only when they change, checked against "
                             "the vault every few steps and at the end (same timeline, far fewer node cycles)")
    replay.add_argument("--protocol", default=None, metavar="NAME|FILE.py:CLASS",
                        help="the protocol to replay on: marginlab (default, or the scenario's protocol:), "
                             "morpho-blue, or your own adapter class in a Python file")
    replay.add_argument("--compare-protocols", default=None, metavar="A,B[,C]",
                        help="replay on each protocol and write compare-protocols.md/.json (with --compare: every "
                             "protocol in both margin modes)")
    replay.add_argument("--ab", default=None, type=Path, metavar="PATCH.yaml",
                        help="replay the file without and with a patch (governance steps, overridden settings) and "
                             "write compare-ab.md side by side (format: docs/patches.md)")
    replay.add_argument("--compare-policies", default=None, metavar="P1,P2[,P3]",
                        help="replay under each liquidation policy (close-factor, fixed-incentive, dutch, absorb) and "
                             "write compare-policies.md/.json (with --compare: every policy in both margin modes)")
    replay.add_argument("--compare-strategies", default=None, metavar="none,K1[,K2]",
                        help="replay with no strategies (none) and with each kind of the file's strategies alone "
                             "(stop_loss, take_profit, top_up, deleverage) and write compare-strategies.md/.json "
                             "(with --compare: every one in both margin modes)")
    replay.add_argument("--compare-friction", action="store_true",
                        help="replay the file as written and with exact oracles and the frictionless keeper (no "
                             "pools, oracle models or keepers); write compare-friction.md/.json")
    replay.add_argument("--strict", action="store_true",
                        help="refuse a scenario setting a protocol does not honour, instead of listing it")
    replay.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    replay.add_argument("--quiet", action="store_true", help="no progress output")
    sweep = sub.add_parser("sweep", help="replay one scenario over many seeds (and parameter values) and report "
                                         "the distributions")
    sweep.add_argument("file", type=Path)
    sweep.add_argument("--seeds", type=int, default=10, help="replays per parameter combination (default 10)")
    sweep.add_argument("--set", action="append", default=[], metavar="PATH=V1,V2",
                       help="scenario field (dotted path, e.g. markets.0.liquidation_bonus) and values to sweep")
    sweep.add_argument("--workers", type=int, default=1, help="parallel replays (default 1)")
    sweep.add_argument("--engine", choices=("local", "dask"), default="local",
                       help="local process pool, or Dask distributed (LocalCluster unless --scheduler)")
    sweep.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    sweep.add_argument("--chain", choices=("ganache", "anvil", "revm"), default="anvil",
                       help="the chain of every replay (default anvil). revm, and anvil with --engine local: each "
                            "worker sets up once and rolls back to a snapshot for every replay")
    sweep.add_argument("--mining", choices=("auto", "per-step"), default="auto",
                       help="mining mode of every replay's node (see replay --mining)")
    sweep.add_argument("--reads", choices=("chain", "mirror"), default="chain",
                       help="how every replay reads account states (see replay --reads)")
    sweep.add_argument("--protocol", default="marginlab", metavar="NAME|FILE.py:CLASS",
                       help="the protocol every replay runs on (default marginlab)")
    sweep.add_argument("--out", type=Path, default=None, help=f"output folder (default: {DEFAULT_OUT}/sweep-<name>)")
    # risk analytics (marginlab/cli_risk.py): calibrate, recommend, replay --attribution
    from marginlab import cli_risk
    cli_risk.add_parsers(sub)
    cli_risk.add_replay_options(replay)
    deploy = sub.add_parser("deploy", help="deploy the protocol on a running local node and write an address book")
    deploy.add_argument("--rpc-url", default=DEFAULT_RPC_URL,
                        help=f"the node (default {DEFAULT_RPC_URL}, where `make chain` starts one)")
    deploy.add_argument("--markets", type=Path, default=DEFAULT_MARKETS,
                        help=f"markets file, a scenario's markets: fields (default {DEFAULT_MARKETS})")
    deploy.add_argument("--out", type=Path, default=None,
                        help="address book to write (default deployments/<client>-<chain id>.json)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.file, args.protocol, args.strict)
        from marginlab import cli_risk
        if args.command in cli_risk.COMMANDS:
            return cli_risk.run(args)
        if args.command == "deploy":
            from marginlab.deploy import main_deploy
            for line in main_deploy(args.rpc_url, args.markets, args.out):
                print(one_line(line))
            return EXIT_OK
        if args.command == "sweep":
            from marginlab.sweep import main_sweep
            ensure_build()
            out = args.out if args.out is not None else DEFAULT_OUT / f"sweep-{args.file.stem}"
            return main_sweep(args.file, args.seeds, args.set, args.workers, args.engine, out, args.scheduler,
                              args.mining, args.reads, args.protocol, backend=args.chain)
        return _replay(args)
    except ScenarioError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print(f"{len(exc.issues)} problem(s) in the scenario; nothing was run.", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MarginlabError as exc:
        print(one_line(f"error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _check(file: Path, protocol: str | None = None, strict: bool = False) -> int:
    from marginlab.scenario.plan import MODES, build_plan
    from marginlab.scenario.validate import load_scenario

    scenario, doc = load_scenario(file)
    plans = [build_plan(scenario, doc, mode) for mode in MODES]  # paths and price rounding fail here too
    plan = plans[0]
    modes = _check_protocol(file, scenario, doc, protocol, strict) if protocol is not None else []
    subs = sum(len(a.sub_ids) for a in plan.accounts)
    print(f"{file}: ok — {len(scenario.markets)} markets, {len(plan.accounts)} accounts ({subs} sub-accounts), "
          f"{len(plan.liquidity)} liquidity providers, {len(plan.steps)} steps, {len(scenario.expect)} expectations")
    for line in modes:
        print(one_line(line))
    return EXIT_OK


def _check_protocol(file: Path, scenario: Scenario, doc: SourceDoc, protocol: str, strict: bool) -> list[str]:
    """The file as written on ``protocol``: its refusals are the scenario's problems (exit 2, one line each, as
    ``replay`` would give them, before anything else is said); otherwise a line per margin mode saying how many
    settings are not honoured there."""
    from marginlab.protocols.registry import load_protocol
    from marginlab.runner import map_run
    from marginlab.scenario.plan import build_plan, compare_plans

    cls = load_protocol(protocol, doc.file)
    written = map_run(cls, build_plan(scenario, doc), strict)
    if written.refusals:
        raise ScenarioError(list(written.refusals))
    lines = []
    for mode, plan in compare_plans(scenario, doc).items():
        mapping = map_run(cls, plan, strict)
        if mapping.refusals:
            lines.append(f"{file}: {mode} margin: not expressible on {cls.name}: {mapping.refusals[0].reason}")
        else:
            lines.append(f"{file}: {mode} margin: expressible on {cls.name}, {len(mapping.not_honoured)} setting(s) "
                         f"not honoured (replay --compare-protocols lists them)")
    return lines


def _replay(args: argparse.Namespace) -> int:
    from marginlab.chain import ChainOptions
    from marginlab.runner import plan_runs, protocol_variants, run_all
    from marginlab.scenario.validate import load_scenario
    from marginlab.sim.engine import ReplayOptions

    if args.protocol is not None and args.compare_protocols is not None:
        raise UsageError("give --protocol or --compare-protocols, not both")
    protocols = [args.protocol] if args.protocol is not None else None
    if args.compare_protocols is not None:
        protocols = [p.strip() for p in args.compare_protocols.split(",") if p.strip()]
        if len(protocols) < 2 or len(set(protocols)) != len(protocols):
            raise UsageError(f"--compare-protocols needs two or more different protocols, got {args.compare_protocols}")
    if args.ab is not None and protocols is not None and len(protocols) > 1:
        raise UsageError("--ab combines with --compare, not with --compare-protocols (one comparison at a time)")
    policies: list[str] | None = None
    if args.compare_policies is not None:
        from marginlab.scenario.sections import LIQUIDATION_POLICIES

        policies = [p.strip() for p in args.compare_policies.split(",") if p.strip()]
        unknown = [p for p in policies if p not in LIQUIDATION_POLICIES]
        if unknown:
            raise UsageError(f"--compare-policies: unknown policy {unknown[0]}: choose from "
                             f"{', '.join(LIQUIDATION_POLICIES)}")
        if len(policies) < 2 or len(set(policies)) != len(policies):
            raise UsageError(f"--compare-policies needs two or more different policies, got {args.compare_policies}")
        if args.ab is not None or (protocols is not None and len(protocols) > 1):
            raise UsageError("--compare-policies combines with --compare, not with --ab or --compare-protocols "
                             "(one comparison at a time)")
    strategies = _strategy_names(args, protocols, policies)
    if args.compare_friction and (args.ab is not None or policies is not None or strategies is not None
                                  or (protocols is not None and len(protocols) > 1)):
        raise UsageError("--compare-friction combines with --compare, not with --ab, --compare-policies, "
                         "--compare-strategies or --compare-protocols (one comparison at a time)")
    scenario, doc = load_scenario(args.file)
    if args.compare_friction and not (scenario.pools or scenario.oracles or scenario.keepers):
        raise UsageError(f"--compare-friction: {args.file} has no pools:, oracles: or keepers: to compare without")
    ensure_build()
    out = args.out if args.out is not None else DEFAULT_OUT / scenario.name
    # Every input error (paths, price rounding, what a protocol cannot express) surfaces here, before chain work.
    variants = protocol_variants(scenario, doc, protocols)
    comparison = "protocols"
    if args.ab is not None:
        from marginlab.runner import Variant
        from marginlab.scenario.patch import apply_patch, load_patch, patch_name

        patch, patch_doc = load_patch(args.ab)
        patched, patched_doc = apply_patch(doc, patch, patch_doc)
        base = variants[0]
        variants = [Variant("without", base.protocol, scenario, doc),
                    Variant(f"with-{patch_name(patch, args.ab)}", base.protocol, patched, patched_doc)]
        comparison = "ab"
    if policies is not None:
        from marginlab.runner import policy_variants

        variants = policy_variants(variants[0], policies)
        comparison = "policies"
    if strategies is not None:
        from marginlab.runner import strategy_variants

        variants = strategy_variants(variants[0], strategies)
        comparison = "strategies"
    if args.compare_friction:
        from marginlab.runner import friction_variants

        variants = friction_variants(variants[0])
        comparison = "friction"
    specs = plan_runs(variants, out, compare=args.compare, strict=args.strict)
    options = ChainOptions(backend=args.chain, rpc_url=args.rpc_url, allow_remote=args.allow_remote_chain,
                           mining=args.mining)
    # A protocol comparison measures the gas of each operation from its own receipt (no batching); a policy
    # comparison runs on one protocol and keeps the batched rounds (faster; its table is about outcomes).
    per_op_gas = len({s.variant for s in specs}) > 1 and comparison not in ("policies", "strategies")
    replay_options = ReplayOptions(reads=args.reads, per_op_gas=per_op_gas,
                                   attribution=args.attribution)
    result = run_all(specs, doc, out, options, replay_options, charts=not args.no_charts, progress=not args.quiet,
                     comparison=comparison)
    for line in result.messages:
        print(one_line(line), file=sys.stderr)
    return result.exit_code


def _strategy_names(args: argparse.Namespace, protocols: list[str] | None, policies: list[str] | None) -> \
        list[str] | None:
    """``--compare-strategies``: two or more different names, each ``none`` or a strategy kind."""
    if args.compare_strategies is None:
        return None
    from marginlab.scenario.strategies import KINDS

    names = [n.strip() for n in args.compare_strategies.split(",") if n.strip()]
    unknown = [n for n in names if n != "none" and n not in KINDS]
    if unknown:
        raise UsageError(f"--compare-strategies: unknown strategy {unknown[0]}: choose from none, {', '.join(KINDS)}")
    if len(names) < 2 or len(set(names)) != len(names):
        raise UsageError(f"--compare-strategies needs two or more different names, got {args.compare_strategies}")
    if args.ab is not None or policies is not None or (protocols is not None and len(protocols) > 1):
        raise UsageError("--compare-strategies combines with --compare, not with --ab, --compare-policies or "
                         "--compare-protocols (one comparison at a time)")
    return names


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
