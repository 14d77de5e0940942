"""Which position drained a cross-margin account: each liquidation of a cross sub-account attributed to the
positions it holds, from the legs ``replay --attribution`` records (:class:`~marginlab.timeline.PositionBook`).

For a sub-account liquidated in step k, compare "just before the step's liquidations" with opening (after set-up).
A position's *maintenance-weighted value* is the DESIGN §1 health formula applied to its own legs alone
(deposits × maintenance asset weight − borrows × maintenance liability weight, at the step's prices). Then,
exactly (Decimal arithmetic, no rounding):

    change in the account's maintenance health  =  Σ_positions (price move + actions)  +  netting  +  not in the legs

- **price move** of a position: its opening legs revalued from the opening prices to step k's;
- **actions**: what the scenario's own deposits, withdrawals, borrows, repays and transfers on that position
  added, valued at step k's prices (``all`` closes a leg);
- **netting**: the vault weights one net balance per asset, not each position's leg (a USDC deposit in one
  position and a USDC borrow in another count once, at one weight); its change is price moves on netted assets;
- **not in the legs**: balances the legs do not explain — interest accrued, earlier liquidations, token fees.

The balances just before the step's liquidations are the step's recorded balances with its liquidations and
bad-debt settlements added back (token units; at most a unit of the vault's rounding per asset differs), and
health is the exact formula on them; the vault's own health factor before the first liquidation is printed beside
the reconstructed one. Weights are the markets' opening weights (a governance change shows as a difference).
Pure: reads only the timeline.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from marginlab.numbers import EXACT, fmt_decimal, from_units
from marginlab.report.metrics import wad_to_decimal
from marginlab.timeline import Liquidation, PositionLegs, StepRecord, Timeline

Legs = dict[str, int]


@dataclass(frozen=True)
class Contribution:
    position: int
    legs: Legs  # at the step (opening legs and the actions on them)
    price: Decimal  # the opening legs' change in maintenance-weighted value, opening prices → the step's
    actions: Decimal  # what the position's own actions added, at the step's prices

    @property
    def total(self) -> Decimal:
        with localcontext(EXACT):
            return self.price + self.actions


@dataclass(frozen=True)
class Flow:
    """Collateral seized from one position's legs to repay another's (shares pro rata to leg sizes)."""

    debt_position: int | None  # None: no position borrows the repaid asset (interest turned a netted deposit)
    collateral_position: int | None
    debt: str
    collateral: str
    seized_usd: Decimal


@dataclass(frozen=True)
class Attribution:
    key: str
    owner: str
    step: int
    label: str
    liquidations: tuple[Liquidation, ...]
    health_open: Decimal
    health_before: Decimal
    positions: tuple[Contribution, ...]
    netting: Decimal
    unexplained: Decimal
    flows: tuple[Flow, ...]
    hf_before: Decimal  # reconstructed from the balances
    vault_hf_before: Decimal  # the vault's, from the first liquidation's event

    @property
    def change(self) -> Decimal:
        with localcontext(EXACT):
            return self.health_before - self.health_open

    @property
    def drained_by(self) -> list[Contribution]:
        """Positions whose value fell, most first: the ones that took the account under water."""
        return sorted((c for c in self.positions if c.total < 0), key=lambda c: c.total)


class _Weights:
    def __init__(self, timeline: Timeline) -> None:
        self.decimals = timeline.decimals()
        self.asset = {m.symbol: Decimal(m.asset_weight_maint) for m in timeline.markets}
        self.liab = {m.symbol: Decimal(m.liab_weight_maint) for m in timeline.markets}

    def value(self, balances: Legs, prices: dict[str, str]) -> Decimal:
        """Maintenance-weighted value (DESIGN §1's health_maint), exact."""
        with localcontext(EXACT):
            total = Decimal(0)
            for sym, units in balances.items():
                usd = from_units(units, self.decimals[sym]) * Decimal(prices[sym])
                total += usd * (self.asset[sym] if units > 0 else self.liab[sym])
            return total

    def unweighted(self, balances: Legs, prices: dict[str, str], sign: int) -> Decimal:
        with localcontext(EXACT):
            return sum((abs(from_units(u, self.decimals[s]) * Decimal(prices[s])) * (self.asset[s] if u > 0 else
                        self.liab[s]) for s, u in balances.items() if u * sign > 0), Decimal(0))


def _net(legs: list[Legs]) -> Legs:
    out: Legs = {}
    for leg in legs:
        for sym, units in leg.items():
            out[sym] = out.get(sym, 0) + units
    return out


def _legs_at(timeline: Timeline, opening: list[PositionLegs], step: int) -> dict[int, Legs]:
    """Each position's legs after the actions of steps up to ``step`` that went through."""
    assert timeline.legs is not None
    legs = {p.position: dict(p.legs) for p in opening}
    owner = opening[0].owner
    ok: dict[tuple[int, str], bool] = {}
    for r in timeline.steps:
        for a in r.actions:
            ok[(a.step, a.source)] = ok.get((a.step, a.source), True) and a.ok
    for m in timeline.legs.moves:
        if m.owner != owner or m.step > step or m.position not in legs or not ok.get((m.step, m.source), False):
            continue
        leg = legs[m.position]
        leg[m.asset] = 0 if m.closes else leg.get(m.asset, 0) + m.change
    return {p: {s: u for s, u in leg.items() if u != 0} for p, leg in legs.items()}


def _before(record: StepRecord, key: str, liqs: list[Liquidation], timeline: Timeline, sub_id: int) -> Legs:
    """The sub-account's balances before the step's liquidations and bad-debt settlements."""
    balances = dict(record.accounts[key].balances)
    for x in liqs:
        if x.absorbed is not None:  # an absorption: every collateral back (its debts come back below)
            for sym, units in x.absorbed.items():
                balances[sym] = balances.get(sym, 0) + units
            continue
        balances[x.debt] = balances.get(x.debt, 0) - x.repaid
        balances[x.collateral] = balances.get(x.collateral, 0) + x.seized
    for b in timeline.bad_debts:
        if b.step == record.index and b.account == liqs[0].account and b.sub_id == sub_id:
            balances[b.asset] = balances.get(b.asset, 0) - b.debt
    return balances


def _shares(legs: dict[int, Legs], sym: str, sign: int) -> dict[int | None, Decimal]:
    held = {p: abs(leg[sym]) for p, leg in legs.items() if leg.get(sym, 0) * sign > 0}
    total = sum(held.values())
    if not total:
        return {None: Decimal(1)}
    with localcontext(EXACT):
        return {p: Decimal(v) / total for p, v in held.items()}


def attribute(timeline: Timeline) -> list[Attribution]:
    """One attribution per (cross sub-account, step with liquidations of it); empty without recorded legs."""
    if timeline.legs is None or timeline.setup is None:
        return []
    w = _Weights(timeline)
    records = {r.index: r for r in timeline.steps}
    setup = timeline.setup
    out = []
    for sub in timeline.sub_accounts:
        if sub.margin != "cross":
            continue
        opening = [p for p in timeline.legs.positions if p.owner == sub.owner and p.sub_id == sub.sub_id]
        liqs = [x for x in timeline.liquidations if x.account == sub.owner and x.sub_id == sub.sub_id]
        if not opening or not liqs or sub.key not in setup.accounts:
            continue
        for step in dict.fromkeys(x.step for x in liqs):
            out.append(_attribute_step(timeline, w, records[step], sub.key, opening,
                                       [x for x in liqs if x.step == step], sub.sub_id))
    return out


def _attribute_step(timeline: Timeline, w: _Weights, record: StepRecord, key: str, opening: list[PositionLegs],
                    liqs: list[Liquidation], sub_id: int) -> Attribution:
    setup = timeline.setup
    assert setup is not None
    # the protocol's prices: the feeds' (``oracle_prices``, when an oracle model lags the path) or the path
    p0, pk = setup.oracle_prices or setup.prices, record.oracle_prices or record.prices
    first = {p.position: {s: u for s, u in p.legs.items() if u != 0} for p in opening}
    now = _legs_at(timeline, opening, record.index)
    before = _before(record, key, liqs, timeline, sub_id)
    with localcontext(EXACT):
        health_open = w.value(setup.accounts[key].balances, p0)
        health_before = w.value(before, pk)
        positions = tuple(Contribution(p, now[p], w.value(first[p], pk) - w.value(first[p], p0),
                                       w.value(now[p], pk) - w.value(first[p], pk)) for p in sorted(first))
        netting = (w.value(_net(list(now.values())), pk) - sum((w.value(v, pk) for v in now.values()), Decimal(0))) \
            - (w.value(_net(list(first.values())), p0) - sum((w.value(v, p0) for v in first.values()), Decimal(0)))
        unexplained = (health_before - w.value(_net(list(now.values())), pk)) \
            - (health_open - w.value(_net(list(first.values())), p0))
        debt_w = w.unweighted(before, pk, -1)
        hf = w.unweighted(before, pk, 1) / debt_w if debt_w else Decimal("Infinity")
        flows = []
        for x in (x for x in liqs if x.absorbed is None):  # an absorption takes everything: no pair to split
            seized = wad_to_decimal(x.seized_value)
            for dp, ds in _shares(now, x.debt, -1).items():
                for cp, cs in _shares(now, x.collateral, 1).items():
                    flows.append(Flow(dp, cp, x.debt, x.collateral, seized * ds * cs))
    return Attribution(key, liqs[0].account, record.index, record.label or record.source, tuple(liqs), health_open,
                       health_before, positions, netting, unexplained, tuple(flows), hf,
                       wad_to_decimal(liqs[0].health_factor_before))


# --------------------------------------------------------------------------------------------------- text

def _usd(value: Decimal) -> str:
    return fmt_decimal(value.quantize(Decimal("0.01")) if value.is_finite() else value, 2)


def legs_text(legs: Legs, decimals: dict[str, int]) -> str:
    return ", ".join(f"{'+' if u > 0 else '-'}{fmt_decimal(from_units(abs(u), decimals[s]), 6)} {s}"
                     for s, u in legs.items()) or "no legs left"


def _who(position: int | None) -> str:
    return "no position's leg" if position is None else f"position {position}"


def render_attribution(timeline: Timeline) -> list[str]:
    """The report's ``## Attribution`` section (empty without recorded legs)."""
    if timeline.legs is None:
        return []
    decimals = timeline.decimals()
    lines = ["", "## Attribution", ""]
    found = attribute(timeline)
    if not found:
        return lines + ["No cross sub-account was liquidated."]
    lines += ["Each liquidated cross sub-account, just before the step's liquidations against opening: each "
              "position's change in maintenance-weighted value (its own legs alone), the netting of legs in one "
              "balance per asset, and balances the legs do not explain (interest, earlier liquidations, token "
              "fees). The lines add up exactly to the account's change in maintenance health (USD; each is shown "
              "rounded to the cent)."]
    for a in found:
        lines += ["", f"### {a.key}, step {a.step} ({a.label}): {len(a.liquidations)} liquidation(s)", ""]
        lines.append(f"Maintenance health {_usd(a.health_open)} at opening → {_usd(a.health_before)} just before "
                     f"(change {_usd(a.change)}); health factor before: {fmt_decimal(a.hf_before, 4)} from the "
                     f"balances, {fmt_decimal(a.vault_hf_before, 4)} from the vault's event.")
        lines += ["", "| line | price moves | actions | contribution (USD) |", "|---|---:|---:|---:|"]
        for c in a.positions:
            lines.append(f"| position {c.position} ({legs_text(c.legs, decimals)}) | {_usd(c.price)} | "
                         f"{_usd(c.actions)} | {_usd(c.total)} |")
        lines += [f"| netting in one balance per asset | | | {_usd(a.netting)} |",
                  f"| not in the legs (interest, earlier liquidations, fees) | | | {_usd(a.unexplained)} |",
                  f"| **change in maintenance health** | | | **{_usd(a.change)}** |", ""]
        drained = a.drained_by
        if drained:
            lines.append("Drained by " + ", ".join(f"position {c.position} ({_usd(c.total)})" for c in drained) + ".")
        lines += ["", "| liquidation repaid the debt of | with collateral of | debt → collateral | seized (USD) |",
                  "|---|---|---|---:|"]
        lines += [f"| {_who(f.debt_position)} | {_who(f.collateral_position)}"
                  f"{' (its own)' if f.debt_position == f.collateral_position else ''} | {f.debt} → {f.collateral} | "
                  f"{_usd(f.seized_usd)} |" for f in a.flows]
    return lines


def render_compare_attribution(timelines: dict[str, Timeline]) -> list[str]:
    """compare.md's section: per account, whose debt was paid with whose collateral (cross runs with legs)."""
    rows = []
    for mode, timeline in timelines.items():
        found = attribute(timeline)
        decimals = timeline.decimals()
        for owner in dict.fromkeys(a.owner for a in found):
            mine = [a for a in found if a.owner == owner]
            worst = min(mine[0].positions, key=lambda c: c.total)
            paid: dict[tuple[int | None, int | None], Decimal] = {}
            for a in mine:
                for f in a.flows:
                    paid[(f.debt_position, f.collateral_position)] = paid.get((f.debt_position,
                                                                               f.collateral_position), Decimal(0)) \
                        + f.seized_usd
            for (dp, cp), usd in paid.items():
                rows.append(f"| {owner} | {mode} | position {worst.position} ({legs_text(worst.legs, decimals)}): "
                            f"{_usd(worst.total)} | {_who(dp)} | {_who(cp)}{' (its own)' if dp == cp else ''} | "
                            f"{_usd(usd)} |")
    if not rows:
        return []
    return ["", "## Who paid for whose loss (cross margin, replay --attribution)", "",
            "Per account: the position whose maintenance-weighted value fell most by its first liquidation, and "
            "for every liquidation whose debt was repaid with which position's collateral (shares pro rata to the "
            "positions' legs in the two assets).", "",
            "| account | margin | drained by (change in maintenance value, USD) | debt of | paid with collateral of | "
            "collateral seized (USD) |", "|---|---|---|---|---|---:|", *rows]
