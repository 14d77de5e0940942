"""How a plan maps onto Aave v3, and the mapping rules' decisions for it (pure: no chain).

Aave v3 is one pool of reserves (one per scenario market) in which an *address* is one margin account: all of
an address's collateral backs all of its debt (cross margin). It has no sub-accounts, so a scenario sub-account
is an address of its own (sub-account 0: the owner's, sub-account k: an address the owner's key names, which
delegates its credit to the owner), as Aave users isolate positions.

Per reserve (``PoolConfigurator``; Aave's percentages are basis points, 10000 = 100 %):

- LTV = the initial asset weight, liquidation threshold = the maintenance asset weight, liquidation bonus =
  10000 + the bonus, liquidation protocol fee = the protocol's share of the bonus, reserve factor = the reserve
  factor, supply and borrow caps in whole tokens: a figure with more precision than that is rounded down (never
  more lenient) and listed as not honoured;
- the kinked ``irm:`` is a ``DefaultReserveInterestRateStrategy`` with the same per-year curve (optimal usage =
  kink, base, slope1, slope2 in ray = 1e27), stable borrowing off; Aave compounds variable debt per second
  (a three-term binomial approximation of (1 + r/year)^t at every update) and accrues supply interest linearly
  between updates, on utilisation = debt / (cash + debt);
- debt counts at weight 1: a liability weight other than 1 is not honoured (``--strict`` refuses it);
- every price comes from ``AaveOracle`` in USD with 8 decimals, reading the shared feeds' ``latestAnswer``
  without a staleness check, so a market whose feed has other decimals is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from typing_extensions import assert_never

from marginlab.errors import Issue
from marginlab.numbers import plain
from marginlab.protocols.base import Decision
from marginlab.protocols.guards import guard_refusals
from marginlab.scenario.actions import (
    Borrow,
    Deposit,
    Donate,
    Liquidate,
    PlannedVerb,
    Repay,
    SettleBadDebt,
    Source,
    Transfer,
    Withdraw,
)
from marginlab.scenario.model import Market
from marginlab.scenario.plan import Plan
from marginlab.scenario.source import format_loc

NAME = "aave-v3"
BPS = 10_000
#: Aave v3's base currency unit: every AaveOracle answer is USD with 8 decimals.
BASE_DECIMALS = 8
#: ReserveConfiguration's largest supply and borrow caps (36 and 36 bits of whole tokens).
MAX_CAP = 2**36 - 1
#: Token kinds whose accounting Aave gets right; it assumes a transfer moves exactly the amount asked.
TOKEN_KINDS = frozenset({"plain", "hook", "no-return", "returns-false", "revert-on-zero", "pausable-blocklist"})
#: Aave's close factor (LiquidationLogic): half of a debt per call, all of it once the health factor is at or
#: below 0.95.
CLOSE_FACTOR_BPS, FULL_CLOSE_BPS, CLOSE_FACTOR_HF_THRESHOLD = 5_000, 10_000, 95 * 10**16


@dataclass(frozen=True)
class ReserveParams:
    """One reserve's configuration in Aave's units (bps, whole tokens, ray)."""

    symbol: str
    ltv: int
    threshold: int
    bonus: int  # 10000 + bonus in bps
    protocol_fee: int
    reserve_factor: int
    supply_cap: int  # whole tokens; 0 = none
    borrow_cap: int
    irm: tuple[int, int, int, int]  # optimal usage, base, slope1, slope2 (ray)


def bps(value: Decimal) -> int:
    return int((value * BPS).to_integral_value(ROUND_FLOOR))


def ray(value: Decimal) -> int:
    return int((value * 10**27).to_integral_value(ROUND_FLOOR))


def _cap(value: Decimal | None) -> int:
    if value is None:
        return 0
    return min(MAX_CAP, max(1, int(value.to_integral_value(ROUND_FLOOR))))


def reserve_params(m: Market) -> ReserveParams:
    irm = m.irm
    return ReserveParams(m.symbol, bps(m.asset_weight.init), bps(m.asset_weight.maint),
                         BPS + bps(m.liquidation_bonus), bps(m.protocol_share), bps(m.reserve_factor),
                         _cap(m.supply_cap), _cap(m.borrow_cap),
                         (ray(irm.kink), ray(irm.base), ray(irm.slope1), ray(irm.slope2)))


@dataclass
class Layout:
    reserves: dict[str, ReserveParams] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    refusals: list[Issue] = field(default_factory=list)


def _issue(plan: Plan, source: Source, reason: str, *field_: str | int) -> Issue:
    return Issue(plan.file, source.line, format_loc((*source.loc, *field_)), f"{NAME}: {reason}")


def layout(plan: Plan, *, strict: bool = False) -> Layout:
    out = Layout()
    for m, source in zip(plan.markets, plan.market_sources or [Source(("markets",), 1)] * len(plan.markets),
                         strict=False):
        out.reserves[m.symbol] = reserve_params(m)
        _market(plan, m, source, out)
    _protocol_decisions(plan, out)
    _netting(plan, out)
    out.refusals += guard_refusals(plan, NAME, "AaveOracle has no price bounds or circuit breaker, and this adapter "
                                               "deploys no PriceOracleSentinel")
    for step in plan.steps:
        for sym, admin in step.token_admin.items():
            if "vault" in admin.block:
                out.refusals.append(Issue(plan.file, 0, f"{step.source}.token_admin.{sym}.block",
                                          f"{NAME}: Aave keeps each asset in its own aToken, not in one custody "
                                          f"contract: there is no vault to block"))
        for action in step.actions:
            reason = refusal(action)
            if reason is not None:
                out.refusals.append(_issue(plan, action.source, reason))
    if strict:
        sources = dict(zip([m.symbol for m in plan.markets], plan.market_sources, strict=False))
        sources.update((str(s.source), s.source) for s in plan.strategies)
        out.refusals += [_issue(plan, sources.get(d.scope.split("/")[0], Source(("markets",), 1)),
                                f"{d.scope}: {d.setting} is not honoured: {d.detail} (--strict)")
                         for d in out.decisions if d.outcome == "not-honoured"]
    return out


def _exact(value: Decimal, unit: int) -> bool:
    return value * unit == (value * unit).to_integral_value()


def _market(plan: Plan, m: Market, source: Source, out: Layout) -> None:
    add, r = out.decisions.append, out.reserves[m.symbol]
    if m.token.kind not in TOKEN_KINDS:
        out.refusals.append(_issue(plan, source, f"a {m.token} token cannot be listed: Aave assumes a transfer "
                                                 f"moves exactly the amount asked", "token"))
    if m.feed_decimals != BASE_DECIMALS:
        out.refusals.append(_issue(plan, source, f"AaveOracle reads every feed as USD with {BASE_DECIMALS} "
                                                 f"decimals; this feed has {m.feed_decimals}", "feed_decimals"))
    for setting, value, aave in (("asset_weight.init", m.asset_weight.init, f"LTV {r.ltv} bps"),
                                 ("asset_weight.maint", m.asset_weight.maint, f"liquidation threshold {r.threshold} "
                                                                             f"bps"),
                                 ("liquidation_bonus", m.liquidation_bonus, f"liquidation bonus {r.bonus} bps"),
                                 ("protocol_share", m.protocol_share, f"liquidation protocol fee {r.protocol_fee} bps "
                                                                      f"of the bonus"),
                                 ("reserve_factor", m.reserve_factor, f"reserve factor {r.reserve_factor} bps")):
        exact = _exact(value, BPS)
        add(Decision(m.symbol, setting, "mapped" if exact else "not-honoured",
                     aave + ("" if exact else f" (Aave keeps basis points: {plain(value)} rounded down)")))
    if m.liab_weight.init != 1 or m.liab_weight.maint != 1:
        add(Decision(m.symbol, "liab_weight", "not-honoured",
                     f"Aave has no liability weights: {m.symbol} debt counts at 1, not "
                     f"{plain(m.liab_weight.init)} / {plain(m.liab_weight.maint)}"))
    for setting, cap, limit in (("supply_cap", m.supply_cap, r.supply_cap), ("borrow_cap", m.borrow_cap,
                                                                              r.borrow_cap)):
        if cap is not None:
            exact = cap == limit
            add(Decision(m.symbol, setting, "mapped" if exact else "not-honoured",
                         f"{limit} whole {m.symbol}" + ("" if exact else f" (Aave caps in whole tokens up to "
                                                                         f"{MAX_CAP}; the scenario asks "
                                                                         f"{plain(cap)})")))
    add(Decision(m.symbol, "irm", "mapped",
                 f"DefaultReserveInterestRateStrategy: optimal usage {plain(m.irm.kink)}, base {plain(m.irm.base)}, "
                 f"slope1 {plain(m.irm.slope1)}, slope2 {plain(m.irm.slope2)} per year in ray; Aave compounds "
                 f"variable debt per second and accrues supply interest linearly, on debt / (cash + debt)"))
    if any(step.oracle.get(m.symbol) == "stale" for step in plan.steps):
        add(Decision(m.symbol, "heartbeat", "not-honoured",
                     "AaveOracle reads latestAnswer without a staleness check: a stale round is used as a fresh one"))
    if any(step.oracle.get(m.symbol) in ("zero", "negative") for step in plan.steps):
        add(Decision(m.symbol, "oracle", "honoured",
                     "AaveOracle sends a non-positive answer to its fallback oracle; with none set the price read "
                     "reverts, and so does every account read and operation that prices the asset"))


def _protocol_decisions(plan: Plan, out: Layout) -> None:
    add = out.decisions.append
    add(Decision("protocol", "close factor", "honoured",
                 "Aave repays at most 50 % of a debt per liquidation, 100 % once the health factor is at or below "
                 "0.95: the vault's rule"))
    add(Decision("protocol", "dust rule", "not-honoured",
                 "Aave 3.0.2 has no dust rule: a partial liquidation may leave any remainder"))
    add(Decision("protocol", "bad debt", "not-honoured",
                 "Aave 3.0.2 leaves debt without collateral as variable debt that keeps accruing; no reserve or "
                 "depositor absorbs it (the timeline records it as left as debt)"))
    for s in plan.strategies:
        if s.kind == "withdraw" and s.after_bad_debt:
            add(Decision(str(s.source), "withdraw.after_bad_debt", "not-honoured",
                         f"{s.account}'s run waits for bad debt socialised to depositors, which Aave 3.0.2 never "
                         f"does (the shortfall stays the borrower's debt): this lender never withdraws here"))
    add(Decision("protocol", "sub-accounts", "mapped",
                 "one address per sub-account (sub-account 0: the owner's; k: its own address, which delegates "
                 "its credit to the owner)"))


def _netting(plan: Plan, out: Layout) -> None:
    for acct in plan.accounts:
        for sub in acct.sub_ids:
            idx = [i for i in range(len(acct.positions)) if acct.sub_id(i) == sub]
            both = sorted({s for i in idx for s, a in acct.positions[i].deposit.items() if a > 0}
                          & {s for i in idx for s, a in acct.positions[i].borrow.items() if a > 0})
            for sym in both:
                out.decisions.append(Decision(
                    f"{acct.name}/{sub}", "netting", "not-honoured",
                    f"Aave keeps a supply and a debt of {sym} apart (the vault nets them into one balance): the "
                    f"supply counts at the liquidation threshold, the debt at 1, and both accrue interest; the "
                    f"timeline shows their difference as the {sym} balance"))


def refusal(action: PlannedVerb) -> str | None:
    """Why Aave cannot send ``action``, or None when it can."""
    match action:
        case SettleBadDebt():
            return ("Aave 3.0.2 has no bad-debt settlement: debt left without collateral stays as variable debt "
                    "(settle_bad_debt has no counterpart)")
        case Deposit() | Withdraw() | Borrow() | Repay() | Transfer() | Donate() | Liquidate():
            return None
        case _:
            assert_never(action)
