"""Exact number parsing and conversion shared by the scenario model, the engine and the report."""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from typing import Any

from marginlab.errors import quote

UINT256_MAX = 2**256 - 1
WAD = 10**18
# Plenty for 2^256 and 36 decimals: no arithmetic in the simulator may round silently.
EXACT = Context(prec=200)


class NumberError(ValueError):
    """A value is not a usable number; the message is the reason shown to the author."""


def to_decimal(value: Any, *, what: str = "a number") -> Decimal:
    """Turn a YAML scalar (int, Decimal or numeric text) into a finite Decimal, refusing booleans and floats."""
    if isinstance(value, bool):
        raise NumberError(f"expected {what}, got a boolean ({str(value).lower()})")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise NumberError(f"expected {what}, got {quote(value)}") from None
    elif isinstance(value, float):
        # Only reachable from Python callers, never from YAML (the loader builds Decimals from text).
        dec = Decimal(repr(value))
    elif value is None:
        raise NumberError(f"expected {what}, got nothing (null)")
    else:
        raise NumberError(f"expected {what}, got {type_name(value)}")
    if dec.is_nan():
        raise NumberError(f"expected {what}, got NaN")
    if dec.is_infinite():
        raise NumberError(f"expected {what}, got infinity")
    return dec


def type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if value is None:
        return "nothing (null)"
    return "text"


def decimal_places(value: Decimal) -> int:
    """Number of digits after the point that carry information (trailing zeros do not)."""
    normal = value.normalize(EXACT)
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def to_units(amount: Decimal, decimals: int) -> int:
    """Exact token units of ``amount``; the caller has checked that it has at most ``decimals`` places."""
    with localcontext(EXACT):
        scaled = amount.scaleb(decimals)
        if scaled != scaled.to_integral_value():
            raise NumberError(f"{amount} has more than {decimals} decimal places")
        return int(scaled)


def units_floor(amount: Decimal, decimals: int) -> int:
    """Token units of ``amount`` rounded down (used for generated amounts, which may not be exact)."""
    with localcontext(EXACT):
        return int(amount.scaleb(decimals).to_integral_value(rounding=ROUND_DOWN))


def from_units(units: int, decimals: int) -> Decimal:
    with localcontext(EXACT):
        return Decimal(units).scaleb(-decimals)


def quantize_places(value: Decimal, places: int) -> Decimal:
    with localcontext(EXACT):
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def round_significant(value: Decimal, digits: int) -> Decimal:
    """Round to ``digits`` significant digits, half to even; exact and platform independent."""
    if value == 0:
        return Decimal(0)
    with localcontext(EXACT):
        exponent = value.adjusted() - digits + 1
        return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def wad(value: Decimal) -> int:
    """A fraction as a WAD integer (exact; callers pass values with at most 18 places)."""
    return to_units(value, 18)


def plain(value: Decimal) -> str:
    """Decimal as plain text without exponent or trailing zeros: ``1E+3`` → ``1000``, ``0.50`` → ``0.5``."""
    with localcontext(EXACT):
        normal = value.normalize()
        text = format(normal, "f")
    return "0" if text in ("-0", "0") else text


def fmt_decimal(value: Decimal, places: int = 6) -> str:
    """Human text for reports: at most ``places`` decimals (half-even), no exponent, ∞ for infinity."""
    if value.is_infinite():
        return "∞" if value > 0 else "-∞"
    if decimal_places(value) > places:
        value = quantize_places(value, places)
    return plain(value)
