"""The scenario's oracle guards (docs/oracle-guards.md): a market's ``oracle_guards:`` (price bounds and a circuit
breaker), the top-level ``sequencer:`` (an L2 sequencer uptime feed with a grace period), and the ``oracle:``
faults that exercise them (``clamp``, ``misprice``, and ``sequencer: down|up``).

Every guard is off unless written, so scenarios without them replay as before. The new faults are normalised to
one word each (``clamp:0.1``, ``misprice:1``), the form the plan, the engine and the timeline carry."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, model_validator
from pydantic.functional_validators import BeforeValidator

from marginlab.errors import quote
from marginlab.numbers import NumberError, plain, to_decimal
from marginlab.scenario.fields import Int, Positive, Strict, _err

#: the key of ``oracle:`` that drives the sequencer uptime feed instead of a market's feed
SEQUENCER = "sequencer"
SEQUENCER_STATES = ("down", "up")
PLAIN_FAULTS = ("ok", "stale", "zero", "negative")
MAX_WINDOW = 365 * 24 * 3600  # OracleRouter.MAX_WINDOW
MAX_GRACE_PERIOD = 7 * 24 * 3600  # OracleRouter.MAX_GRACE_PERIOD
MAX_FACTOR_EXP = 18
#: the router keeps bounds as uint128 WAD
MAX_BOUND = Decimal(2**128 - 1).scaleb(-18)
FAULT_WORDS = "'ok', 'stale', 'zero', 'negative', {clamp: {floor: P}} or {misprice: {factor_exp: K}}"


class OracleGuards(Strict):
    """Router guards of one market (marginlab protocol): a price at or below ``min_price`` or at or above
    ``max_price`` is refused; so is one more than ``max_move`` (a fraction) away from the last accepted price, which
    moves forward at most once per ``window`` seconds."""

    min_price: Positive | None = None
    max_price: Positive | None = None
    max_move: Positive | None = None
    window: Annotated[Int, Field(gt=0, le=MAX_WINDOW)] = 3600

    @model_validator(mode="after")
    def _consistent(self) -> OracleGuards:
        if self.min_price is None and self.max_price is None and self.max_move is None:
            raise _err("oracle_guards", "set at least one of min_price, max_price, max_move")
        if self.min_price is not None and self.max_price is not None and self.min_price >= self.max_price:
            raise _err("oracle_guards", f"min_price ({plain(self.min_price)}) must be below max_price "
                                        f"({plain(self.max_price)})")
        for name, bound in (("min_price", self.min_price), ("max_price", self.max_price)):
            if bound is not None and (bound > MAX_BOUND or bound.scaleb(18) != bound.scaleb(18).to_integral_value()):
                raise _err("oracle_guards", f"{name} {plain(bound)} must fit 18 decimals and be below 3.4e20")
        if self.max_move is not None and (self.max_move > 1 or self.max_move.scaleb(4) % 1 != 0):
            raise _err("oracle_guards", f"max_move must be a fraction up to 1 in steps of 0.0001, got "
                                        f"{plain(self.max_move)}")
        return self

    @property
    def max_move_bps(self) -> int:
        return int((self.max_move or Decimal(0)).scaleb(4))


class Sequencer(Strict):
    """An L2 sequencer uptime feed guarding every market: prices are refused while it is down and for
    ``grace_period`` seconds after it comes back up."""

    grace_period: Annotated[Int, Field(ge=0, le=MAX_GRACE_PERIOD)] = 3600


def _oracle_fault(value: Any) -> str:
    """One ``oracle:`` entry, normalised to a word: ok, stale, zero, negative, down, up, clamp:P or misprice:K."""
    if isinstance(value, str) and value in (*PLAIN_FAULTS, *SEQUENCER_STATES):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (kind, spec), = value.items()
        if kind == "clamp":
            floor = spec.get("floor") if isinstance(spec, dict) and set(spec) == {"floor"} else None
            try:
                dec = to_decimal(floor, what="a price") if floor is not None else None
            except NumberError:
                dec = None
            if dec is None or not dec.is_finite() or dec <= 0:
                raise _err("oracle", "clamp needs {floor: P} with a price P > 0: the feed reports P while the "
                                     "market is below it")
            return f"clamp:{plain(dec)}"
        if kind == "misprice":
            k = spec.get("factor_exp") if isinstance(spec, dict) and set(spec) == {"factor_exp"} else None
            if isinstance(k, Decimal) and k.is_finite() and k == k.to_integral_value():
                k = int(k)
            if isinstance(k, bool) or not isinstance(k, int) or k == 0 or abs(k) > MAX_FACTOR_EXP:
                raise _err("oracle", f"misprice needs {{factor_exp: K}} with a whole K, 1 ≤ |K| ≤ {MAX_FACTOR_EXP}: "
                                     f"the feed reports the price × 10^K")
            return f"misprice:{k}"
    shown = quote(value) if isinstance(value, str) else type(value).__name__ if not isinstance(value, dict) \
        else "{" + ", ".join(str(k) for k in value) + "}"
    raise _err("oracle", f"expected {FAULT_WORDS}, got {shown}")


OracleFault = Annotated[str, BeforeValidator(_oracle_fault)]


def clamp_floor(fault: str) -> Decimal | None:
    return Decimal(fault.split(":", 1)[1]) if fault.startswith("clamp:") else None


def misprice_exp(fault: str) -> int | None:
    return int(fault.split(":", 1)[1]) if fault.startswith("misprice:") else None
