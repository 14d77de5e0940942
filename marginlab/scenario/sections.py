"""The scenario's optional sections — generated price paths, the keeper's policy, and expectations — as pydantic
models; :mod:`marginlab.scenario.model` composes them into the scenario."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.functional_validators import BeforeValidator

from marginlab.errors import quote
from marginlab.numbers import plain
from marginlab.scenario.fields import (
    MAX_GENERATED_ACCOUNTS,
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


# --------------------------------------------------------------------------------------------------- liquidation

#: The vault's liquidation policies (IVaultBase.LiquidationPolicy, in its order) as the scenario names them.
LIQUIDATION_POLICIES = ("close-factor", "fixed-incentive", "dutch", "absorb")
#: The parameters' bounds, as VaultGovernance checks them (marginlab.model.vault.LiquidationParams.error):
#: field → (lowest, highest, lowest allowed itself, what the bound is).
LIQUIDATION_BOUNDS: dict[str, tuple[Decimal, Decimal, bool, str]] = {
    "close_factor": (Decimal(0), Decimal(1), False, "above 0 and at most 1"),
    "full_close_health_factor": (Decimal(0), Decimal(1), True, "between 0 and 1"),
    "incentive_cursor": (Decimal(0), Decimal(1), True, "between 0 and 1"),
    "max_incentive": (Decimal(0), Decimal("0.25"), True, "between 0 and 0.25 (VaultGovernance's MAX_INCENTIVE)"),
    "max_discount": (Decimal(0), Decimal("0.2"), True, "between 0 and 0.2 (VaultGovernance's MAX_DISCOUNT)"),
    "target_health_factor": (Decimal("1.01"), Decimal("1.5"), True, "between 1.01 and 1.5"),
    "store_front_factor": (Decimal(0), Decimal(1), True, "between 0 and 1"),
    "min_debt_left": (Decimal(0), Decimal(1000), True, "between 0 and 1000 USD (VaultGovernance's MAX_DUST_VALUE)"),
    "min_collateral_left": (Decimal(0), Decimal(1000), True,
                            "between 0 and 1000 USD (VaultGovernance's MAX_DUST_VALUE)"),
}
WAD_PLACES = 18  # every parameter is a WAD on chain


class Liquidation(Strict):
    """The vault's liquidation policy and its parameters (IVaultBase.LiquidationParams, in human units), and the
    dust minimums (USD). Every field is optional: what is left out keeps the vault's default. Only marginlab's
    vault can switch its policy; other protocols refuse a section that changes anything."""

    policy: Literal["close-factor", "fixed-incentive", "dutch", "absorb"] = "close-factor"
    close_factor: Decimal | None = None
    full_close_health_factor: Decimal | None = None
    incentive_cursor: Decimal | None = None
    max_incentive: Decimal | None = None
    max_discount: Decimal | None = None
    target_health_factor: Decimal | None = None
    store_front_factor: Decimal | None = None
    min_debt_left: Decimal | None = None
    min_collateral_left: Decimal | None = None

    @field_validator(*LIQUIDATION_BOUNDS, mode="before")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Decimal | None:
        if value is None:
            return None
        low, high, low_ok, what = LIQUIDATION_BOUNDS[str(info.field_name)]
        dec = _number(value, "a number")
        if dec < low or dec > high or (dec == low and not low_ok):
            raise _err("liquidation", f"must be {what}, got {plain(dec)}")
        exponent = dec.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -WAD_PLACES:
            raise _err("liquidation", f"at most {WAD_PLACES} decimal places (a WAD on chain), got {plain(dec)}")
        return dec

    @property
    def is_default(self) -> bool:
        """The vault as deployed: the close-factor policy and no parameter given."""
        return self.policy == "close-factor" and all(getattr(self, f) is None for f in LIQUIDATION_BOUNDS)

    @property
    def params_given(self) -> bool:
        return any(getattr(self, f) is not None for f in LIQUIDATION_BOUNDS if not f.startswith("min_"))

    @property
    def dust_given(self) -> bool:
        return self.min_debt_left is not None or self.min_collateral_left is not None

    def describe(self) -> str:
        """``dutch (max_discount 0.1, target_health_factor 1.05)``: the policy and the parameters given."""
        given = [f"{f} {plain(getattr(self, f))}" for f in LIQUIDATION_BOUNDS if getattr(self, f) is not None]
        return self.policy + (f" ({', '.join(given)})" if given else "")


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
                  "reverts", "withdrawals_refused", "recovered")
GLOBAL_CHECKS = ("liquidations", "bad_debt", "health_factor_min", "collateral_seized", "reverts")


class Expect(Strict):
    account: Name | None = None
    position: NonNegInt | None = None
    margin: Literal["cross", "isolated"] | None = None
    #: the expectation holds on this protocol's runs only (others report it as skipped)
    protocol: ProtocolName | None = None
    #: the expectation holds under this liquidation policy only (``liquidation: {policy: ...}``; others skip it)
    policy: Literal["close-factor", "fixed-incentive", "dutch", "absorb"] | None = None
    liquidations: Comparison | None = None
    bad_debt: Comparison | None = None
    health_factor_min: Comparison | None = None
    balances: dict[str, Comparison] | None = None
    final_equity: Comparison | None = None
    collateral_seized: Comparison | None = None
    reverts: Comparison | None = None
    #: the account's strategy withdrawals the protocol refused (a lender's run on a pool without the cash)
    withdrawals_refused: Comparison | None = None
    #: tokens the account's strategy withdrawals took out of the protocol, per asset
    recovered: dict[str, Comparison] | None = None

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


MAX_JITTER = 3  # books: resampled amounts vary by at most this factor


class Resample(Strict):
    count: Annotated[Int, Field(ge=1, le=MAX_GENERATED_ACCOUNTS)]
    seed: NonNegInt | None = None
    jitter: Annotated[Amount, Field(le=MAX_JITTER)] = Decimal(0)


class BookSpec(Strict):
    """One ``books:`` entry: a CSV of positions (relative to the scenario file)."""

    file: str
    margin: Literal["cross", "isolated"] = "cross"
    #: names of resampled accounts: ``<prefix>-000`` … (default: the file's stem)
    prefix: Name | None = None
    resample: Resample | None = None
