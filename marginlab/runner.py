"""Run one or more plans on fresh chains and write their reports; the CLI and scripts/replay.py call this.

Whatever happens, the timeline recorded so far is written: a chain that dies mid-run leaves a report that says
so (status ``chain-died``) next to the steps that did complete.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.sim.engine import Replay, ReplayOptions
from marginlab.errors import ChainDied, ChainError, ReplayRevert
from marginlab.report.expect import evaluate, revert_checks
from marginlab.scenario.plan import Plan
from marginlab.progress import Progress
from marginlab.report.markdown import render_compare, write_report
from marginlab.timeline import Timeline
from marginlab.scenario.source import SourceDoc

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_CHAIN = 0, 1, 3


@dataclass
class RunResult:
    exit_code: int
    timelines: dict[str, Timeline] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def run_plans(plans: dict[str, Plan], doc: SourceDoc, out: Path, options: ChainOptions,
              replay_options: ReplayOptions | None = None, *, charts: bool = True, progress: bool = True) -> RunResult:
    artifacts = Artifacts()
    decoder = RevertDecoder(artifacts.all_abis())
    result = RunResult(EXIT_OK)
    for mode, plan in plans.items():
        folder = out if len(plans) == 1 else out / mode
        chain = Chain.open(options, decoder)
        bar = Progress(f"{plan.name} [{mode}]", sys.stderr, enabled=progress)
        replay = Replay(plan, chain, artifacts, bar, options=replay_options)
        failure: str | None = None
        try:
            replay.run()
        except ChainDied as exc:
            replay.timeline.status, failure = "chain-died", str(exc)
        except ReplayRevert as exc:
            replay.timeline.status, failure = "reverted", str(exc)
        except ChainError as exc:
            replay.timeline.status, failure = "chain-error", str(exc)
        finally:
            bar.close()
            chain.close()
        timeline = replay.timeline
        result.timelines[mode] = timeline
        if failure is not None:
            timeline.error = failure
            write_report(timeline, folder, charts=charts)
            result.messages.append(f"error: {failure}")
            result.messages.append(f"the timeline up to the failure is in {folder}/ "
                                   f"({len(timeline.steps)} of {len(plan.steps)} steps)")
            result.exit_code = EXIT_CHAIN
            return result
        timeline.expectations = evaluate(plan, timeline) + revert_checks(timeline, doc.line_of)
        write_report(timeline, folder, charts=charts)
        failed = [e for e in timeline.expectations if not e.passed]
        for e in failed:
            result.messages.append(f"{doc.file}:{e.line}: expect failed [{mode}]: {e.description} (actual {e.actual})")
        if failed:
            result.exit_code = EXIT_EXPECT_FAILED
        passed = len(timeline.expectations) - len(failed)
        result.messages.append(f"{plan.name} [{mode}]: {len(timeline.steps)} steps, "
                               f"{len(timeline.liquidations)} liquidations, {passed}/{len(timeline.expectations)} "
                               f"expectations passed → {folder}/report.md")
    if len(plans) > 1:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.md").write_text(render_compare(result.timelines), encoding="utf-8")
        result.messages.append(f"comparison → {out}/compare.md")
    return result
