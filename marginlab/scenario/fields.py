"""The scenario format's limits, words and field types: numbers read exactly from the text, names, amounts,
``all``, and the strict base model. :mod:`marginlab.scenario.model` builds the scenario from them."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.functional_validators import BeforeValidator
from pydantic_core import PydanticCustomError

from marginlab.errors import quote
from marginlab.numbers import NumberError, plain, to_decimal

MAX_DECIMALS = 36
#: What the vault's books hold (VaultCore.MAX_BOOK_AMOUNT: 2^128 - 1 scale at the deposit index floor 1e12), in token
#: units, and the most decimals an uncapped market may have (a million whole tokens must fit): listings beyond revert
#: CapTooLarge, so a scenario asking for one is refused in one line first.
MAX_BOOK_UNITS = (2**128 - 1) * 10**12 // 10**18
MAX_UNCAPPED_DECIMALS = 26
MAX_SUB_ACCOUNTS = 256  # subId is a uint8
MAX_GENERATED_ACCOUNTS = 1000
MAX_PATH_POINTS = 100_000
SECONDS_PER_YEAR = 365 * 24 * 3600
DEFAULT_FEED_DECIMALS = 8
# Feeds are refreshed by the engine after every `advance`, so the default heartbeat only has to outlast one
# step; scenarios that test staleness set a short one.
DEFAULT_HEARTBEAT = 30 * 24 * 3600
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$"
SYMBOL_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,15}$"
VERBS = ("deposit", "withdraw", "borrow", "repay", "transfer", "liquidate", "donate", "settle_bad_debt")
#: Verbs that act on a sub-account the actor may not own (``owner:``): anyone may repay for it, and deposit into a
#: market it already holds (the vault refuses a stranger's deposit in any other market: NotOwnerOrOperator, I25).
OWNER_VERBS = ("deposit", "repay")
#: ``all`` instead of an amount: the whole balance (withdraw), the whole debt (repay), the close-factor cap
#: (liquidate). The vault reads it as type(uint256).max.
ALL = "all"
ORACLE_FAULTS = ("ok", "stale", "zero", "negative")
#: A market's ``token: {kind: ...}`` → the contract a replay deploys (contracts/sim/, contracts/sim/hostile/).
TOKEN_CONTRACTS = {
    "plain": "SimToken",
    "fee-on-transfer": "FeeOnTransferToken",
    "hook": "HookToken",
    "revert-on-zero": "RevertOnZeroToken",
    "no-return": "NoReturnToken",
    "returns-false": "ReturnsFalseToken",
    "pausable-blocklist": "PausableBlocklistToken",
}
TOKEN_KINDS = tuple(TOKEN_CONTRACTS)
#: Token kinds the vault cannot hold safely, refused with the reason (tests/integration/test_hostile_tokens.py).
REFUSED_TOKEN_KINDS = {
    "rebasing": "rebasing tokens are not supported: the vault books fixed token amounts, so a rebase leaves an "
                "untracked surplus or makes the vault short (tests/integration/test_hostile_tokens.py); list a "
                "non-rebasing wrapper instead",
}
FEE_BPS_DENOMINATOR = 10_000  # FeeOnTransferToken.BPS: a fee of 10,000 bps or more is refused by the token


def _err(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _number(value: Any, what: str) -> Decimal:
    try:
        return to_decimal(value, what=what)
    except NumberError as exc:
        raise _err("number", str(exc)) from None


def _amount(value: Any) -> Decimal:
    dec = _number(value, "an amount")
    if dec < 0:
        raise _err("amount", f"amount must not be negative, got {plain(dec)}")
    return dec


def _amount_or_all(value: Any) -> Decimal | str:
    if isinstance(value, str) and value.strip() == ALL:
        return ALL
    try:
        return _amount(value)
    except PydanticCustomError as exc:
        if isinstance(value, str):
            raise _err("amount", f"expected an amount or all, got {quote(value)}") from None
        raise exc


def _positive(value: Any) -> Decimal:
    dec = _number(value, "a positive number")
    if dec <= 0:
        raise _err("positive", f"must be greater than 0, got {plain(dec)}")
    return dec


def _fraction(value: Any) -> Decimal:
    dec = _number(value, "a fraction between 0 and 1")
    if not 0 <= dec <= 1:
        raise _err("fraction", f"must be between 0 and 1, got {plain(dec)}")
    return dec


def _signed(value: Any) -> Decimal:
    return _number(value, "a number")


def _strict_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, Decimal) and value == value.to_integral_value() and value.is_finite():
            return int(value)
        from marginlab.numbers import type_name
        shown = plain(value) if isinstance(value, Decimal) and value.is_finite() else quote(value) \
            if isinstance(value, str) else type_name(value)
        raise _err("int", f"expected a whole number, got {shown}")
    return value


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Positive = Annotated[Decimal, BeforeValidator(_positive)]
Fraction = Annotated[Decimal, BeforeValidator(_fraction)]
Signed = Annotated[Decimal, BeforeValidator(_signed)]
Int = Annotated[int, BeforeValidator(_strict_int)]
NonNegInt = Annotated[Int, Field(ge=0)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
#: A custom error's name, as expect_revert and may_revert give it.
ERROR_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
ErrorName = Annotated[str, Field(pattern=ERROR_NAME_PATTERN)]
Symbol = Annotated[str, Field(pattern=SYMBOL_PATTERN)]
#: A protocol's name (``marginlab``, ``morpho-blue``, ``aave-v3``) as a scenario writes it.
PROTOCOL_PATTERN = r"^[a-z][a-z0-9\-]{0,31}$"
ProtocolName = Annotated[str, Field(pattern=PROTOCOL_PATTERN)]
#: The protocols marginlab ships (marginlab.protocols.registry); ``--protocol FILE.py:CLASS`` adds your own.
PROTOCOL_NAMES = ("marginlab", "morpho-blue", "aave-v3")
AmountMap = dict[str, Amount]
AmountOrAll = Annotated[Decimal | Literal["all"], BeforeValidator(_amount_or_all)]
AmountOrAllMap = dict[str, AmountOrAll]


class Strict(BaseModel):
    """Every model refuses unknown keys: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


# --------------------------------------------------------------------------------------------------- prices

@dataclass(frozen=True)
class PriceMove:
    """A step's price for one asset: an absolute USD price, or a relative change in percent."""

    absolute: Decimal | None = None
    percent: Decimal | None = None

    def apply(self, previous: Decimal) -> Decimal:
        if self.absolute is not None:
            return self.absolute
        assert self.percent is not None
        return previous * (1 + self.percent / 100)

    def __str__(self) -> str:
        if self.absolute is not None:
            return plain(self.absolute)
        assert self.percent is not None
        return f"{'+' if self.percent >= 0 else ''}{plain(self.percent)}%"


def _price_move(value: Any) -> PriceMove:
    if isinstance(value, str) and value.strip().endswith("%"):
        text = value.strip()[:-1].strip()
        if not text or text[0] not in "+-":
            raise _err("price", f"a relative price must start with + or -, like \"-30%\"; got {quote(value)}")
        pct = _number(text, "a percentage like \"-30%\"")
        if pct <= -100:
            raise _err("price", f"a fall of {plain(-pct)}% would make the price zero or negative")
        return PriceMove(percent=pct)
    if isinstance(value, PriceMove):
        return value
    try:
        return PriceMove(absolute=_positive(value))
    except PydanticCustomError as exc:
        if isinstance(value, str):
            raise _err("price", f"expected a price or a change like \"-30%\", got {quote(value)}") from None
        raise exc


Price = Annotated[PriceMove, BeforeValidator(_price_move)]
