"""Capital efficiency: how much capital each account's book needs in cross and in isolated margin, how far the
book could be scaled on the deposits it has, and what netting frees (issue 21, item 1). Pure: from the plan's
positions, initial prices and the borrowing rules of the protocol the replay runs on (the vault's below; Aave v3's
and Morpho Blue's in :mod:`marginlab.report.capital_rules`, which the same search uses); no chain.

The vault's initial health of a sub-account is Σ asset_weight.init × value of each net deposit − Σ
liab_weight.init × value of each net debt, where the balances are netted per asset (one signed balance per
sub-account and asset). Scaling every deposit by k and keeping the borrows makes each asset's net balance
k·D − B, so the health is a continuous, increasing, piecewise-linear function of k with a kink at each B/D. The
capital needed is k × the deposits' USD value for the smallest k ≥ 0 whose health is ≥ 0 in every sub-account
(the same k for all of them). Health is homogeneous of degree one in the book, so the whole book (deposits and
borrows) scales by up to 1/k on the current deposits. Every figure is an exact rational (``Fraction``); the
tables round the capital up and the scale down, to the cent and to 4 places.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Literal, Sequence

from marginlab.numbers import fmt_decimal
from marginlab.report.capital_rules import CapitalRules, capital_rules
from marginlab.scenario.plan import Plan, PlannedAccount

MarginMode = Literal["cross", "isolated"]


@dataclass(frozen=True)
class Book:
    """A sub-account's opening book in USD at the initial prices: per asset, deposits and borrows."""

    deposits: dict[str, Fraction]
    borrows: dict[str, Fraction]


@dataclass(frozen=True)
class Efficiency:
    """One account in one margin mode. ``k`` None: some sub-account borrows with nothing deposited (no k opens
    it), or the protocol cannot hold the book (``refused`` says why); ``max_scale`` None: nothing borrowed, the
    book scales without bound."""

    account: str
    mode: MarginMode
    deposits_usd: Fraction
    k: Fraction | None
    capital_usd: Fraction | None
    max_scale: Fraction | None
    refused: str | None = None


@dataclass(frozen=True)
class Offset:
    """In cross margin, one asset deposited by some positions and borrowed by others: the netted USD value and
    the initial health netting frees (liab_weight.init − asset_weight.init per USD netted)."""

    symbol: str
    depositors: tuple[int, ...]
    borrowers: tuple[int, ...]
    netted_usd: Fraction
    health_freed_usd: Fraction


@dataclass(frozen=True)
class AccountCapital:
    account: str
    cross: Efficiency
    isolated: Efficiency
    offsets: tuple[Offset, ...]
    rules: str = ""  # whose rules the figures follow (one sentence)
    nets: bool = True  # whether those rules net a deposit and a borrow of one asset

    @property
    def freed_usd(self) -> Fraction | None:
        """Capital cross margin saves over isolated margin (the same book, its netting and pooling)."""
        if self.cross.capital_usd is None or self.isolated.capital_usd is None:
            return None
        return self.isolated.capital_usd - self.cross.capital_usd


def _usd(plan: Plan, symbol: str, units: int) -> Fraction:
    return Fraction(units) * Fraction(plan.initial_prices[symbol]) / 10 ** plan.decimals(symbol)


def position_book(plan: Plan, acct: PlannedAccount, positions: Sequence[int]) -> Book:
    deposits: dict[str, Fraction] = {}
    borrows: dict[str, Fraction] = {}
    for i in positions:
        pos = acct.positions[i]
        for s, v in pos.deposit.items():
            deposits[s] = deposits.get(s, Fraction(0)) + _usd(plan, s, v)
        for s, v in pos.borrow.items():
            borrows[s] = borrows.get(s, Fraction(0)) + _usd(plan, s, v)
    return Book(deposits, borrows)


def health_init(plan: Plan, book: Book, k: Fraction, rules: CapitalRules | None = None) -> Fraction:
    """The initial health (USD) of ``book`` with every deposit scaled by ``k`` under ``rules`` (default: the
    vault's, balances netted per asset). The book must be one the rules can hold (see ``CapitalRules.weights``)."""
    rules = rules if rules is not None else capital_rules(plan)
    weights = rules.weights({s for s, v in book.deposits.items() if v}, {s for s, v in book.borrows.items() if v})
    assert not isinstance(weights, str), weights
    asset, liab = weights
    total = Fraction(0)
    for s in sorted(set(book.deposits) | set(book.borrows)):
        d, b = k * book.deposits.get(s, Fraction(0)), book.borrows.get(s, Fraction(0))
        if rules.netting:
            net = d - b
            total += (asset[s] if net > 0 else liab[s]) * net
        else:
            total += asset.get(s, Fraction(0)) * d - liab.get(s, Fraction(0)) * b
    return total


