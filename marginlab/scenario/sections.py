"""The scenario's optional sections — generated price paths, the keeper's policy, and expectations — as pydantic
models; :mod:`marginlab.scenario.model` composes them into the scenario."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic.functional_validators import BeforeValidator

from marginlab.errors import quote
from marginlab.numbers import plain
from marginlab.scenario.fields import (
    MAX_PATH_POINTS,
    SECONDS_PER_YEAR,
    Amount,
    Int,
    Name,
    NonNegInt,
    ProtocolName,
    Signed,
    Strict,
    _err,
    _number,
)

# --------------------------------------------------------------------------------------------------- paths

MAX_SIGMA = 20  # per year: 2000 % volatility is already absurd
MAX_DT = 10 * SECONDS_PER_YEAR


class GbmPath(Strict):
    model: Literal["gbm"]
    sigma: Annotated[Amount, Field(le=MAX_SIGMA)]
    drift: Annotated[Signed, Field(ge=-MAX_SIGMA, le=MAX_SIGMA)] = Decimal(0)
    dt: Annotated[Int, Field(gt=0, le=MAX_DT)]
    count: Annotated[Int, Field(ge=1, le=MAX_PATH_POINTS)]
    seed: NonNegInt | None = None


class CsvPath(Strict):
    model: Literal["csv"]
    file: str
    column: str
    dt: Annotated[Int, Field(gt=0, le=MAX_DT)]
    limit: Annotated[Int, Field(ge=1, le=MAX_PATH_POINTS)] | None = None


def _path_spec(value: Any) -> Any:
    if isinstance(value, dict):
        model = value.get("model")
        if model == "gbm":
            return GbmPath.model_validate(value)
        if model == "csv":
            return CsvPath.model_validate(value)
        if model is None:
            raise _err("path", "missing model: expected model: gbm or model: csv")
        raise _err("path", f"unknown path model {quote(model)}: expected gbm or csv")
    return value


PathSpec = Annotated[GbmPath | CsvPath, BeforeValidator(_path_spec)]


# --------------------------------------------------------------------------------------------------- keeper

#: How the keeper picks among the liquidations a protocol allows on an account (marginlab.sim.keeper.RULES).
KEEPER_RULES = ("most-value", "least-cost")


class Keeper(Strict):
    enabled: bool = True
    max_liquidations_per_step: Annotated[Int, Field(ge=1)] | None = None
    min_profit: Amount = Decimal(0)
    settle_bad_debt: bool = True
    #: most-value (default): the pair that repays the most value, as a profit-seeking liquidator does;
    #: least-cost: the pair that restores health at the least cost to the borrower
    choose: Literal["most-value", "least-cost"] = "most-value"


# --------------------------------------------------------------------------------------------------- expect

CMP_OPS = ("==", "<=", ">=", "<", ">", "!=")


@dataclass(frozen=True)
class Cmp:
    op: str
    value: Decimal

    def holds(self, actual: Decimal) -> bool:
        return {
            "==": actual == self.value, "!=": actual != self.value, "<=": actual <= self.value,
            ">=": actual >= self.value, "<": actual < self.value, ">": actual > self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.op} {plain(self.value)}"


def _cmp(value: Any) -> Cmp:
    if isinstance(value, Cmp):
        return value
    if isinstance(value, str):
        text = value.strip()
        for op in sorted(CMP_OPS, key=len, reverse=True):
            if text.startswith(op):
                return Cmp(op, _number(text[len(op):].strip(), f"a number after {op}"))
        return Cmp("==", _number(text, "a number or a comparison like \">= 1\""))
    return Cmp("==", _number(value, "a number or a comparison like \">= 1\""))


Comparison = Annotated[Cmp, BeforeValidator(_cmp)]
ACCOUNT_CHECKS = ("liquidations", "health_factor_min", "balances", "final_equity", "collateral_seized",
                  "reverts")
GLOBAL_CHECKS = ("liquidations", "bad_debt", "health_factor_min", "collateral_seized", "reverts")


class Expect(Strict):
    account: Name | None = None
    position: NonNegInt | None = None
    margin: Literal["cross", "isolated"] | None = None
    #: the expectation holds on this protocol's runs only (others report it as skipped)
    protocol: ProtocolName | None = None
    liquidations: Comparison | None = None
    bad_debt: Comparison | None = None
    health_factor_min: Comparison | None = None
    balances: dict[str, Comparison] | None = None
    final_equity: Comparison | None = None
    collateral_seized: Comparison | None = None
    reverts: Comparison | None = None

    @model_validator(mode="after")
    def _meaningful(self) -> Expect:
        given = [c for c in dict.fromkeys(ACCOUNT_CHECKS + GLOBAL_CHECKS) if getattr(self, c) is not None]
        if not given:
            raise _err("expect", "an expectation needs at least one check: "
                                 + ", ".join(dict.fromkeys(ACCOUNT_CHECKS + GLOBAL_CHECKS)))
        if self.account is None:
            for c in given:
                if c not in GLOBAL_CHECKS:
                    raise _err("expect", f"{c} needs an account")
            if self.position is not None:
                raise _err("expect", "position needs an account")
        elif self.bad_debt is not None:
            raise _err("expect", "bad_debt is a protocol-wide check: drop account")
        return self

    @property
    def checks(self) -> list[str]:
        return [c for c in dict.fromkeys(ACCOUNT_CHECKS + GLOBAL_CHECKS) if getattr(self, c) is not None]
