"""Plan the runs a command asks for, replay each on a fresh chain, and write their reports and comparison tables;
the CLI and scripts/replay.py call this.

A *run* is one (variant, margin mode) pair. A variant is one side of a comparison — a protocol
(``--compare-protocols``), the file without and with a patch (``--ab``), a liquidation policy — or the scenario
as written. ``--compare`` (cross vs isolated) combines with one other comparison: the runs are the cross product.
Each run writes one folder; each comparison writes its own table beside them (``compare.md`` for margins,
``compare-<what>.md`` and ``.json`` for the other). A run a protocol cannot express is a row that says why;
alone, it is a scenario error (exit 2) before any chain work.

Whatever happens, the timeline recorded so far is written: a chain that dies mid-run leaves a report that says
so (status ``chain-died``) next to the steps that did complete. The exit code is the worst of the runs'.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from marginlab import __version__
from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder, TxReverted
from marginlab.errors import ChainDied, ChainError, Issue, ReplayRevert, ScenarioError, UsageError
from marginlab.progress import Progress
from marginlab.protocols.base import Mapping, Protocol
from marginlab.protocols.registry import factory, load_protocol
from marginlab.replaybook import ReplayBook
from marginlab.report.capital import capital_efficiency, render_capital
from marginlab.report.comparisons import VariantRun, write_comparison
from marginlab.report.expect import evaluate, revert_checks
from marginlab.report.html_compare import write_compare_html, write_comparison_html
from marginlab.report.html_strategies import write_strategies_html
from marginlab.report.markdown import render_compare, write_report
from marginlab.report.strategies import render_strategy_section, write_strategy_comparison
from marginlab.scenario.model import Scenario
from marginlab.scenario.plan import Plan, build_plan, compare_plans
from marginlab.scenario.source import SourceDoc
from marginlab.sim.engine import Replay, ReplayOptions
from marginlab.timeline import Timeline

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_CHAIN = 0, 1, 3
ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def marginlab_commit() -> str:
    """The checkout's commit, or "no git" (a timeline names the code that wrote it)."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "no git"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "no git"


@dataclass(frozen=True)
class Variant:
    """One side of a comparison: its name (folder and row), the protocol it runs on, the scenario it replays."""

    name: str
    protocol: str
    scenario: Scenario
    doc: SourceDoc
    #: the strategy kinds this variant's accounts follow (``--compare-strategies``; None: all the file has)
    strategies: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RunSpec:
    """One run to replay: a variant, a margin mode's plan, where its report goes, and how it was mapped."""

    variant: str
    protocol: str
    cls: type[Protocol]
    mode: str
    plan: Plan
    folder: Path
    mapping: Mapping

    @property
    def expressible(self) -> bool:
        return not self.mapping.refusals


@dataclass
class RunResult:
    exit_code: int
    timelines: dict[str, Timeline] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    runs: list[VariantRun] = field(default_factory=list)


def protocol_variants(scenario: Scenario, doc: SourceDoc, protocols: list[str] | None) -> list[Variant]:
    """One variant per protocol (``protocols`` None: the scenario's ``protocol:`` or marginlab)."""
    names = protocols or [scenario.protocol or "marginlab"]
    return [Variant(load_protocol(n, doc.file).name, n, scenario, doc) for n in names]


def policy_variants(base: Variant, policies: list[str]) -> list[Variant]:
    """One variant per liquidation policy: the scenario with ``liquidation.policy`` set to it (the section's other
    parameters as written), on the base variant's protocol."""
    out = []
    for policy in policies:
        section = base.scenario.liquidation.model_copy(update={"policy": policy})
        out.append(Variant(policy, base.protocol, base.scenario.model_copy(update={"liquidation": section}),
                           base.doc))
    return out


