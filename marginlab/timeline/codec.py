"""A :class:`~marginlab.timeline.records.Timeline` to and from JSON, byte-for-byte reproducibly: keys sorted,
amounts as strings (JavaScript readers lose precision past 2^53), counts and indexes as numbers, fields added
after version 1 left out while unset (so timelines written before them keep their bytes).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from marginlab.timeline.records import (
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

# Integers that stay JSON numbers; every other integer is an amount and is written as a string.
_COUNT_FIELDS = frozenset({"index", "step", "sub_id", "time", "advance", "seed", "version", "decimals",
                           "feed_decimals", "positions", "count", "line", "position"})
# Fields written only when set: added after version 1, absent (None) in every timeline written before them.
_OPTIONAL_FIELDS = frozenset({"token", "may_revert", "tokens", "pairs", "error_name", "line", "provenance", "legs",
                              "left_as_debt", "absorbed", "purchases", "liquidation_policy", "keeper_rule",
                              "strategy_acts", "deficit", "pools", "oracle_prices",
                              "skipped_liquidations", "keepers", "pool_impact"})
# Booleans written only when true.
_FLAG_FIELDS = frozenset({"skipped", "closes", "in_absorb"})



def _jsonable(value: Any, key: str | None = None) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name), f.name) for f in dataclasses.fields(value)
                if not (f.name in _OPTIONAL_FIELDS and getattr(value, f.name) is None)
                and not (f.name in _FLAG_FIELDS and getattr(value, f.name) is False)}
    if isinstance(value, dict):
        # Keys of amount maps are symbols or account keys; their values inherit the map's kind.
        return {str(k): _jsonable(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, key) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if key in _COUNT_FIELDS else str(value)
    raise TypeError(f"cannot write {type(value).__name__} to the timeline")


def timeline_json(timeline: Timeline) -> str:
    return json.dumps(_jsonable(timeline), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_timeline_json(timeline: Timeline, path: Path) -> None:
    path.write_text(timeline_json(timeline), encoding="utf-8")


def _int(value: Any) -> int:
    return int(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def timeline_from_json(text: str) -> Timeline:
    """Read a timeline back (for re-rendering a report without replaying)."""
    raw = json.loads(text)

    def state(d: dict[str, Any]) -> SubAccountState:
        return SubAccountState({k: _int(v) for k, v in d["balances"].items()}, _int(d["health_init"]),
                               _int(d["health_maint"]), _opt_int(d["health_factor"]),
                               _int(d["collateral_value"]), _int(d["debt_value"]))

    def market(d: dict[str, Any]) -> MarketState:
        return MarketState(**{k: _int(v) for k, v in d.items()})

    def pair(d: dict[str, Any]) -> PairState:
        return PairState(d["collateral"], d["loan"], _int(d["lltv"]), _int(d["total_supply_assets"]),
                         _int(d["total_supply_shares"]), _int(d["total_borrow_assets"]),
                         _int(d["total_borrow_shares"]), _int(d["utilisation"]), _int(d["borrow_rate"]),
                         _int(d["fee"]), _opt_int(d["price"]))

    def record(d: dict[str, Any]) -> StepRecord:
        pairs, pools = d.get("pairs"), d.get("pools")
        return StepRecord(d["index"], d["source"], d["label"], d["time"], d["prices"], d["oracle"],
                          {k: state(v) for k, v in d["accounts"].items()},
                          {k: market(v) for k, v in d["markets"].items()},
                          [ActionRecord(**a) for a in d["actions"]], d.get("note"), d.get("tokens"),
                          {k: pair(v) for k, v in pairs.items()} if pairs is not None else None,
                          {k: PoolState(v["base"], v["quote"], _int(v["reserve_base"]), _int(v["reserve_quote"]),
                                        v["price"]) for k, v in pools.items()} if pools is not None else None,
                          d.get("oracle_prices"))

    def liquidation(d: dict[str, Any]) -> Liquidation:
        out = dict(d)
        for k in ("repaid", "seized", "to_liquidator", "protocol_cut", "repaid_value", "seized_value"):
            out[k] = _int(out[k])
        for k in ("health_factor_before", "health_factor_after"):
            out[k] = _opt_int(out[k])
        if out.get("absorbed") is not None:
            out["absorbed"] = {k: _int(v) for k, v in out["absorbed"].items()}
        return Liquidation(**out)

    def purchase(d: dict[str, Any]) -> Purchase:
        out = dict(d)
        for k in ("paid", "bought", "incentive", "paid_value", "bought_value"):
            out[k] = _int(out[k])
        return Purchase(**out)

    def bad(d: dict[str, Any]) -> BadDebt:
        out = dict(d)
        for k in ("debt", "covered_by_reserves", "socialised", "value"):
            out[k] = _int(out[k])
        out["left_as_debt"] = _opt_int(out.get("left_as_debt"))
        out["deficit"] = _opt_int(out.get("deficit"))
        return BadDebt(**out)

    return Timeline(
        scenario=raw["scenario"], seed=raw["seed"], mode=raw["mode"],
        markets=[MarketInfo(**m) for m in raw["markets"]],
        sub_accounts=[SubAccountRef(**s) for s in raw["sub_accounts"]],
        setup=record(raw["setup"]) if raw.get("setup") else None,
        steps=[record(s) for s in raw["steps"]],
        liquidations=[liquidation(x) for x in raw["liquidations"]],
        bad_debts=[bad(x) for x in raw["bad_debts"]],
        status=raw["status"], error=raw["error"],
        expectations=[ExpectResult(**e) for e in raw["expectations"]],
        version=raw["version"], provenance=raw.get("provenance"),
        legs=_book(raw["legs"]) if raw.get("legs") is not None else None,
        purchases=[purchase(x) for x in raw["purchases"]] if raw.get("purchases") is not None else None,
        liquidation_policy=raw.get("liquidation_policy"), keeper_rule=raw.get("keeper_rule"),
        strategy_acts=[_act(x) for x in raw["strategy_acts"]] if raw.get("strategy_acts") is not None else None,
        skipped_liquidations=[Skipped(**x) for x in raw["skipped_liquidations"]]
        if raw.get("skipped_liquidations") is not None else None,
        keepers=[KeeperResult(x["name"], int(x["liquidations"]), int(x["failed"]), int(x["skipped"]),
                              x["repaid_usd"], x["proceeds_usd"], x["gas_usd"], x["pnl_usd"]) for x in raw["keepers"]]
        if raw.get("keepers") is not None else None,
        pool_impact=raw.get("pool_impact"),
    )


def _act(d: dict[str, Any]) -> StrategyAct:
    return StrategyAct(d["step"], d["account"], d["strategy"], d["verb"], d["ok"],
                       {k: _int(v) for k, v in d["amounts"].items()}, _int(d["value"]), d.get("error_name"))


def _book(d: dict[str, Any]) -> PositionBook:
    return PositionBook(
        [PositionLegs(p["owner"], p["position"], p["sub_id"], {k: _int(v) for k, v in p["legs"].items()})
         for p in d["positions"]],
        [LegMove(m["step"], m["source"], m["owner"], m["position"], m["asset"], _int(m["change"]),
                 m.get("closes", False)) for m in d["moves"]])
