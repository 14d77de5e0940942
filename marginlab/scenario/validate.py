"""Read a scenario file and report *every* problem as ``file:line: field.path: reason`` before any chain work.

Two passes over the same document: pydantic checks structure, types and ranges; :func:`_cross_checks` checks
what needs the whole file (unknown assets or accounts, duplicate names, precision against a token's decimals,
the uint256 range). Both report against the line map kept by :mod:`marginlab.scenario.source`.
"""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from marginlab.errors import Issue, ScenarioError, quote, show_name
from marginlab.numbers import UINT256_MAX, NumberError, decimal_places, plain, to_decimal
from marginlab.scenario.books import expand_books
from marginlab.scenario.fields import MAX_BOOK_UNITS, MAX_UNCAPPED_DECIMALS, PROTOCOL_NAMES, VERBS
from marginlab.scenario.friction import friction_issues
from marginlab.scenario.guards import SEQUENCER, SEQUENCER_STATES
from marginlab.scenario.model import TOKEN_ADMIN_TARGETS, Account, Scenario
from marginlab.scenario.reasons import pydantic_issues
from marginlab.scenario.source import Loc, SourceDoc, load_yaml_file, parse_yaml_bytes
from marginlab.scenario.strategies import check_strategies

INT256_MAX = 2**255 - 1


def load_scenario(path: Path | str) -> tuple[Scenario, SourceDoc]:
    """Parse and validate ``path``; raise :class:`ScenarioError` listing every problem found."""
    return validate_doc(load_yaml_file(path))


def parse_scenario_text(text: str | bytes, file: str = "<scenario>") -> tuple[Scenario, SourceDoc]:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return validate_doc(parse_yaml_bytes(raw, file))


def validate_doc(doc: SourceDoc) -> tuple[Scenario, SourceDoc]:
    issues: list[Issue] = []
    doc = expand_books(doc, issues)  # books: (CSV files of positions) become accounts first
    if issues:
        raise ScenarioError(issues)
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        issues.extend(pydantic_issues(doc, exc))
    issues.extend(_cross_checks(doc))
    if issues:
        raise ScenarioError(issues)
    assert scenario is not None
    return scenario, doc


# --------------------------------------------------------------------------------------------------- cross checks

