"""What a replay recorded (:mod:`.records`: plain dataclasses) and its JSON form (:mod:`.codec`), byte-for-byte
reproducibly.

Token amounts are integers in token units; USD values, health and rates are WAD integers (1e18 = 1).
The JSON writes every such integer as a string (JavaScript readers lose precision past 2^53); counts and
indexes stay numbers. No wall-clock time, path, duration or address goes in: the same scenario and seed give
the same bytes.
"""
from marginlab.timeline.codec import timeline_from_json, timeline_json, write_timeline_json
from marginlab.timeline.records import (
    TIMELINE_VERSION,
    ActionRecord,
    BadDebt,
    ExpectResult,
    KeeperResult,
    LegMove,
    Liquidation,
    MarketInfo,
    MarketState,
    PairState,
    PoolState,
    PositionBook,
    PositionLegs,
    Purchase,
    Skipped,
    StepRecord,
    StrategyAct,
    SubAccountRef,
    SubAccountState,
    Timeline,
)

__all__ = ["TIMELINE_VERSION", "ActionRecord", "BadDebt", "ExpectResult", "KeeperResult", "LegMove",
           "Liquidation", "MarketInfo", "MarketState", "PairState", "PoolState", "PositionBook",
           "PositionLegs", "Purchase", "Skipped", "StepRecord", "StrategyAct", "SubAccountRef",
           "SubAccountState", "Timeline", "timeline_from_json", "timeline_json", "write_timeline_json"]
