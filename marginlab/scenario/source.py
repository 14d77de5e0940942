"""Load YAML into plain Python values while remembering the line of every mapping key and sequence item.

Numbers become ``int`` or ``decimal.Decimal`` built from the scalar's *text*, never through ``float``, so
``0.1`` in a scenario is exactly one tenth. Duplicate keys are errors (PyYAML silently keeps the last).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from marginlab.errors import Issue, ScenarioError, field_part, quote

Loc = tuple[str | int, ...]
ROOT_FIELD = "(root)"

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_SPECIAL_FLOATS = {".nan": "NaN", ".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity"}


@dataclass
class SourceDoc:
    """A parsed YAML document: its value and the line (1-based) of every location in it."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """Line of ``loc`` or of its nearest ancestor that has one (a missing key points at its parent)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def issue(self, loc: Loc, reason: str) -> Issue:
        return Issue(self.file, self.line_of(loc), format_loc(loc), reason)


def format_loc(loc: Loc) -> str:
    """``("markets", 0, "asset_weight", "init")`` → ``markets[0].asset_weight.init``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = field_part(str(part))
            out += text[1:] if not out and text.startswith(".") else text
    return out or ROOT_FIELD


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Loc, int] = {}
        self.issues: list[Issue] = []
        self._constructor = SafeConstructor()

    def build(self, node: Node, loc: Loc) -> Any:
        if isinstance(node, MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    self.issues.append(Issue(self.file, key_node.start_mark.line + 1, format_loc(loc),
                                             "a mapping key must be a plain word, not a list or mapping"))
                    continue
                # Keys are kept as the text the author wrote: `1:` and `true:` are names, not numbers.
                key = key_node.value
                child = (*loc, key)
                if key in out:
                    self.issues.append(Issue(self.file, key_node.start_mark.line + 1, format_loc(child),
                                             f"duplicate key {quote(key)} (first on line {self.lines[child]})"))
                    continue
                self.lines[child] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                self.lines[(*loc, i)] = item.start_mark.line + 1
                items.append(self.build(item, (*loc, i)))
            return items
        assert isinstance(node, ScalarNode)
        return self._scalar(node)

    def _scalar(self, node: ScalarNode) -> Any:
        text = node.value
        if node.tag == _FLOAT_TAG:
            return _decimal_from_yaml_float(text)
        if node.tag == _INT_TAG:
            return self._constructor.construct_yaml_int(node)
        if node.tag == _BOOL_TAG:
            return self._constructor.construct_yaml_bool(node)
        if node.tag == _NULL_TAG:
            return None
        # Everything else (str, timestamps, binary, custom tags) stays the text the author wrote.
        return text


def _decimal_from_yaml_float(text: str) -> Decimal:
    cleaned = text.replace("_", "")
    special = _SPECIAL_FLOATS.get(cleaned.lower())
    if special is not None:
        return Decimal(special)
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        # YAML 1.1 sexagesimal floats ("1:30.5"): rare; go through float, the author asked for base 60.
        return Decimal(repr(float(SafeConstructor().construct_yaml_float(ScalarNode(_FLOAT_TAG, text)))))


def _line_of_offset(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def parse_yaml_bytes(raw: bytes, file: str) -> SourceDoc:
    """Parse bytes into a :class:`SourceDoc`; raise :class:`ScenarioError` for anything that is not usable YAML."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_of_offset(raw, exc.start)
        reason = f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        raise ScenarioError([Issue(file, line, ROOT_FIELD, reason)]) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ScenarioError([Issue(file, 1, ROOT_FIELD, "file is empty: expected a scenario mapping")])
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ScenarioError([Issue(file, line, ROOT_FIELD, f"not valid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:  # e.g. reader errors for control characters
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ScenarioError([Issue(file, line, ROOT_FIELD, f"not valid YAML: {_one_line(str(exc))}")]) from None
    except RecursionError:
        raise ScenarioError([Issue(file, 1, ROOT_FIELD, "not valid YAML: nesting too deep")]) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise ScenarioError([Issue(file, 1, ROOT_FIELD, "file holds no YAML document: expected a scenario mapping")])
    if len(nodes) > 1:
        raise ScenarioError([Issue(file, nodes[1].start_mark.line + 1, ROOT_FIELD,
                                   "file holds several YAML documents; a scenario is exactly one")])
    root = nodes[0]
    builder = _Builder(file)
    builder.lines[()] = root.start_mark.line + 1
    try:
        data = builder.build(root, ())
    except RecursionError:
        raise ScenarioError([Issue(file, 1, ROOT_FIELD, "not valid YAML: nesting too deep")]) from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # constructor failures on odd scalars
        raise ScenarioError([Issue(file, 1, ROOT_FIELD, f"not valid YAML: {_one_line(str(exc))}")]) from None
    if builder.issues:
        raise ScenarioError(builder.issues)
    if not isinstance(data, dict):
        kind = _kind(data)
        raise ScenarioError([Issue(file, builder.lines[()], ROOT_FIELD,
                                   f"expected a mapping of scenario fields at the top level, got {kind}")])
    return SourceDoc(file, data, builder.lines)


def load_yaml_file(path: Path | str) -> SourceDoc:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([Issue(str(path), 1, ROOT_FIELD, f"cannot read file: {exc.strerror or exc}")]) from None
    return parse_yaml_bytes(raw, str(path))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "nothing (null)"
    if isinstance(value, (int, Decimal)):
        return "a number"
    return "a string"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
