"""``strategies:`` made concrete for the engine: token units, the sub-account each acts on, WAD thresholds, where
each was written (:mod:`marginlab.scenario.strategies` has the section's model and checks)."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Mapping, Sequence

from marginlab.numbers import to_units, wad
from marginlab.scenario.actions import Source
from marginlab.scenario.model import Scenario
from marginlab.scenario.source import SourceDoc
from marginlab.scenario.strategies import KINDS


@dataclass(frozen=True)
class PriceTrigger:
    symbol: str
    side: Literal["above", "below"]
    level: Decimal

    def crossed(self, price: Decimal) -> bool:
        return price >= self.level if self.side == "above" else price <= self.level

    def __str__(self) -> str:
        return f"{self.symbol} {'≥' if self.side == 'above' else '≤'} {self.level}"


@dataclass(frozen=True)
class PlannedStrategy:
    """One behaviour of one account. ``share``: of the opening margin (exits); ``below``: a health factor, WAD
    (top-up, deleverage); ``amounts``: what a top-up deposits or a deleverage repays each time; ``budget``: a
    top-up's total per asset."""

    index: int
    account: str
    kind: str
    position: int
    sub_id: int
    delay: int
    miss: Decimal
    source: Source
    share: Decimal | None = None
    price: PriceTrigger | None = None
    below: int | None = None
    amounts: dict[str, int] = field(default_factory=dict)
    budget: dict[str, int] = field(default_factory=dict)
    route: str = "wallet"
    #: a lender's withdraw: its trigger (a utilisation, WAD, held for ``for_steps`` steps; or a run after bad
    #: debt) and the share of its deposits it takes out
    utilisation: int | None = None
    for_steps: int = 1
    after_bad_debt: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}[{self.index}]"


def plan_strategies(scenario: Scenario, doc: SourceDoc, sub_ids: Mapping[str, Sequence[int]],
                    decimals: Mapping[str, int], kinds: Sequence[str] = KINDS) -> tuple[PlannedStrategy, ...]:
    """Every strategy of a kind in ``kinds`` whose account the plan has; ``sub_ids``: account → sub-account of
    each position in the plan's margin mode."""
    out = []
    for i, s in enumerate(scenario.strategies):
        if s.kind not in kinds or s.account not in sub_ids:
            continue
        spec = getattr(s, s.kind)
        loc = ("strategies", i)
        units = lambda m: {sym: to_units(Decimal(v), decimals[sym]) for sym, v in m.items()}  # noqa: E731
        common: dict[str, Any] = dict(index=i, account=s.account, kind=s.kind, position=s.position,
                      sub_id=sub_ids[s.account][s.position], delay=s.delay, miss=s.miss,
                      source=Source(loc, doc.line_of(loc)))
        if s.kind in ("stop_loss", "take_profit"):
            trigger = None
            if spec.price is not None:
                side: Literal["above", "below"] = "above" if spec.price.above is not None else "below"
                level = spec.price.above if spec.price.above is not None else spec.price.below
                assert level is not None
                trigger = PriceTrigger(spec.price.symbol, side, level)
            out.append(PlannedStrategy(**common, share=spec.share, price=trigger, route=spec.route))
        elif s.kind == "top_up":
            out.append(PlannedStrategy(**common, below=wad(spec.below), amounts=units(spec.deposit),
                                       budget=units(spec.budget)))
        elif s.kind == "deleverage":
            out.append(PlannedStrategy(**common, below=wad(spec.below), amounts=units(spec.repay), route=spec.route))
        else:
            out.append(PlannedStrategy(**common, share=spec.share, for_steps=spec.for_steps,
                                       after_bad_debt=spec.after_bad_debt,
                                       utilisation=wad(spec.utilisation_above)
                                       if spec.utilisation_above is not None else None))
    return tuple(out)