def strategy_variants(base: Variant, names: list[str]) -> list[Variant]:
    """One variant per strategy kind (``none``: no strategies), on the base variant's protocol; raises
    :class:`UsageError` for a kind the scenario has no strategy of."""
    have = {s.kind for s in base.scenario.strategies}
    for name in names:
        if name != "none" and name not in have:
            raise UsageError(f"--compare-strategies: {base.doc.file} has no {name} strategy (it has: "
                             f"{', '.join(sorted(have)) or 'none'})")
    return [dataclasses.replace(base, name=name, strategies=() if name == "none" else (name,)) for name in names]


def friction_variants(base: Variant) -> list[Variant]:
    """``--compare-friction``: the scenario as written (``friction``), and without its pools, oracle models,
    keepers and liquidity crunches (``frictionless``: exact oracles and the frictionless keeper)."""
    s = base.scenario
    steps = [step.model_copy(update={"liquidity_crunch": None}) for step in s.steps]
    plain = s.model_copy(update={"pools": [], "oracles": {}, "keepers": [], "steps": steps})
    return [Variant("friction", base.protocol, s, base.doc), Variant("frictionless", base.protocol, plain, base.doc)]


def plan_runs(variants: list[Variant], out: Path, *, compare: bool = False, strict: bool = False) -> list[RunSpec]:
    """Every run of ``variants`` (× both margin modes with ``compare``), mapped; raises :class:`ScenarioError`
    when a lone run cannot be expressed."""
    specs = []
    for variant in variants:
        cls = load_protocol(variant.protocol, variant.doc.file)
        plans = compare_plans(variant.scenario, variant.doc) if compare else \
            {"as-written": build_plan(variant.scenario, variant.doc)}
        for mode, plan in plans.items():
            if variant.strategies is not None:
                plan = dataclasses.replace(plan, strategies=tuple(s for s in plan.strategies
                                                                  if s.kind in variant.strategies))
            folder = out
            if len(variants) > 1:
                folder = folder / _folder_name(variant.name)
            if len(plans) > 1:
                folder = folder / mode
            specs.append(RunSpec(variant.name, cls.name, cls, mode, plan, folder, map_run(cls, plan, strict)))
    if len(specs) == 1 and not specs[0].expressible:
        raise ScenarioError(list(specs[0].mapping.refusals))
    return specs


def map_run(cls: type[Protocol], plan: Plan, strict: bool = False) -> Mapping:
    """The protocol's own mapping, plus a refusal for each governance act it cannot carry out and for a
    ``liquidation:`` section it cannot express."""
    mapping = cls.map_plan(plan, strict=strict)
    extra = []
    liquidation = cls.liquidation_refusal(plan)
    if liquidation is not None:
        extra.append(liquidation)
    keepers = cls.keepers_refusal(plan)
    if keepers is not None:
        extra.append(keepers)
    for step in plan.steps:
        for act in step.governance:
            reason = cls.governance_refusal(act)
            if reason is not None:
                extra.append(Issue(plan.file, act.source.line, str(act.source), f"{cls.name}: {reason}"))
    if not extra:
        return mapping
    return Mapping(mapping.protocol, mapping.decisions, mapping.refusals + tuple(extra))


def _folder_name(protocol: str) -> str:
    return protocol.replace("/", "_").replace(":", "_")


