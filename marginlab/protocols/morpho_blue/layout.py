"""How a plan is laid out on Morpho Blue, and the mapping rules' decisions for it (pure: no chain).

Morpho Blue is isolated by market: a market pairs one collateral asset with one loan asset at one LLTV, and a
position (an address in a market) holds collateral of the one and debt of the other. So:

- a borrower's sub-account maps to one position when it holds exactly one collateral asset and one debt asset,
  in the market of that pair, with ``LLTV = collateral maintenance asset weight ÷ debt maintenance liability
  weight`` (rounded down to the wei: never more lenient than the scenario); several assets on a side — cross
  margin across assets — cannot be expressed and is refused, one line per sub-account;
- a sub-account that only deposits (a liquidity provider, or a position without a borrow) lends: each asset is
  supplied to every market that lends it, split evenly; an asset no market lends stays idle (listed);
- each sub-account has its own address (sub-account 0: the owner's), which authorises the owner to act for it,
  as a Morpho user isolates positions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from typing_extensions import assert_never

from marginlab.errors import Issue
from marginlab.numbers import plain, wad
from marginlab.protocols.base import Decision
from marginlab.protocols.guards import guard_refusals
from marginlab.protocols.morpho_blue.math import MAX_FEE, WAD, incentive_factor
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
from marginlab.scenario.plan import Plan
from marginlab.scenario.source import format_loc

NAME = "morpho-blue"
#: Token kinds whose accounting Morpho Blue gets right; it assumes a transfer moves exactly the amount asked.
TOKEN_KINDS = frozenset({"plain", "hook", "no-return", "returns-false", "revert-on-zero", "pausable-blocklist"})


@dataclass(frozen=True, order=True)
class Pair:
    """A Morpho market: ``collateral`` backs loans of ``loan`` up to ``lltv`` (WAD)."""

    collateral: str
    loan: str
    lltv: int

    @property
    def name(self) -> str:
        return f"{self.collateral}/{self.loan}"


@dataclass
class Layout:
    pairs: list[Pair] = field(default_factory=list)
    #: borrower sub-account key → its market
    positions: dict[str, Pair] = field(default_factory=dict)
    #: lending sub-account keys (liquidity providers and deposit-only sub-accounts)
    lenders: set[str] = field(default_factory=set)
    #: sub-account keys refused (their actions are not checked again: one line per sub-account)
    refused: set[str] = field(default_factory=set)
    decisions: list[Decision] = field(default_factory=list)
    refusals: list[Issue] = field(default_factory=list)

    def lending(self, asset: str) -> list[Pair]:
        """The markets that lend ``asset``, in order."""
        return [p for p in self.pairs if p.loan == asset]


def lltv_of(plan: Plan, collateral: str, loan: str) -> int:
    c, d = plan.market(collateral), plan.market(loan)
    return int((wad(c.asset_weight.maint) * WAD / Decimal(wad(d.liab_weight.maint))).to_integral_value(ROUND_FLOOR))


def _issue(plan: Plan, source: Source, reason: str, *field_: str | int) -> Issue:
    return Issue(plan.file, source.line, format_loc((*source.loc, *field_)), f"{NAME}: {reason}")


def layout(plan: Plan, *, strict: bool = False) -> Layout:
    out = Layout()
    _markets(plan, out)
    _accounts(plan, out)
    out.pairs.sort()
    _pair_decisions(plan, out)
    _liquidity(plan, out)
    _actions(plan, out)
    _strategies(plan, out)
    out.refusals += guard_refusals(plan, NAME, "Morpho Blue takes its oracle's price as given; the pair oracle has "
                                               "no bounds, band or sequencer check")
    if strict:
        out.refusals += [_issue(plan, _scope_source(plan, d.scope), f"{d.scope}: {d.setting} is not honoured: "
                                                                     f"{d.detail} (--strict)")
                         for d in out.decisions if d.outcome == "not-honoured"]
    return out


def _scope_source(plan: Plan, scope: str) -> Source:
    """Where a decision's scope was written: the market of an asset, or of a pair's collateral."""
    symbols = [m.symbol for m in plan.markets]
    first = scope.split("/")[0]
    return plan.market_sources[symbols.index(first)] if first in symbols else Source(("markets",), 1)


def _markets(plan: Plan, out: Layout) -> None:
    for m, source in zip(plan.markets, plan.market_sources, strict=False):
        if m.token.kind not in TOKEN_KINDS:
            out.refusals.append(_issue(plan, source, f"a {m.token} token cannot be listed: Morpho Blue assumes a "
                                                     f"transfer moves exactly the amount asked", "token"))


def _accounts(plan: Plan, out: Layout) -> None:
    for lp in plan.liquidity:
        out.lenders.add(f"{lp.name}/0")
    for acct in plan.accounts:
        for sub in acct.sub_ids:
            idx = [i for i in range(len(acct.positions)) if acct.sub_id(i) == sub]
            colls = sorted({s for i in idx for s, a in acct.positions[i].deposit.items() if a > 0})
            debts = sorted({s for i in idx for s, a in acct.positions[i].borrow.items() if a > 0})
            key = f"{acct.name}/{sub}"
            source = acct.positions[idx[0]].source if len(idx) == 1 else acct.source
            if not debts:
                out.lenders.add(key)
                continue
            where = f"{acct.name}'s sub-account {sub} ({acct.margin} margin)"
            if len(colls) != 1 or len(debts) != 1 or colls[0] == debts[0]:
                out.refused.add(key)
            if len(colls) != 1 or len(debts) != 1:
                held = f"{' and '.join(colls) or 'no collateral'} against {' and '.join(debts)}"
                out.refusals.append(_issue(plan, source, f"{where} holds {held}; a Morpho Blue position pairs one "
                                                         f"collateral asset with one loan asset (no cross margin "
                                                         f"across assets)"))
                continue
            if colls[0] == debts[0]:
                out.refusals.append(_issue(plan, source, f"{where} holds {colls[0]} as collateral and as debt; a "
                                                         f"Morpho Blue market pairs two different assets"))
                continue
            pair = Pair(colls[0], debts[0], lltv_of(plan, colls[0], debts[0]))
            out.positions[key] = pair
            if pair not in out.pairs:
                out.pairs.append(pair)


def _pair_decisions(plan: Plan, out: Layout) -> None:
    stale = {sym for step in plan.steps for sym, fault in step.oracle.items() if fault == "stale"}
    for p in out.pairs:
        c, d = plan.market(p.collateral), plan.market(p.loan)
        add = out.decisions.append
        add(Decision(p.name, "asset_weight.maint / liab_weight.maint", "mapped",
                     f"LLTV {plain(Decimal(p.lltv) / WAD)} = {plain(c.asset_weight.maint)} ÷ "
                     f"{plain(d.liab_weight.maint)}"))
        lif = incentive_factor(p.lltv)
        bonus = Decimal(lif - WAD) / WAD
        add(Decision(p.name, "liquidation_bonus", "honoured" if bonus == c.liquidation_bonus else "not-honoured",
                     f"Morpho's incentive at this LLTV is {plain(bonus)} (min(1.15, 1/(1 − 0.3·(1 − LLTV))) − 1); "
                     f"the scenario's {p.collateral} bonus is {plain(c.liquidation_bonus)}"))
        if c.protocol_share != 0:
            add(Decision(p.name, "protocol_share", "not-honoured",
                         f"Morpho gives the whole incentive to the liquidator; the scenario keeps "
                         f"{plain(c.protocol_share)} of the {p.collateral} bonus for reserves"))
        if c.asset_weight.init != c.asset_weight.maint or d.liab_weight.init != d.liab_weight.maint:
            add(Decision(p.name, "asset_weight.init / liab_weight.init", "not-honoured",
                         f"a position may borrow up to its LLTV; the scenario's stricter initial weights "
                         f"({plain(c.asset_weight.init)} / {plain(d.liab_weight.init)}) are not enforced"))
        if d.liab_weight.maint != 1:
            add(Decision(p.name, "liab_weight", "mapped",
                         f"Morpho has no liability weights; {p.loan}'s {plain(d.liab_weight.maint)} is folded into "
                         f"the LLTV"))
        fee = min(wad(d.reserve_factor), MAX_FEE)
        add(Decision(p.name, "reserve_factor", "mapped" if fee == wad(d.reserve_factor) else "not-honoured",
                     f"Morpho's market fee {plain(Decimal(fee) / WAD)} on {p.loan} interest"
                     + ("" if fee == wad(d.reserve_factor) else f" (capped at Morpho's maximum 0.25; the scenario "
                                                                f"asks {plain(d.reserve_factor)})")))
        add(Decision(p.name, "irm", "mapped", f"{p.loan}'s kinked model as a KinkedIrm (same integer math)"))
        for m in (c, d):
            if m.supply_cap is not None or m.borrow_cap is not None:
                add(Decision(p.name, f"{m.symbol} supply_cap / borrow_cap", "not-honoured",
                             "Morpho Blue has no supply or borrow caps"))
        for sym in sorted({p.collateral, p.loan} & stale):
            add(Decision(p.name, f"{sym} heartbeat", "not-honoured",
                         "the oracle reads the feed as Morpho's reference ChainlinkOracle does, without a staleness "
                         "check: a stale round is used as a fresh one"))


def _liquidity(plan: Plan, out: Layout) -> None:
    supplied: dict[str, list[str]] = {}
    for lp in plan.liquidity:
        for sym, amount in lp.deposits.items():
            if amount > 0:
                supplied.setdefault(sym, []).append(lp.name)
    for acct in plan.accounts:
        for sub in acct.sub_ids:
            if f"{acct.name}/{sub}" in out.lenders:
                for i in range(len(acct.positions)):
                    if acct.sub_id(i) == sub:
                        for sym, amount in acct.positions[i].deposit.items():
                            if amount > 0:
                                supplied.setdefault(sym, []).append(acct.name)
    for sym, who in sorted(supplied.items()):
        markets = out.lending(sym)
        if not markets:
            out.decisions.append(Decision(sym, "liquidity", "not-honoured",
                                          f"no Morpho market lends {sym}: deposits of it by "
                                          f"{', '.join(sorted(set(who)))}"
                                          f" stay idle in their wallets"))
        elif len(markets) > 1:
            out.decisions.append(Decision(sym, "liquidity", "mapped",
                                          f"supplied evenly to {', '.join(p.name for p in markets)}"))


def _actions(plan: Plan, out: Layout) -> None:
    for step in plan.steps:
        for action in step.actions:
            if sub_accounts_of(action) & out.refused:
                continue
            reason = refusal(action, out, plan)
            if reason is not None:
                out.refusals.append(_issue(plan, action.source, reason))


def _strategies(plan: Plan, out: Layout) -> None:
    """A top-up deposits and a deleverage repays the assets its strategy names, into a position that pairs one
    collateral with one loan asset: any other asset is refused as the same action would be (a close repays and
    withdraws the position's own legs, and a lender withdraws what it supplied, which Morpho always expresses)."""
    for s in plan.strategies:
        verb: PlannedVerb
        if s.kind == "top_up":
            verb, field_ = Deposit(account=s.account, source=s.source, owner=s.account, sub_id=s.sub_id,
                                   amounts=dict(s.amounts)), ("top_up", "deposit")
        elif s.kind == "deleverage":
            verb, field_ = Repay(account=s.account, source=s.source, owner=s.account, sub_id=s.sub_id,
                                 amounts=dict(s.amounts)), ("deleverage", "repay")
        else:
            continue
        if sub_accounts_of(verb) & out.refused:
            continue
        reason = refusal(verb, out, plan)
        if reason is not None:
            out.refusals.append(_issue(plan, s.source, reason, *field_))


def sub_accounts_of(action: PlannedVerb) -> set[str]:
    """The sub-account keys an action acts on."""
    match action:
        case Deposit() | Repay():
            return {f"{action.owner}/{action.sub_id}"}
        case Withdraw() | Borrow():
            return {f"{action.account}/{action.sub_id}"}
        case Transfer():
            return {f"{action.account}/{action.sub_id}", f"{action.account}/{action.to_sub_id}"}
        case SettleBadDebt() | Liquidate():
            return {f"{action.target}/{action.target_sub_id}"}
        case Donate():
            return set()
        case _:
            assert_never(action)


def refusal(action: PlannedVerb, out: Layout, plan: Plan) -> str | None:
    """Why Morpho Blue cannot send ``action``, or None when it can."""
    def key(owner: str, sub: int) -> str:
        return f"{owner}/{sub}"

    match action:
        case Transfer():
            return "Morpho Blue has no sub-accounts to move balances between"
        case SettleBadDebt():
            return "Morpho Blue realises bad debt inside liquidate: there is no separate settlement"
        case Deposit() | Withdraw():
            k = key(action.owner if isinstance(action, Deposit) else action.account, action.sub_id)
            for sym in action.amounts:
                if k in out.positions and sym != out.positions[k].collateral:
                    return (f"{k}'s position is in the {out.positions[k].name} market: only "
                            f"{out.positions[k].collateral} is its collateral (supplying {sym} would be lending, "
                            f"which Morpho keeps apart)")
                if k not in out.positions and not out.lending(sym):
                    return f"no Morpho market lends {sym}: {k} cannot supply or withdraw it"
            return None
        case Borrow() | Repay():
            k = key(action.owner if isinstance(action, Repay) else action.account, action.sub_id)
            if k not in out.positions:
                return f"{k} has no Morpho position (it only lends): it cannot borrow or repay"
            wrong = [s for s in action.amounts if s != out.positions[k].loan]
            if wrong:
                return f"{k}'s market {out.positions[k].name} lends only {out.positions[k].loan}, not {wrong[0]}"
            return None
        case Liquidate():
            k = key(action.target, action.target_sub_id)
            pair = out.positions.get(k)
            if pair is None:
                return f"{k} has no Morpho position to liquidate"
            if (action.debt, action.collateral) != (pair.loan, pair.collateral):
                return f"{k}'s market is {pair.name}: liquidate repays {pair.loan} for {pair.collateral}"
            return None
        case Donate():
            return None
        case _:
            assert_never(action)
