"""Whose borrowing rules the capital-efficiency figures follow (:mod:`marginlab.report.capital`): the protocol the
replay runs on, as marginlab configures it. Pure: from the plan and the adapters' own parameter rules; no chain.

- ``marginlab``: the vault's initial weights (asset_weight.init, liab_weight.init), one signed balance per asset
  and sub-account (a deposit and a borrow of one asset net).
- ``aave-v3``: each reserve's LTV as the adapter configures it (asset_weight.init in basis points, rounded down),
  debt at 1, a supply and a debt of one asset kept apart (no netting); a sub-account is one address.
- ``morpho-blue``: each market's LLTV as the adapter creates it (the collateral's asset_weight.maint ÷ the loan's
  liab_weight.maint; Morpho has one ratio for borrowing and liquidation), debt at 1; a book is expressible only
  as one collateral asset against one other loan asset (isolated).
- any other protocol (a user adapter): the vault's weights, and the label says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping

from marginlab.scenario.plan import Plan

#: (collateral weight per asset, debt weight per asset) for one book, or why the protocol cannot hold it
Weights = tuple[dict[str, Fraction], dict[str, Fraction]]


@dataclass(frozen=True)
class CapitalRules:
    protocol: str
    label: str  # one sentence for the report: whose rules these are
    asset: Mapping[str, Fraction]
    liab: Mapping[str, Fraction]
    netting: bool
    #: Morpho: the collateral weight of a market (collateral, loan); a book must be exactly one such pair
    pair: Callable[[str, str], Fraction] | None = None

    def weights(self, deposits: set[str], borrows: set[str]) -> Weights | str:
        if self.pair is None:
            return dict(self.asset), dict(self.liab)
        if not borrows:
            return dict.fromkeys(deposits, Fraction(0)), {}  # nothing borrowed: no capital needed, whatever held
        if len(deposits) != 1 or len(borrows) != 1 or deposits == borrows:
            held = ", ".join(sorted(deposits)) or "nothing"
            return (f"holds {held} against {', '.join(sorted(borrows))}: a {self.protocol} position pairs one "
                    f"collateral asset with one other loan asset")
        (c,), (loan,) = deposits, borrows
        return {c: self.pair(c, loan)}, {loan: Fraction(1)}


def vault_rules(plan: Plan, protocol: str = "marginlab") -> CapitalRules:
    label = ("Rules: the marginlab vault's initial weights (asset_weight.init, liab_weight.init), a deposit and a "
             "borrow of one asset netted in a sub-account.")
    if protocol != "marginlab":
        label = (f"Rules: the marginlab vault's initial weights, not {protocol}'s own (marginlab does not know "
                 f"them): read these figures as the vault's.")
    return CapitalRules(protocol, label, {m.symbol: Fraction(m.asset_weight.init) for m in plan.markets},
                        {m.symbol: Fraction(m.liab_weight.init) for m in plan.markets}, True)


def capital_rules(plan: Plan, protocol: str = "marginlab") -> CapitalRules:
    """The rules of ``protocol`` for ``plan``'s markets, as marginlab configures that protocol."""
    if protocol == "aave-v3":
        from marginlab.protocols.aave_v3.layout import BPS, reserve_params

        return CapitalRules(protocol, "Rules: Aave v3's, as marginlab configures its reserves: each reserve's LTV "
                                      "(asset_weight.init in basis points, rounded down), debt at 1, a supply and a "
                                      "debt of one asset kept apart (Aave does not net them).",
                            {m.symbol: Fraction(reserve_params(m).ltv, BPS) for m in plan.markets},
                            {m.symbol: Fraction(1) for m in plan.markets}, False)
    if protocol == "morpho-blue":
        from marginlab.protocols.morpho_blue.layout import lltv_of
        from marginlab.protocols.morpho_blue.math import WAD

        return CapitalRules(protocol, "Rules: Morpho Blue's, as marginlab creates its markets: each market's LLTV "
                                      "(the collateral's asset_weight.maint ÷ the loan's liab_weight.maint; Morpho "
                                      "borrows and liquidates at the same ratio), debt at 1; a book is expressible "
                                      "only as one collateral asset against one loan asset (isolated).",
                            {}, {}, False, pair=lambda c, loan: Fraction(lltv_of(plan, c, loan), WAD))
    return vault_rules(plan, protocol)
