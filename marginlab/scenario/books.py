"""Accounts from data: the scenario's ``books:`` entries read positions from a CSV file, or resample new books
from such a file's distribution, and become ordinary ``accounts:`` before validation.

The CSV (a header row, then one leg per row)::

    owner,position,asset,amount          # amount < 0: a borrow, > 0: a deposit
    alice,long-eth,WETH,10
    alice,long-eth,USDC,-12000
    alice,short-btc,USDC,20000
    alice,short-btc,WBTC,-0.25

or with a ``side`` column (``deposit`` / ``borrow``) and positive amounts. ``position`` groups legs: each
owner's distinct values, in the order they first appear, are its positions 0, 1, ... Every problem is a
``file.csv:line: column: reason`` line.

``resample: {count, seed, jitter}`` draws ``count`` accounts instead (named ``<prefix>-000`` …): each takes a
number of positions drawn from the file's positions-per-owner, each position drawn with replacement from the
file's positions, every amount multiplied by exp(jitter · N(0, 1)) and rounded down to the asset's decimals.
Seeded: ``seed``, or the scenario's (then a sweep over seeds also resamples the book; give ``seed`` to hold it).
"""
from __future__ import annotations

import csv
import math
import re
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from marginlab.errors import Issue, quote, show_name
from marginlab.numbers import NumberError, decimal_places, from_units, plain, to_decimal, units_floor
from marginlab.scenario.fields import NAME_PATTERN
from marginlab.scenario.reasons import reason_of
from marginlab.scenario.sections import BookSpec, Resample
from marginlab.scenario.source import SourceDoc

REQUIRED = ("owner", "position", "asset", "amount")
SIDES = {"deposit": 1, "borrow": -1}
_STREAM = zlib.crc32(b"books")
LegMap = dict[str, dict[str, Decimal]]  # {"deposit": {sym: amount}, "borrow": {...}}


def _markets(data: dict[str, Any]) -> dict[str, int]:
    out = {}
    for m in data.get("markets") or []:
        if isinstance(m, dict) and isinstance(m.get("symbol"), str) and isinstance(m.get("decimals"), int):
            out[m["symbol"]] = m["decimals"]
    return out