class _Ctx:
    def __init__(self, doc: SourceDoc) -> None:
        self.doc = doc
        self.issues: list[Issue] = []
        self.decimals: dict[str, int | None] = {}  # None: listed, decimals unusable (already reported)
        self.feed_decimals: dict[str, int] = {}
        self.token_kinds: dict[str, Any] = {}  # symbol → token kind as written (plain when none)
        self.accounts: dict[str, int | None] = {}  # name → number of positions (None: unknown)
        self.actors: set[str] = set()  # accounts and liquidity providers: anyone who can sign

    def add(self, loc: Loc, reason: str) -> None:
        self.issues.append(self.doc.issue(loc, reason))


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _entries(value: Any) -> list[tuple[str, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def generated_names(name: str, count: int) -> list[str]:
    """Names of the accounts an account template with ``count`` produces: ``bot-00`` … ``bot-49``."""
    width = len(str(count - 1))
    return [f"{name}-{i:0{width}d}" for i in range(count)]


def _cross_checks(doc: SourceDoc) -> list[Issue]:
    ctx = _Ctx(doc)
    data = doc.data
    _scan_markets(ctx, data.get("markets"))
    _scan_names(ctx, data)
    for i, lp in _items(data.get("liquidity")):
        if isinstance(lp, dict):
            _amounts(ctx, ("liquidity", i, "deposits"), lp.get("deposits"))
    for i, acct in _items(data.get("accounts")):
        if not isinstance(acct, dict):
            continue
        for j, pos in _items(acct.get("positions")):
            if isinstance(pos, dict):
                _amounts(ctx, ("accounts", i, "positions", j, "deposit"), pos.get("deposit"))
                _amounts(ctx, ("accounts", i, "positions", j, "borrow"), pos.get("borrow"))
                if isinstance(pos.get("deposit"), dict) and isinstance(pos.get("borrow"), dict):
                    for sym in pos["deposit"]:
                        if sym in pos["borrow"]:
                            ctx.add(("accounts", i, "positions", j, "borrow", sym),
                                    f"{sym} is both deposited and borrowed in one position; a sub-account holds "
                                    f"one signed balance per asset")
        _amounts(ctx, ("accounts", i, "wallet"), acct.get("wallet"))
    for i, step in _items(data.get("steps")):
        if isinstance(step, dict):
            _scan_step(ctx, i, step)
    _scan_paths(ctx, data.get("paths"))
    protocol = data.get("protocol")
    if isinstance(protocol, str) and protocol not in PROTOCOL_NAMES:
        ctx.add(("protocol",), f"unknown protocol {quote(protocol)}: choose one of {', '.join(PROTOCOL_NAMES)} "
                               f"(your own adapter: marginlab replay --protocol FILE.py:CLASS)")
    for i, exp in _items(data.get("expect")):
        if isinstance(exp, dict):
            _scan_expect(ctx, i, exp)
    lenders = {lp["name"] for _, lp in _items(data.get("liquidity")) if isinstance(lp, dict) and "name" in lp}
    check_strategies(data, ctx.accounts, lenders, set(ctx.decimals), ctx.add,
                     lambda loc, value: _amounts(ctx, loc, value))
    friction_issues(data, ctx.token_kinds, ctx.add, lambda loc, mapping: _amounts(ctx, loc, mapping), ctx.actors)
    return ctx.issues


def _scan_markets(ctx: _Ctx, markets: Any) -> None:
    first: dict[str, int] = {}
    for i, m in _items(markets):
        if not isinstance(m, dict) or not isinstance(m.get("symbol"), str):
            continue
        sym = m["symbol"]
        if sym in first:
            ctx.add(("markets", i, "symbol"), f"duplicate market {show_name(sym)} (also markets[{first[sym]}])")
            continue
        first[sym] = i
        dec = m.get("decimals")
        ctx.decimals[sym] = dec if isinstance(dec, int) and _is_int(dec) and 0 <= dec <= 36 else None
        feed = m.get("feed_decimals", 8)
        ctx.feed_decimals[sym] = feed if _is_int(feed) and 0 <= feed <= 36 else 18
        token = m.get("token")
        ctx.token_kinds[sym] = token.get("kind") if isinstance(token, dict) else "plain"
        _price_precision(ctx, ("markets", i, "price"), sym, m.get("price"))
        _scan_guards(ctx, i, sym, m)
        for cap in ("supply_cap", "borrow_cap"):
            if m.get(cap) is not None:
                _amount(ctx, ("markets", i, cap), sym, m[cap])
        _books_fit(ctx, i, sym, m)


def _books_fit(ctx: _Ctx, i: int, sym: str, market: dict[str, Any]) -> None:
    """The vault refuses a listing whose caps its 128-bit books cannot hold at the token's decimals (CapTooLarge)."""
    decimals = ctx.decimals.get(sym)
    if decimals is None:
        return
    if market.get("supply_cap") is None and decimals > MAX_UNCAPPED_DECIMALS:
        ctx.add(("markets", i, "decimals"), f"a market of more than {MAX_UNCAPPED_DECIMALS} decimals needs a "
                f"supply_cap: uncapped, the vault's books would hold less than a million whole {sym}")
    for cap in ("supply_cap", "borrow_cap"):
        try:
            units = to_decimal(market.get(cap)).scaleb(decimals)
        except NumberError:
            continue
        if units > MAX_BOOK_UNITS:
            ctx.add(("markets", i, cap), f"more than the vault's books hold at {decimals} decimals "
                    f"({plain(Decimal(MAX_BOOK_UNITS).scaleb(-decimals).quantize(Decimal('1e-6'), ROUND_DOWN))} {sym})")


def _scan_guards(ctx: _Ctx, i: int, sym: str, market: dict[str, Any]) -> None:
    """A guard bound is a price: it must fit the feed, and the starting price must lie strictly inside."""
    guards = market.get("oracle_guards")
    loc: Loc = ("markets", i, "oracle_guards")
    if sym == SEQUENCER:
        ctx.add(("markets", i, "symbol"),
                f"{quote(SEQUENCER)} is reserved: oracle: {{sequencer: down}} drives the sequencer uptime feed")
    if not isinstance(guards, dict):
        return
    try:
        start = to_decimal(market.get("price"))
    except NumberError:
        return
    for name in ("min_price", "max_price"):
        if guards.get(name) is None:
            continue
        _price_precision(ctx, (*loc, name), sym, guards[name])
        try:
            bound = to_decimal(guards[name])
        except NumberError:
            continue
        if (bound >= start) if name == "min_price" else (bound <= start):
            ctx.add((*loc, name), f"the market starts at {plain(start)}, not strictly inside its bound "
                                  f"{plain(bound)}: its price would be refused from the start")


def _scan_fault(ctx: _Ctx, loc: Loc, sym: str, fault: Any) -> None:
    word = fault if isinstance(fault, str) else None
    if sym == SEQUENCER:
        if ctx.doc.data.get("sequencer") is None:
            ctx.add(loc, "a sequencer fault needs a top-level sequencer: {grace_period: SECONDS}")
        elif word not in SEQUENCER_STATES:
            ctx.add(loc, "the sequencer is down or up")
        return
    if not _known_asset(ctx, loc, sym):
        return
    if word in SEQUENCER_STATES:
        ctx.add(loc, f"{word} is for the sequencer (oracle: {{sequencer: {word}}}); a feed is ok, stale, zero, "
                     f"negative, clamp or misprice")
    if isinstance(fault, dict) and isinstance(fault.get("clamp"), dict) and "floor" in fault["clamp"]:
        _price_precision(ctx, (*loc, "clamp", "floor"), sym, fault["clamp"]["floor"])


def _scan_names(ctx: _Ctx, data: dict[str, Any]) -> None:
    seen: dict[str, str] = {}

    def claim(name: str, loc: Loc, where: str) -> bool:
        if name in seen:
            ctx.add(loc, f"duplicate account name {quote(name)} (also {seen[name]})")
            return False
        seen[name] = where
        return True

    for i, lp in _items(data.get("liquidity")):
        if isinstance(lp, dict) and isinstance(lp.get("name"), str):
            if claim(lp["name"], ("liquidity", i, "name"), f"liquidity[{i}]"):
                ctx.actors.add(lp["name"])
                ctx.accounts.setdefault(lp["name"], 1)
    for i, acct in _items(data.get("accounts")):
        if not isinstance(acct, dict) or not isinstance(acct.get("name"), str):
            continue
        positions = acct.get("positions")
        n_pos = len(positions) if isinstance(positions, list) else None
        count = acct.get("count")
        names = generated_names(acct["name"], count) if isinstance(count, int) and _is_int(count) \
            and 1 <= count <= 1000 else [acct["name"]]
        for name in names:
            if claim(name, ("accounts", i, "name"), f"accounts[{i}]"):
                ctx.actors.add(name)
                ctx.accounts[name] = n_pos


def _known_asset(ctx: _Ctx, loc: Loc, sym: Any) -> bool:
    if not isinstance(sym, str):
        return False
    if sym not in ctx.decimals:
        known = ", ".join(map(show_name, ctx.decimals)) or "none listed"
        ctx.add(loc, f"unknown asset {quote(sym)} (markets: {known})")
        return False
    return True


def _amounts(ctx: _Ctx, loc: Loc, mapping: Any) -> None:
    for sym, value in _entries(mapping):
        if _known_asset(ctx, (*loc, sym), sym):
            _amount(ctx, (*loc, sym), sym, value)


def _amount(ctx: _Ctx, loc: Loc, sym: str, value: Any) -> None:
    """Precision and range of an amount of ``sym``; sign and type are pydantic's job."""
    decimals = ctx.decimals.get(sym)
    if decimals is None:
        return
    try:
        dec = to_decimal(value)
    except NumberError:
        return
    if dec < 0:
        return
    if decimal_places(dec) > decimals:
        ctx.add(loc, f"{plain(dec)} has more decimal places than {sym} has ({decimals})")
        return
    if dec.scaleb(decimals) > UINT256_MAX:
        ctx.add(loc, f"{_short(dec)} {sym} is more than 2^256-1 token units")


def _short(dec: Decimal) -> str:
    text = plain(dec)
    return text if len(text) <= 24 else f"{dec:.6E}"


def _price_precision(ctx: _Ctx, loc: Loc, sym: str, value: Any) -> None:
    if isinstance(value, str) and value.strip().endswith("%"):
        return
    try:
        dec = to_decimal(value)
    except NumberError:
        return
    if dec <= 0:
        return
    feed = ctx.feed_decimals.get(sym, 18)
    if decimal_places(dec) > feed:
        ctx.add(loc, f"price {plain(dec)} has more decimal places than the {sym} feed has ({feed})")
    elif dec.scaleb(feed) > INT256_MAX:
        ctx.add(loc, f"price {plain(dec)} does not fit the feed's int256 answer")


def _known_account(ctx: _Ctx, loc: Loc, name: Any, position: Any = 0, position_loc: Loc | None = None) -> None:
    if not isinstance(name, str):
        return
    if name not in ctx.accounts:
        ctx.add(loc, f"unknown account {quote(name)}")
        return
    n_pos = ctx.accounts[name]
    if _is_int(position) and n_pos is not None and position >= n_pos:
        ctx.add(position_loc or loc, f"{name} has {n_pos} position(s); index {position} is out of range")


def _scan_step(ctx: _Ctx, i: int, step: dict[str, Any]) -> None:
    base: Loc = ("steps", i)
    for sym, value in _entries(step.get("prices")):
        if _known_asset(ctx, (*base, "prices", sym), sym):
            _price_precision(ctx, (*base, "prices", sym), sym, value)
    for sym, fault in _entries(step.get("oracle")):
        _scan_fault(ctx, (*base, "oracle", sym), sym, fault)
    for sym, admin in _entries(step.get("token_admin")):
        _scan_token_admin(ctx, (*base, "token_admin", sym), sym, admin)
    governance = step.get("governance")
    if isinstance(governance, dict):
        for sym, change in _entries(governance.get("set_params")):
            if _known_asset(ctx, (*base, "governance", "set_params", sym), sym) and isinstance(change, dict):
                for cap in ("supply_cap", "borrow_cap"):
                    if change.get(cap) is not None:
                        _amount(ctx, (*base, "governance", "set_params", sym, cap), sym, change[cap])
    actions: list[tuple[Loc, Any]] = []
    if "action" in step:
        actions.append(((*base, "action"), step["action"]))
    for j, act in _items(step.get("actions")):
        actions.append(((*base, "actions", j), act))
    for loc, act in actions:
        if isinstance(act, dict):
            _scan_action(ctx, loc, act)


def _scan_token_admin(ctx: _Ctx, loc: Loc, sym: str, admin: Any) -> None:
    """Only a pausable-blocklist token has an issuer who can pause and block; whom it blocks must exist."""
    if not _known_asset(ctx, loc, sym):
        return
    kind = ctx.token_kinds.get(sym)
    if kind != "pausable-blocklist":
        ctx.add(loc, f"{sym} is a {kind} token, which has no issuer to pause or block; token_admin needs a market "
                     f"with token: {{kind: pausable-blocklist}}")
        return
    if not isinstance(admin, dict):
        return
    for field in ("block", "unblock"):
        for k, name in _items(admin.get(field)):
            if isinstance(name, str) and name not in ctx.actors and name not in TOKEN_ADMIN_TARGETS:
                ctx.add((*loc, field, k), f"unknown account {quote(name)} (block or unblock the scenario's accounts "
                                          f"and liquidity providers, or {' / '.join(TOKEN_ADMIN_TARGETS)})")


def _scan_action(ctx: _Ctx, loc: Loc, act: dict[str, Any]) -> None:
    if act.get("owner") is not None:
        # The actor only signs; `position` is the owner's.
        _known_account(ctx, (*loc, "account"), act.get("account"))
        _known_account(ctx, (*loc, "owner"), act.get("owner"), act.get("position", 0), (*loc, "position"))
    else:
        _known_account(ctx, (*loc, "account"), act.get("account"), act.get("position", 0), (*loc, "position"))
    for verb in ("deposit", "withdraw", "borrow", "repay", "donate"):
        _amounts(ctx, (*loc, verb), act.get(verb))
    settle = act.get("settle_bad_debt")
    if isinstance(settle, dict):
        _known_account(ctx, (*loc, "settle_bad_debt", "account"), settle.get("account"), settle.get("position", 0),
                       (*loc, "settle_bad_debt", "position"))
    transfer = act.get("transfer")
    if isinstance(transfer, dict):
        _amounts(ctx, (*loc, "transfer", "amounts"), transfer.get("amounts"))
        _known_account(ctx, (*loc, "account"), act.get("account"), transfer.get("to_position", 0),
                       (*loc, "transfer", "to_position"))
    liq = act.get("liquidate")
    if isinstance(liq, dict):
        _known_account(ctx, (*loc, "liquidate", "account"), liq.get("account"), liq.get("position", 0),
                       (*loc, "liquidate", "position"))
        _known_account(ctx, (*loc, "account"), act.get("account"), liq.get("to_position", 0),
                       (*loc, "liquidate", "to_position"))
        debt_ok = _known_asset(ctx, (*loc, "liquidate", "debt"), liq.get("debt"))
        coll_ok = _known_asset(ctx, (*loc, "liquidate", "collateral"), liq.get("collateral"))
        if debt_ok and "amount" in liq:
            _amount(ctx, (*loc, "liquidate", "amount"), liq["debt"], liq["amount"])
        if debt_ok and coll_ok and liq.get("debt") == liq.get("collateral"):
            ctx.add((*loc, "liquidate", "collateral"), "debt and collateral must be different assets")


def _scan_paths(ctx: _Ctx, paths: Any) -> None:
    base_dir = Path(ctx.doc.file).parent
    for sym, spec in _entries(paths):
        if not _known_asset(ctx, ("paths", sym), sym):
            continue
        if isinstance(spec, dict) and spec.get("model") == "csv" and isinstance(spec.get("file"), str):
            path = base_dir / spec["file"]
            if not path.is_file():
                ctx.add(("paths", sym, "file"), f"CSV file not found: {path}")


def _scan_expect(ctx: _Ctx, i: int, exp: dict[str, Any]) -> None:
    base: Loc = ("expect", i)
    if "account" in exp:
        _known_account(ctx, (*base, "account"), exp.get("account"),
                       exp.get("position", 0), (*base, "position"))
    for key in ("balances", "recovered"):
        for sym, _ in _entries(exp.get(key)):
            _known_asset(ctx, (*base, key, sym), sym)


__all__ = ["load_scenario", "parse_scenario_text", "validate_doc", "generated_names", "Account", "VERBS"]