def smallest_k(plan: Plan, book: Book, rules: CapitalRules | None = None) -> Fraction | None:
    """The smallest k ≥ 0 with ``health_init(book, k) ≥ 0``: found on the linear piece between two kinks."""
    h = lambda k: health_init(plan, book, k, rules)  # noqa: E731
    if h(Fraction(0)) >= 0:
        return Fraction(0)
    kinks = sorted({b / book.deposits[s] for s, b in book.borrows.items() if book.deposits.get(s, 0) > 0})
    lo = Fraction(0)
    for hi in [*kinks, (kinks[-1] if kinks else Fraction(0)) + 1]:
        if hi <= lo:
            continue
        if h(hi) >= 0:
            return lo + (-h(lo)) * (hi - lo) / (h(hi) - h(lo))
        lo = hi
    slope = h(lo + 1) - h(lo)  # past the last kink every deposited asset is a net deposit
    return lo + (-h(lo)) / slope if slope > 0 else None


def efficiency(plan: Plan, acct: PlannedAccount, mode: MarginMode, rules: CapitalRules | None = None) -> Efficiency:
    rules = rules if rules is not None else capital_rules(plan)
    groups = [list(range(len(acct.positions)))] if mode == "cross" else [[i] for i in range(len(acct.positions))]
    books = [position_book(plan, acct, g) for g in groups]
    deposits = sum((v for b in books for v in b.deposits.values()), Fraction(0))
    for b in books:
        why = rules.weights({s for s, v in b.deposits.items() if v}, {s for s, v in b.borrows.items() if v})
        if isinstance(why, str):
            return Efficiency(acct.name, mode, deposits, None, None, None, refused=why)
    ks = [smallest_k(plan, b, rules) for b in books]
    if any(k is None for k in ks):
        return Efficiency(acct.name, mode, deposits, None, None, None)
    k = max((x for x in ks if x is not None), default=Fraction(0))
    return Efficiency(acct.name, mode, deposits, k, k * deposits, (1 / k) if k > 0 else None)


def offsets(plan: Plan, acct: PlannedAccount) -> tuple[Offset, ...]:
    out = []
    for s in sorted({s for p in acct.positions for s in p.deposit} & {s for p in acct.positions for s in p.borrow}):
        dep = tuple(i for i, p in enumerate(acct.positions) if p.deposit.get(s))
        bor = tuple(i for i, p in enumerate(acct.positions) if p.borrow.get(s))
        if not dep or not bor or set(dep) == set(bor) and len(dep) == 1:
            continue
        d = sum((_usd(plan, s, acct.positions[i].deposit[s]) for i in dep), Fraction(0))
        b = sum((_usd(plan, s, acct.positions[i].borrow[s]) for i in bor), Fraction(0))
        m = plan.market(s)
        netted = min(d, b)
        out.append(Offset(s, dep, bor, netted, netted * (Fraction(m.liab_weight.init) - Fraction(m.asset_weight.init))))
    return tuple(out)


def capital_efficiency(plan: Plan, protocol: str = "marginlab") -> list[AccountCapital]:
    """Every account of the plan, in both margin modes (whatever mode the plan itself replays), under the rules
    of ``protocol`` as marginlab configures it (:mod:`marginlab.report.capital_rules`). The netting notes are the
    vault's: only it nets a deposit and a borrow of one asset."""
    rules = capital_rules(plan, protocol)
    return [AccountCapital(a.name, efficiency(plan, a, "cross", rules), efficiency(plan, a, "isolated", rules),
                           offsets(plan, a) if rules.netting else (), rules.label, rules.netting)
            for a in plan.accounts]


# ------------------------------------------------------------------------------------------------ rendering
def _dec(value: Fraction, places: int, rounding: str) -> str:
    q = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-places), rounding)
    return fmt_decimal(q, places)


def _cell(value: Fraction | None, places: int, rounding: str, none: str) -> str:
    return none if value is None else _dec(value, places, rounding)


