"""The scenario's friction sections (issue 17): AMM pools per asset pair (``pools:``) and an oracle model per asset
(``oracles:``). Structure and ranges here; what needs the whole file (known assets, plain tokens, a TWAP's pool
holding its asset) in :func:`friction_issues`, which the validator calls. See scenarios/README.md."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Callable, Literal

from pydantic import Field, model_validator
from pydantic.functional_validators import BeforeValidator

from marginlab.errors import quote
from marginlab.numbers import NumberError, to_decimal
from marginlab.scenario.fields import (
    SYMBOL_PATTERN,
    Amount,
    AmountMap,
    Fraction,
    Int,
    Name,
    NonNegInt,
    Positive,
    Strict,
    _err,
    _number,
)

#: A TWAP window or a push delay longer than this (a year of scenario seconds) is a typo.
MAX_WINDOW = 365 * 24 * 3600
PAIR_HINT = "a pair of two market symbols, base/quote, like WETH/USDC"


def split_pair(pair: str) -> tuple[str, str] | None:
    """``WETH/USDC`` → (``WETH``, ``USDC``); None if it is not two different names around one slash."""
    parts = pair.split("/")
    if len(parts) != 2 or not parts[0] or not parts[1] or parts[0] == parts[1]:
        return None
    return parts[0], parts[1]


def _pair(value: Any) -> Any:
    if isinstance(value, str) and split_pair(value) is None:
        raise _err("pair", f"expected {PAIR_HINT}, got {quote(value)}")
    return value


PairName = Annotated[str, BeforeValidator(_pair)]


class Pool(Strict):
    """One Uniswap v2 pair: its reserves (token amounts) or the USD depth of each side, and the arbitrage rate."""

    pair: PairName
    depth_usd: Positive | None = None
    reserves: AmountMap | None = None
    #: the share of the gap (in log price) between the pool and the path the arbitrageur closes each step
    arbitrage: Fraction = Decimal(1)

    @model_validator(mode="after")
    def _one_size(self) -> Pool:
        if (self.depth_usd is None) == (self.reserves is None):
            raise _err("pools", "give exactly one of depth_usd (USD on each side) or reserves ({BASE: n, QUOTE: m})")
        return self

    @property
    def base(self) -> str:
        return self.pair.split("/")[0]

    @property
    def quote(self) -> str:
        return self.pair.split("/")[1]


class ExactOracle(Strict):
    model: Literal["exact"]


class PushOracle(Strict):
    """Chainlink-like: a round when the path moved more than ``deviation`` from the last answer or ``heartbeat``
    scenario seconds passed, posted ``delay`` steps (or ``delay_seconds``) later."""

    model: Literal["push"]
    deviation: Annotated[Amount, Field(lt=1)]
    heartbeat: Annotated[Int, Field(gt=0, le=MAX_WINDOW)]
    delay: Annotated[NonNegInt, Field(le=10_000)] | None = None
    delay_seconds: Annotated[NonNegInt, Field(le=MAX_WINDOW)] | None = None

    @model_validator(mode="after")
    def _one_delay(self) -> PushOracle:
        if self.delay is not None and self.delay_seconds is not None:
            raise _err("oracles", "give delay (steps) or delay_seconds (scenario seconds), not both")
        return self


class TwapOracle(Strict):
    """The time-weighted average price of ``pool`` over the last ``window`` scenario seconds."""

    model: Literal["pool-twap"]
    pool: PairName
    window: Annotated[Int, Field(gt=0, le=MAX_WINDOW)]


ORACLE_MODELS = ("exact", "push", "pool-twap")


class KeeperSpec(Strict):
    """A keeper with a balance sheet (``keepers:``): its own liquidation contract holding ``inventory`` (minted
    once at set-up, never topped up), the gas price it bids (gwei; orders the keepers' transactions and prices
    their gas), its reaction delay in steps, and the least profit (USD) it liquidates for."""

    name: Name
    inventory: AmountMap = {}
    gas_price_gwei: Amount = Decimal(0)
    delay: Annotated[NonNegInt, Field(le=10_000)] = 0
    min_profit: Amount = Decimal(0)
    #: when its inventory lacks the debt asset, fund the liquidation with a flash swap from the pool (the pool
    #: lends the debt and is paid back in the seized collateral)
    flash: bool = False


def _native_price(value: Any) -> Any:
    if isinstance(value, str) and re.match(SYMBOL_PATTERN, value) and not value[0].isdigit():
        return value
    dec = _number(value, "a market symbol or a USD price")
    if dec <= 0:
        raise _err("keeper_gas", f"native_price must be a market symbol or a USD price above 0, got {value}")
    return dec


class KeeperGas(Strict):
    """Gas per keeper operation, the same on every chain (never read from receipts), and what the native token
    costs: a market symbol (its path price) or a USD price. Units left out come from bench/gas.json (Anvil)."""

    native_price: Annotated[str | Decimal, BeforeValidator(_native_price)] = "WETH"
    liquidate: Annotated[Int, Field(gt=0, le=30_000_000)] | None = None
    withdraw: Annotated[Int, Field(gt=0, le=30_000_000)] | None = None
    swap: Annotated[Int, Field(gt=0, le=30_000_000)] | None = None


def _oracle_spec(value: Any) -> Any:
    if isinstance(value, dict):
        model = value.get("model")
        kinds: dict[str, type[Strict]] = {"exact": ExactOracle, "push": PushOracle, "pool-twap": TwapOracle}
        if model in kinds:
            return kinds[model].model_validate(value)
        if model is None:
            raise _err("oracles", "missing model: expected model: exact, push or pool-twap")
        raise _err("oracles", f"unknown oracle model {quote(model)}: expected exact, push or pool-twap")
    return value


OracleModel = Annotated[ExactOracle | PushOracle | TwapOracle, BeforeValidator(_oracle_spec)]

# --------------------------------------------------------------------------------------------------- cross checks

Loc = tuple[str | int, ...]
AddIssue = Callable[[Loc, str], None]
CheckAmounts = Callable[[Loc, Any], None]


def friction_issues(data: dict[str, Any], markets: dict[str, Any], add: AddIssue, amounts: CheckAmounts,
                    actors: set[str]) -> None:
    """Cross-checks of ``pools:``, ``oracles:`` and the steps' ``liquidity_crunch``: known plain-token markets,
    each pair once, reserves within the tokens' decimals, a TWAP's pool listed and holding its asset.
    ``markets``: symbol → token kind as written; ``amounts``: the validator's check of an amount map."""
    pools: set[frozenset[str]] = set()
    names: set[str] = set()
    raw_pools = data.get("pools")
    for i, pool in enumerate(raw_pools if isinstance(raw_pools, list) else []):
        if not isinstance(pool, dict) or not isinstance(pool.get("pair"), str):
            continue
        parts = split_pair(pool["pair"])
        if parts is None:
            continue
        for sym in parts:
            if sym not in markets:
                add(("pools", i, "pair"), f"unknown asset {quote(sym)} (markets: {', '.join(markets) or 'none'})")
            elif markets[sym] not in (None, "plain"):
                add(("pools", i, "pair"), f"{sym} is a {markets[sym]} token; pools hold plain tokens only")
        if frozenset(parts) in pools:
            add(("pools", i, "pair"), f"a second pool for {parts[0]} and {parts[1]}: one pool per pair")
        pools.add(frozenset(parts))
        names.add(pool["pair"])
        reserves = pool.get("reserves")
        if isinstance(reserves, dict) and set(reserves) != set(parts):
            add(("pools", i, "reserves"), f"name both assets of the pair and no other: {parts[0]} and {parts[1]}")
        elif isinstance(reserves, dict):
            amounts(("pools", i, "reserves"), reserves)
    oracles = data.get("oracles")
    for sym, spec in (oracles.items() if isinstance(oracles, dict) else []):
        if sym not in markets:
            add(("oracles", sym), f"unknown asset {quote(sym)} (markets: {', '.join(markets) or 'none'})")
            continue
        if isinstance(spec, dict) and spec.get("model") == "pool-twap" and isinstance(spec.get("pool"), str):
            pair = spec["pool"]
            parts = split_pair(pair)
            if parts is None:
                continue
            if pair not in names:
                listed = ", ".join(sorted(names)) or "none"
                add(("oracles", sym, "pool"), f"no pool {quote(pair)} in pools: (listed: {listed})")
            elif sym not in parts:
                add(("oracles", sym, "pool"), f"the pool {pair} does not hold {sym}")
            elif sym != parts[0]:
                add(("oracles", sym, "pool"), f"{sym} is the quote of {pair}: a TWAP prices the base asset "
                                              f"(list the pool as {sym}/{parts[0]})")
    keepers = data.get("keepers")
    seen: set[str] = set()
    for i, keeper in enumerate(keepers if isinstance(keepers, list) else []):
        if not isinstance(keeper, dict):
            continue
        name = keeper.get("name")
        if isinstance(name, str):
            if name in seen or name in actors:
                add(("keepers", i, "name"), f"{quote(name)} is already taken: keeper names must be unique and not "
                                            f"name an account or liquidity provider")
            seen.add(name)
        inventory = keeper.get("inventory")
        for sym in (inventory if isinstance(inventory, dict) else {}):
            if sym not in markets:
                add(("keepers", i, "inventory", sym), f"unknown asset {quote(sym)} (markets: {', '.join(markets)})")
        if isinstance(inventory, dict):
            amounts(("keepers", i, "inventory"), {s: v for s, v in inventory.items() if s in markets})
    gas = data.get("keeper_gas")
    native = gas.get("native_price", "WETH") if isinstance(gas, dict) else "WETH"
    if isinstance(keepers, list) and keepers and isinstance(native, str) and native not in markets:
        where: Loc = ("keeper_gas", "native_price") if isinstance(gas, dict) and "native_price" in gas else \
            ("keepers",)
        add(where, f"gas is priced in {quote(native)}, which is not a market: set keeper_gas: {{native_price: "
                   f"SYMBOL or a USD price}}")
    if isinstance(keepers, list) and keepers and not raw_pools:
        add(("keepers",), "keepers sell what they seize into pools: add a pools: section")
    steps = data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        crunch = step.get("liquidity_crunch") if isinstance(step, dict) else None
        for pair, share in (crunch.items() if isinstance(crunch, dict) else []):
            if pair not in names:
                add(("steps", i, "liquidity_crunch", pair),
                    f"no pool {quote(pair)} in pools: (listed: {', '.join(sorted(names)) or 'none'})")
            try:
                dec = to_decimal(share)
            except NumberError:
                continue
            if not 0 < dec < 1:
                add(("steps", i, "liquidity_crunch", pair),
                    f"the share withdrawn must be above 0 and below 1, got {dec}")


__all__ = ["MAX_WINDOW", "ORACLE_MODELS", "ExactOracle", "KeeperGas", "KeeperSpec", "OracleModel", "Pool",
           "PushOracle", "TwapOracle",
           "friction_issues", "split_pair"]
