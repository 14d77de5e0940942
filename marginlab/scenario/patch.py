"""Patches for ``marginlab replay FILE --ab PATCH.yaml``: the same scenario without and with a change.

A patch is a small YAML file::

    name: higher-bonus              # optional: the B run's name (default: the patch file's stem)
    governance:                     # governance entries inserted as steps of their own
      - {after: "ETH -30 %", set_params: {WETH: {liquidation_bonus: 0.08}}}   # anchored to a step label...
      - {before: 2, pause: [borrow]}                                          # ... or a step index
    set:                            # top-level settings overriding the file's (dotted paths, as sweep --set)
      keeper.max_liquidations_per_step: 2
      markets.0.liquidation_bonus: 0.06

Each governance entry becomes a step just before or after its anchor, in the order the patch lists them.
Every problem in the patch is a ``patch.yaml:line: field: reason`` line before any chain work.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from marginlab.errors import Issue, ScenarioError, quote
from marginlab.scenario.fields import Int, Name, Strict, _err
from marginlab.scenario.model import Governance, Scenario
from marginlab.scenario.reasons import reason_of
from marginlab.scenario.source import Loc, SourceDoc, format_loc, load_yaml_file
from marginlab.scenario.validate import validate_doc


class PatchGovernance(Governance):
    before: str | Annotated[Int, Field(ge=0)] | None = None
    after: str | Annotated[Int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _anchored_once(self) -> PatchGovernance:
        if (self.before is None) == (self.after is None):
            raise _err("anchor", "give exactly one of before: or after: (a step label or index)")
        return self


class Patch(Strict):
    name: Name | None = None
    governance: list[PatchGovernance] = []
    set: dict[str, Any] = {}

    @model_validator(mode="after")
    def _changes_something(self) -> Patch:
        if not self.governance and not self.set:
            raise _err("patch", "a patch needs governance entries or set overrides")
        return self


def load_patch(path: Path | str) -> tuple[Patch, SourceDoc]:
    doc = load_yaml_file(path)
    try:
        return Patch.model_validate(doc.data), doc
    except ValidationError as exc:
        raise ScenarioError([doc.issue(tuple(err["loc"]), reason_of(doc, tuple(err["loc"]), dict(err)))
                             for err in exc.errors(include_url=False)]) from None


def patch_name(patch: Patch, path: Path | str) -> str:
    return patch.name or Path(path).stem


def apply_patch(scenario_doc: SourceDoc, patch: Patch, patch_doc: SourceDoc) -> tuple[Scenario, SourceDoc]:
    """The scenario with the patch applied, validated; its line map keeps pointing at the scenario file (steps
    shifted past inserted ones), an inserted step points at its anchor."""
    data = copy.deepcopy(scenario_doc.data)
    issues: list[Issue] = []
    for path, value in patch.set.items():
        problem = _override(data, path, value)
        if problem is not None:
            issues.append(patch_doc.issue(("set", path), problem))
    steps = list(data.get("steps") or [])
    labels = {s.get("label"): i for i, s in enumerate(steps) if isinstance(s, dict) and s.get("label") is not None}
    inserted: dict[int, list[tuple[int, dict[str, Any]]]] = {}  # original slot → (patch index, step), in order
    for k, entry in enumerate(patch.governance):
        anchor = entry.before if entry.before is not None else entry.after
        where = ("governance", k, "before" if entry.before is not None else "after")
        index = labels.get(anchor) if isinstance(anchor, str) else anchor
        if index is None or not 0 <= index < len(steps):
            shown = ", ".join(map(str, labels)) or "none"
            issues.append(patch_doc.issue(where, f"no step {quote(anchor)} in {scenario_doc.file} "
                                                 f"({len(steps)} steps; labels: {shown})"))
            continue
        slot = index if entry.before is not None else index + 1
        raw = patch_doc.data["governance"][k]
        body = {key: value for key, value in raw.items() if key not in ("before", "after")}
        inserted.setdefault(slot, []).append((k, {"label": f"patch: {_label(body)}", "governance": body}))
    if issues:
        raise ScenarioError(issues)
    new_steps: list[Any] = []
    moved: dict[int, int] = {}
    anchor_of: dict[int, int] = {}
    for slot in range(len(steps) + 1):
        for _, step in inserted.get(slot, []):
            anchor_of[len(new_steps)] = min(slot, len(steps) - 1)
            new_steps.append(step)
        if slot < len(steps):
            moved[slot] = len(new_steps)
            new_steps.append(steps[slot])
    if new_steps:
        data["steps"] = new_steps
    lines: dict[Loc, int] = {}
    for loc, line in scenario_doc.lines.items():
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            lines[("steps", moved.get(loc[1], loc[1]), *loc[2:])] = line
        else:
            lines[loc] = line
    for new, old in anchor_of.items():
        lines[("steps", new)] = scenario_doc.line_of(("steps", old))
    return validate_doc(SourceDoc(scenario_doc.file, data, lines))


def _label(body: dict[str, Any]) -> str:
    return ", ".join(f"{key}" for key in body)


def _override(data: dict[str, Any], path: str, value: Any) -> str | None:
    """Set ``path`` (dotted, list items by index) in ``data``; the reason it cannot be, if so."""
    parts = path.split(".")
    node: Any = data
    for n, part in enumerate(parts[:-1]):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, dict):
            node = node.setdefault(part, {})
        else:
            return f"{format_loc(tuple(parts[:n + 1]))} does not lead to a setting of the scenario"
    last = parts[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        return f"{path} does not name a setting of the scenario"
    return None