CAPITAL_NOTE = ("Capital needed: the smallest factor k by which the account's deposits can be scaled (borrows "
                "unchanged) with every sub-account still at initial health ≥ 0 (one k for all of them), times the "
                "deposits' USD value, at the initial prices under the protocol's rules (named below; exact, "
                "capital rounded up, scale down). Max book scale: 1/k, how far the whole book (deposits and "
                "borrows) could grow on the current deposits. Freed: isolated capital less cross capital.")


def render_capital(rows: list[AccountCapital]) -> list[str]:
    """The "Capital efficiency" section (markdown lines), for the report and the margin comparison."""
    if not rows:
        return []
    lines = ["", "## Capital efficiency", "", f"{CAPITAL_NOTE} {rows[0].rules}".strip(), "",
             "| account | margin | deposits (USD) | k | capital needed (USD) | max book scale | freed by cross (USD) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in capital_cells(rows)]
    notes = offset_notes(rows)
    if notes:
        lines += ["", NETTING_INTRO, ""]
        lines += [f"- {n}" for n in notes]
    else:
        lines += ["", where_from(rows)]
    refused = refused_notes(rows)
    if refused:
        lines += [""] + [f"- {n}" for n in refused]
    return lines


def where_from(rows: list[AccountCapital]) -> str:
    """Where the difference comes from when no legs net (there are none, or the protocol does not net them)."""
    if all(r.cross.refused is not None for r in rows):
        return NO_CROSS
    return POOLING_ONLY if all(r.nets for r in rows) else NO_NETTING


def refused_notes(rows: list[AccountCapital]) -> list[str]:
    return [f"{r.account}, {e.mode} margin: not expressible: it {e.refused}." for r in rows
            for e in (r.cross, r.isolated) if e.refused is not None]


CAPITAL_COLUMNS = ("account", "margin", "deposits (USD)", "k", "capital needed (USD)", "max book scale",
                   "freed by cross (USD)")
NETTING_INTRO = ("Where the difference comes from: in cross margin one sub-account holds every position, so a "
                 "position's surplus backs another's shortfall (pooling), and legs in the same asset net:")
NO_CROSS = "This protocol cannot hold these books in cross margin: there is nothing for cross margin to save."
NO_NETTING = ("This protocol keeps a deposit and a borrow of one asset apart (no netting): what cross margin saves "
              "here is pooling alone (one position's surplus backs another's shortfall).")
POOLING_ONLY = ("No asset is both deposited and borrowed by different positions: what cross margin saves here is "
                "pooling alone (one position's surplus backs another's shortfall).")


def capital_cells(rows: list[AccountCapital]) -> list[list[str]]:
    """The table's cells (``CAPITAL_COLUMNS``), one row per account and margin mode; report.md and compare.html."""
    out = []
    for r in rows:
        for e in (r.cross, r.isolated):
            freed = _cell(r.freed_usd, 2, ROUND_FLOOR, "–") if e.mode == "cross" else ""
            if e.refused is not None:
                out.append([r.account, e.mode, _dec(e.deposits_usd, 2, ROUND_FLOOR), "not expressible",
                            "not expressible", "–", freed])
                continue
            out.append([r.account, e.mode, _dec(e.deposits_usd, 2, ROUND_FLOOR),
                        _cell(e.k, 6, ROUND_CEILING, "cannot open"),
                        _cell(e.capital_usd, 2, ROUND_CEILING, "cannot open"),
                        _cell(e.max_scale, 4, ROUND_FLOOR, "∞" if e.k is not None else "–"), freed])
    return out


def offset_notes(rows: list[AccountCapital]) -> list[str]:
    """One sentence per asset whose legs net in cross margin (which position's deposit offsets which borrow)."""
    notes = []
    for r in rows:
        for o in r.offsets:
            dep = ", ".join(str(i) for i in o.depositors)
            bor = ", ".join(str(i) for i in o.borrowers)
            notes.append(f"{r.account}: {o.symbol} deposited by position {dep} nets against the {o.symbol} borrowed "
                         f"by position {bor} in cross margin: {_dec(o.netted_usd, 2, ROUND_FLOOR)} USD netted, "
                         f"{_dec(o.health_freed_usd, 2, ROUND_FLOOR)} USD of initial health freed (liability weight "
                         f"minus asset weight per USD).")
    return notes