def run_all(specs: list[RunSpec], doc: SourceDoc, out: Path, options: ChainOptions,
            replay_options: ReplayOptions | None = None, *, charts: bool = True, progress: bool = True,
            comparison: str = "protocols") -> RunResult:
    """Replay every expressible run on its own fresh chain; write each report and the comparison tables
    (``comparison``: what the variants differ in, the ``compare-<comparison>.md`` table)."""
    artifacts = Artifacts()
    extra = [abi for cls in dict.fromkeys(s.cls for s in specs) for abi in cls.extra_abis()]
    decoder = RevertDecoder(artifacts.all_abis() + extra)
    result = RunResult(EXIT_OK)
    for spec in specs:
        label = spec.mode if len(specs) == 1 or len({s.variant for s in specs}) == 1 else \
            f"{spec.variant}, {spec.mode}"
        if not spec.expressible:
            result.runs.append(VariantRun(spec.variant, spec.protocol, spec.mode, None, spec.mapping, spec.folder, {}))
            result.messages.append(f"{spec.plan.name} [{label}]: not expressible on {spec.protocol}: "
                                   f"{spec.mapping.refusals[0].reason}"
                                   + (f" (and {len(spec.mapping.refusals) - 1} more)"
                                      if len(spec.mapping.refusals) > 1 else ""))
            continue
        code, timeline, gas = _run_one(spec, label, artifacts, decoder, doc, options, replay_options, charts,
                                       progress, result.messages)
        result.exit_code = max(result.exit_code, code)
        result.timelines[label] = timeline
        result.runs.append(VariantRun(spec.variant, spec.protocol, spec.mode, timeline, spec.mapping, spec.folder,
                                      gas))
    _write_comparisons(specs, result, out, comparison)
    if options.backend == "revm" and options.rpc_url is None and len({s.variant for s in specs}) > 1:
        result.messages.append("gas: not measured on revm (its one open state keeps storage warm across "
                               "transactions), so the comparison has no gas table; --chain anvil measures it")
    return result


def _run_one(spec: RunSpec, label: str, artifacts: Artifacts, decoder: RevertDecoder, doc: SourceDoc,
             options: ChainOptions, replay_options: ReplayOptions | None, charts: bool, progress: bool,
             messages: list[str]) -> tuple[int, Timeline, dict[str, list[int]]]:
    chain = Chain.open(options, decoder)
    # A node we only connected to keeps what the replay deploys, and its clock stays moved: an address book says so.
    book = ReplayBook.start(chain, options.rpc_url) if options.rpc_url else None
    bar = Progress(f"{spec.plan.name} [{label}]", sys.stderr, enabled=progress)
    replay = Replay(spec.plan, chain, artifacts, bar, options=replay_options, protocol=factory(spec.cls))
    failure: str | None = None
    info: dict[str, str] = {}
    book_lines: list[str] = []  # said after the run's own lines
    try:
        replay.run()
    except ChainDied as exc:
        replay.timeline.status, failure = "chain-died", str(exc)
    except ReplayRevert as exc:
        replay.timeline.status, failure = "reverted", str(exc)
    except ChainError as exc:
        replay.timeline.status, failure = "chain-error", str(exc)
    except TxReverted as exc:  # a protocol's own read or sizing call reverted outside any action
        replay.timeline.status, failure = "reverted", f"a read of {spec.protocol} reverted: {exc.reason}"
    finally:
        bar.close()
        info = chain_info(chain, options)
        if book is not None:
            book_lines = book.write(replay, f"marginlab replay {doc.file} ({label})", spec.folder)
        chain.close()
    timeline = replay.timeline
    sections = render_capital(capital_efficiency(spec.plan, spec.protocol)) + render_strategy_section(replay.timeline)
    timeline.provenance = provenance(replay.protocol, spec.mapping)
    # Written only when not the defaults, so the timelines of scenarios without them keep their bytes.
    timeline.liquidation_policy = None if spec.plan.liquidation.is_default else spec.plan.liquidation.describe()
    timeline.keeper_rule = None if spec.plan.keeper.choose == "most-value" else spec.plan.keeper.choose
    write_run_info(info, spec.folder)
    # revm (pyrevm 0.3.7) keeps one EVM state open across transactions, so storage stays warm and its gas is not
    # what a node charges: no gas figure from it is shown (docs/toolchain.md); --chain anvil measures gas.
    gas = {} if options.backend == "revm" and options.rpc_url is None else dict(replay.world.gas)
    if failure is not None:
        timeline.error = failure
        write_report(timeline, spec.folder, charts=charts, extra=sections)
        messages.append(f"error: {failure}")
        messages.append(f"the timeline up to the failure is in {spec.folder}/ "
                        f"({len(timeline.steps)} of {len(spec.plan.steps)} steps)")
        messages.extend(book_lines)
        return EXIT_CHAIN, timeline, gas
    timeline.expectations = evaluate(spec.plan, timeline, spec.protocol) + revert_checks(timeline)
    write_report(timeline, spec.folder, charts=charts, extra=sections)
    failed = [e for e in timeline.expectations if e.failed]
    for e in failed:
        messages.append(f"{doc.file}:{e.line}: expect failed [{label}]: {e.description} (actual {e.actual})")
    counted = [e for e in timeline.expectations if not e.skipped]
    passed = len(counted) - len(failed)
    messages.append(f"{spec.plan.name} [{label}]: {len(timeline.steps)} steps, {len(timeline.liquidations)} "
                    f"liquidations, {passed}/{len(counted)} expectations passed → {spec.folder}/report.md")
    messages.extend(book_lines)
    return (EXIT_EXPECT_FAILED if failed else EXIT_OK), timeline, gas


