"""The risk-analytics commands, kept apart from :mod:`marginlab.cli` (which only registers them):

- ``marginlab calibrate FILE.csv``: fit the ``correlated:`` section to a price history and print it;
- ``marginlab recommend FILE --vary PATH=LOW..HIGH --budget "var95 <= 10000"``: the most capital-efficient
  setting within a risk budget, and the frontier;
- ``marginlab replay … --attribution``: record each position's legs, so the report attributes every liquidation
  of a cross sub-account to the positions that drained it.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

COMMANDS = ("calibrate", "recommend")
DEFAULT_OUT = Path("out")


def add_parsers(sub: Any) -> None:
    """Register ``calibrate`` and ``recommend`` on the CLI's subparsers."""
    from marginlab.calibrate import DEFAULT_HORIZON, DEFAULT_THRESHOLD

    cal = sub.add_parser("calibrate", help="fit the correlated: path section to a CSV of prices and print it")
    cal.add_argument("file", type=Path, help="CSV: a timestamp column and one price column per asset")
    cal.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                     help=f"a return beyond this many robust standard deviations is a jump (default "
                          f"{DEFAULT_THRESHOLD:g})")
    cal.add_argument("--horizon", type=int, default=DEFAULT_HORIZON,
                     help=f"seconds: the section's length and the drawdown window (default {DEFAULT_HORIZON})")

    rec = sub.add_parser("recommend", help="search a parameter range for the most capital-efficient setting within "
                                           "a risk budget; draw the frontier")
    rec.add_argument("file", type=Path)
    rec.add_argument("--vary", required=True, metavar="PATH=LOW..HIGH",
                     help="scenario field (sweep --set's dotted path, e.g. markets.0.asset_weight.maint) and range; "
                          "a maintenance weight moves its initial weight with it")
    rec.add_argument("--budget", action="append", required=True, metavar='"METRIC OP VALUE"',
                     help="risk limit every recommended setting must meet: var95, es99, lar95 or bpu95 with <= or "
                          "<, e.g. \"var95 <= 10000\" (repeat for several)")
    rec.add_argument("--conservative", action="store_true",
                     help="a budget must hold for the upper end of the figure's 95 %% bootstrap interval, not only "
                          "for its estimate")
    rec.add_argument("--points", type=int, default=5, help="evenly spaced settings tried first (default 5)")
    rec.add_argument("--refine", type=int, default=2,
                     help="bisection rounds between the best setting within budget and the next one beyond it "
                          "(default 2)")
    rec.add_argument("--seeds", type=int, default=20, help="price paths per setting (default 20)")
    rec.add_argument("--workers", type=int, default=1, help="parallel replays (default 1)")
    rec.add_argument("--engine", choices=("local", "dask"), default="local",
                     help="local process pool, or Dask distributed (LocalCluster unless --scheduler)")
    rec.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    rec.add_argument("--reads", choices=("chain", "mirror"), default="chain",
                     help="how every replay reads account states (see replay --reads)")
    rec.add_argument("--protocol", default="marginlab", metavar="NAME|FILE.py:CLASS",
                     help="the protocol every replay runs on (default marginlab)")
    rec.add_argument("--out", type=Path, default=None,
                     help=f"output folder (default: {DEFAULT_OUT}/recommend-<name>)")


def add_replay_options(replay: argparse.ArgumentParser) -> None:
    replay.add_argument("--attribution", action="store_true",
                        help="record each position's legs in the timeline; the report then attributes every "
                             "liquidation of a cross sub-account to the positions whose value change drained it")


def run(args: argparse.Namespace) -> int:
    if args.command == "calibrate":
        from marginlab.calibrate import main_calibrate
        return main_calibrate(args.file, args.threshold, args.horizon)
    from marginlab.recommend import main_recommend
    out = args.out if args.out is not None else DEFAULT_OUT / f"recommend-{args.file.stem}"
    return main_recommend(args.file, args.vary, args.budget, out, points=args.points, refine=args.refine,
                          seeds=args.seeds, workers=args.workers, engine=args.engine, scheduler=args.scheduler,
                          reads=args.reads, protocol=args.protocol, conservative=args.conservative)