def read_book(path: Path, decimals: dict[str, int], issues: list[Issue]) -> dict[str, list[LegMap]]:
    """Owner → its positions (in first-appearance order), each {"deposit": …, "borrow": …}."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issues.append(Issue(file, 1, "(file)", f"cannot read the book: {exc}"))
        return {}
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        issues.append(Issue(file, 1, "(header)", f"missing column(s) {', '.join(missing)}: expected "
                                                 f"owner,position,asset,amount[,side]"))
        return {}
    reader.fieldnames = header
    sided = "side" in header
    owners: dict[str, dict[str, LegMap]] = {}
    for row in reader:
        line = reader.line_num
        leg = _leg(row, line, file, decimals, sided, issues)
        if leg is None:
            continue
        owner, label, sym, signed = leg
        pos = owners.setdefault(owner, {}).setdefault(label, {"deposit": {}, "borrow": {}})
        side, other = ("deposit", "borrow") if signed > 0 else ("borrow", "deposit")
        if sym in pos[other]:
            issues.append(Issue(file, line, "asset", f"{sym} is both deposited and borrowed in {owner}'s position "
                                                     f"{quote(label)}; a position holds one side per asset"))
            continue
        pos[side][sym] = pos[side].get(sym, Decimal(0)) + abs(signed)
    if not owners and not any(i.file == file for i in issues):
        issues.append(Issue(file, 1, "(file)", "the book has no rows"))
    return {o: list(positions.values()) for o, positions in owners.items()}


def _leg(row: dict[str, Any], line: int, file: str, decimals: dict[str, int], sided: bool,
         issues: list[Issue]) -> tuple[str, str, str, Decimal] | None:
    owner, label, sym = (str(row.get(c) or "").strip() for c in ("owner", "position", "asset"))
    found = len(issues)
    if not re.match(NAME_PATTERN, owner):
        issues.append(Issue(file, line, "owner", f"{quote(owner)} is not a valid name: use letters, digits, '_', '.' "
                                                 f"or '-', starting with a letter"))
    if not label:
        issues.append(Issue(file, line, "position", "empty: name the position this leg belongs to"))
    if sym not in decimals:
        issues.append(Issue(file, line, "asset", f"unknown asset {quote(sym)} (markets: "
                                                 f"{', '.join(map(show_name, decimals))})"))
    try:
        amount = to_decimal(row.get("amount") or "", what="an amount")
    except NumberError as exc:
        issues.append(Issue(file, line, "amount", str(exc)))
        return None
    if sided:
        side = str(row.get("side") or "").strip().lower()
        if side not in SIDES:
            issues.append(Issue(file, line, "side", f"expected deposit or borrow, got {quote(side)}"))
        elif amount <= 0:
            issues.append(Issue(file, line, "amount", f"with a side column amounts are positive, got {plain(amount)}"))
        else:
            amount *= SIDES[side]
    if amount == 0:
        issues.append(Issue(file, line, "amount", "a leg of 0: leave the row out"))
    if sym in decimals and decimal_places(amount) > decimals[sym]:
        issues.append(Issue(file, line, "amount", f"{plain(amount)} has more decimal places than {sym} has "
                                                  f"({decimals[sym]})"))
    return None if len(issues) > found else (owner, label, sym, amount)


def resample(book: dict[str, list[LegMap]], spec: Resample, prefix: str, seed: int, index: int,
             decimals: dict[str, int]) -> list[tuple[str, list[LegMap]]]:
    """``spec.count`` accounts drawn from ``book``'s distribution (see the module's docstring)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM, index])))
    pool = [p for positions in book.values() for p in positions]
    sizes = [len(positions) for positions in book.values()]
    width = len(str(spec.count - 1))
    jitter = float(spec.jitter)
    out = []
    for k in range(spec.count):
        positions = []
        for _ in range(sizes[int(rng.integers(len(sizes)))]):
            drawn = pool[int(rng.integers(len(pool)))]
            positions.append({side: {s: _scaled(a, jitter, rng, decimals[s]) for s, a in legs.items()}
                              for side, legs in drawn.items()})
        positions = [{side: {s: a for s, a in legs.items() if a > 0} for side, legs in p.items()} for p in positions]
        out.append((f"{prefix}-{k:0{width}d}", positions))
    return out


def _scaled(amount: Decimal, jitter: float, rng: np.random.Generator, decimals: int) -> Decimal:
    if jitter == 0:
        return amount
    factor = Decimal(repr(round(math.exp(jitter * float(rng.standard_normal())), 6)))
    return from_units(units_floor(amount * factor, decimals), decimals)


def expand_books(doc: SourceDoc, issues: list[Issue]) -> SourceDoc:
    """``doc`` with its ``books:`` turned into ``accounts:`` entries (the ``books`` list left empty, so a document
    expanded once is not expanded again). Each generated account's line is its ``books`` entry's."""
    data = doc.data
    books = data.get("books") if isinstance(data, dict) else None
    if not isinstance(books, list) or not books:
        return doc
    accounts = data.get("accounts", [])
    if not isinstance(accounts, list):
        return doc  # pydantic reports it
    accounts = list(accounts)
    lines = dict(doc.lines)
    decimals = _markets(data)
    seed = data.get("seed") if isinstance(data.get("seed"), int) else 0
    for i, raw in enumerate(books):
        try:
            spec = BookSpec.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc: tuple[str | int, ...] = ("books", i, *(p for p in err["loc"] if isinstance(p, (str, int))))
                issues.append(doc.issue(loc, reason_of(doc, loc, dict(err))))
            continue
        path = Path(doc.file).parent / spec.file
        book = read_book(path, decimals, issues)
        if not book:
            continue
        if spec.resample is not None:
            drawn = resample(book, spec.resample, spec.prefix or _prefix(path), spec.resample.seed
                             if spec.resample.seed is not None else seed, i, decimals)
        else:
            drawn = list(book.items())
        for name, positions in drawn:
            lines[("accounts", len(accounts))] = doc.line_of(("books", i))
            accounts.append({"name": name, "margin": spec.margin, "positions": positions})
    return SourceDoc(doc.file, {**data, "accounts": accounts, "books": []}, lines)


def _prefix(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "-", path.stem) or "book"
    return stem if re.match(NAME_PATTERN, stem) else f"book-{stem}"[:50]