def provenance(protocol: Protocol, mapping: Mapping) -> dict[str, str]:
    """What produced a timeline, apart from the chain: the same on every chain, so it may live in the timeline."""
    out = {"marginlab": __version__, **protocol.provenance()}
    not_honoured = [f"{d.scope} {d.setting}" for d in mapping.not_honoured]
    out["mapping"] = ("not honoured: " + "; ".join(not_honoured)) if not_honoured else "every setting honoured"
    return out


def chain_info(chain: Chain, options: ChainOptions) -> dict[str, str]:
    """The chain a run used (kept out of the timeline, which is byte-identical on every chain)."""
    info = {"backend": options.backend if options.rpc_url is None else f"node at {options.rpc_url}",
            "mining": options.mining, "marginlab_commit": marginlab_commit()}
    try:
        info["client"] = str(chain.w3.client_version)
        info["chain_id"] = str(chain.chain_id)
        if options.backend == "anvil" and options.rpc_url is None:
            node = chain.w3.provider.make_request("anvil_nodeInfo", [])  # type: ignore[arg-type]
            info["hardfork"] = str(node.get("result", {}).get("hardFork", "unknown"))
        elif options.backend == "ganache" and options.rpc_url is None:
            info["hardfork"] = "istanbul"  # marginlab starts Ganache with --chain.hardfork istanbul
        elif options.backend == "revm" and options.rpc_url is None:
            from marginlab.chain.revm import SPEC_ID
            info["hardfork"] = f"{SPEC_ID.lower()} (pyrevm 0.3.7, in process)"
    except Exception as exc:  # the node may be gone after a failed run: say so, keep the rest
        info["note"] = f"node not reachable after the run ({type(exc).__name__})"
    return info


def write_run_info(info: dict[str, str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _write_comparisons(specs: list[RunSpec], result: RunResult, out: Path, comparison: str) -> None:
    variants = list(dict.fromkeys(s.variant for s in specs))
    modes = list(dict.fromkeys(s.mode for s in specs))
    if len(modes) > 1:
        for variant in variants:
            runs = [r for r in result.runs if r.variant == variant]
            timelines = {r.mode: r.timeline for r in runs if r.timeline is not None}
            refused = {r.mode: r.mapping.refusals[0].reason for r in runs if r.timeline is None}
            if not timelines:
                continue
            folder = out / _folder_name(variant) if len(variants) > 1 else out
            folder.mkdir(parents=True, exist_ok=True)
            spec = next(s for s in specs if s.variant == variant)
            capital = capital_efficiency(spec.plan, spec.protocol)
            (folder / "compare.md").write_text(render_compare(timelines, refused, render_capital(capital)),
                                               encoding="utf-8")
            write_compare_html(timelines, refused, folder, capital)
            result.messages.append(f"comparison → {folder}/compare.md")
    if comparison == "strategies":
        plans = {(s.variant, s.mode): s.plan for s in specs}
        path = write_strategy_comparison(result.runs, plans, out)
        write_strategies_html(result.runs, plans, out)
        result.messages.append(f"strategies comparison → {path}")
    elif len(variants) > 1:
        path = write_comparison(result.runs, out, comparison)
        write_comparison_html(result.runs, out, comparison)
        result.messages.append(f"{comparison} comparison → {path}")
