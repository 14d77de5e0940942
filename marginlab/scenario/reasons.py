"""Why pydantic refused a scenario field, in the scenario format's words: the part of validation that both the
validator (``validate.py``) and the books loader (``books.py``) use, so neither imports the other."""
from __future__ import annotations

import typing
from decimal import Decimal
from typing import Any, Iterator

from pydantic import BaseModel, ValidationError

from marginlab.errors import Issue, quote
from marginlab.numbers import plain, type_name
from marginlab.scenario.fields import ERROR_NAME_PATTERN
from marginlab.scenario.model import CsvPath, GbmPath, Scenario
from marginlab.scenario.source import Loc, SourceDoc


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """Drop the parts pydantic adds that are not in the file (union tags, function names); keep a missing leaf."""
    out: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, dict) and isinstance(part, str) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif last and isinstance(part, (str, int)) and isinstance(cur, dict):
            out.append(part)  # a missing required field, or a dict key pydantic rejected
        elif isinstance(cur, dict) and part == "[key]":
            continue
        else:
            continue
    return tuple(out)


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside Annotated / Optional / Union."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        out = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    return [tp]


def _model_at(data: Any, loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (to list the fields it allows)."""
    tp: Any = Scenario
    cur = data
    for part in loc:
        candidates = _unwrap(tp)
        nxt = None
        for cand in candidates:
            origin = typing.get_origin(cand)
            if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(part, str):
                if part in cand.model_fields:
                    nxt = cand.model_fields[part].annotation
                    break
            elif origin is list and isinstance(part, int):
                nxt = typing.get_args(cand)[0]
                break
            elif origin is dict and isinstance(part, str):
                nxt = typing.get_args(cand)[1]
                break
        if nxt is None:
            return None
        tp = nxt
        cur = cur.get(part) if isinstance(cur, dict) else cur[part] if isinstance(cur, list) and isinstance(part, int) \
            else None
    models = [c for c in _unwrap(tp) if isinstance(c, type) and issubclass(c, BaseModel)]
    if len(models) > 1 and isinstance(cur, dict):  # paths: choose by `model:`
        by_name: dict[str, type[BaseModel]] = {"gbm": GbmPath, "csv": CsvPath}
        return by_name.get(str(cur.get("model")))
    return models[0] if models else None


def reason_of(doc: SourceDoc, loc: Loc, err: dict[str, Any]) -> str:
    """The reason a pydantic error reports, in the scenario format's words."""
    return _reason(doc, loc, err)


def _reason(doc: SourceDoc, loc: Loc, err: dict[str, Any]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        model = _model_at(doc.data, loc[:-1])
        if model is not None:
            return f"unknown field; expected one of: {', '.join(model.model_fields)}"
        return "unknown field"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {type_name(value)}"
    if kind == "list_type":
        return f"expected a list, got {type_name(value)}"
    if kind in ("string_type",):
        return f"expected text, got {type_name(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_show(value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed words')}, got {_show(value)}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == ERROR_NAME_PATTERN:
        return f"{_show(value)} is not an error name: use letters, digits and '_', not starting with a digit"
    if kind == "string_pattern_mismatch":
        return (f"{_show(value)} is not a valid name: use letters, digits, '_', '.' or '-', starting with a "
                f"letter")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sym = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {sym} {_show(bound) if isinstance(bound, Decimal) else bound}, got {_show(value)}"
    if kind == "too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else \
            f"needs at least {ctx.get('min_length')} items"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items"
    msg = str(err.get("msg", kind))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg[:1].lower() + msg[1:] if msg and not msg[:2].isupper() else msg


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return str(value)
    return type_name(value)


def pydantic_issues(doc: SourceDoc, exc: ValidationError) -> Iterator[Issue]:
    for err in exc.errors(include_url=False):
        loc = _clean_loc(doc.data, tuple(err["loc"]))
        yield doc.issue(loc, _reason(doc, loc, dict(err)))


