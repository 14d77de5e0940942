"""Numbers derived from a timeline (USD values, equity, leverage, per-owner summaries). Pure and exact."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from marginlab.numbers import EXACT, WAD, from_units
from marginlab.timeline import StepRecord, StrategyAct, SubAccountState, Timeline

INFINITY = Decimal("Infinity")


def wad_to_decimal(value: int | None) -> Decimal:
    """WAD integer → Decimal; ``None`` (no debt) is +∞."""
    if value is None:
        return INFINITY
    with localcontext(EXACT):
        return Decimal(value) / WAD


def usd_value(units: int, decimals: int, price: str | Decimal) -> Decimal:
    with localcontext(EXACT):
        return from_units(units, decimals) * Decimal(price)


def state_equity(state: SubAccountState, record: StepRecord, decimals: dict[str, int]) -> Decimal:
    with localcontext(EXACT):
        return sum((usd_value(b, decimals[s], record.prices[s]) for s, b in state.balances.items()), Decimal(0))


def state_assets(state: SubAccountState, record: StepRecord, decimals: dict[str, int]) -> Decimal:
    with localcontext(EXACT):
        return sum((usd_value(b, decimals[s], record.prices[s]) for s, b in state.balances.items() if b > 0),
                   Decimal(0))


def state_leverage(state: SubAccountState, record: StepRecord, decimals: dict[str, int]) -> Decimal:
    """Gross assets over equity (1 with no debt, ∞ when equity ≤ 0 while debt remains, 0 when empty)."""
    assets = state_assets(state, record, decimals)
    equity = state_equity(state, record, decimals)
    if assets == 0:
        return Decimal(0)
    if equity <= 0:
        return INFINITY
    with localcontext(EXACT):
        return assets / equity


def lender_withdrawals(timeline: Timeline, who: str | None = None) -> list[StrategyAct]:
    """The withdrawals a liquidity provider's ``withdraw`` strategy sent (``who``: one account's), mined or refused.
    A stop-loss's or take-profit's close also withdraws (everything left, "all"): that is not a lender asking for
    its money back, and its amount is no figure, so it is not one of these."""
    return [a for a in timeline.strategy_acts or [] if a.verb == "withdraw" and a.strategy.startswith("withdraw[")
            and (who is None or a.account == who)]


def keys_of(timeline: Timeline, owner: str, sub_id: int | None = None) -> list[str]:
    return [s.key for s in timeline.sub_accounts if s.owner == owner and (sub_id is None or s.sub_id == sub_id)]


def owners(timeline: Timeline) -> list[str]:
    return list(dict.fromkeys(s.owner for s in timeline.sub_accounts))


def final_record(timeline: Timeline) -> StepRecord | None:
    records = timeline.records
    return records[-1] if records else None


@dataclass(frozen=True)
class OwnerSummary:
    owner: str
    liquidations: int
    collateral_seized: Decimal  # USD at the time of each liquidation
    bonus_paid: Decimal  # seized value − repaid value: what the account lost beyond its debt
    bad_debt: Decimal
    end_equity: Decimal
    max_leverage: Decimal
    min_health_factor: Decimal


def owner_summary(timeline: Timeline, owner: str) -> OwnerSummary:
    decimals = timeline.decimals()
    liqs = [x for x in timeline.liquidations if x.account == owner]
    with localcontext(EXACT):
        seized = sum((wad_to_decimal(x.seized_value) for x in liqs), Decimal(0))
        repaid = sum((wad_to_decimal(x.repaid_value) for x in liqs), Decimal(0))
        bad = sum((wad_to_decimal(b.value) for b in timeline.bad_debts if b.account == owner), Decimal(0))
    keys = keys_of(timeline, owner)
    max_lev = Decimal(0)
    min_hf = INFINITY
    for record in timeline.records:
        for key in keys:
            state = record.accounts.get(key)
            if state is None:
                continue
            max_lev = max(max_lev, state_leverage(state, record, decimals))
            min_hf = min(min_hf, wad_to_decimal(state.health_factor))
    for x in liqs:  # steps are recorded after the keeper ran; it liquidated at a lower health factor
        min_hf = min(min_hf, wad_to_decimal(x.health_factor_before))
    last = final_record(timeline)
    equity = Decimal(0)
    if last is not None:
        with localcontext(EXACT):
            equity = sum((state_equity(last.accounts[k], last, decimals) for k in keys if k in last.accounts),
                         Decimal(0))
    return OwnerSummary(owner, len(liqs), seized, seized - repaid, bad, equity, max_lev, min_hf)


def total_bad_debt(timeline: Timeline) -> Decimal:
    """Debt written off with no collateral behind it (USD). An absorption writes off an account's whole debt but
    the protocol takes its collateral for it: only the debt beyond that collateral's value counts."""
    with localcontext(EXACT):
        bad = sum((wad_to_decimal(b.value) for b in timeline.bad_debts if not b.in_absorb), Decimal(0))
        return bad + sum((max(wad_to_decimal(x.repaid_value - x.seized_value), Decimal(0))
                          for x in timeline.liquidations if x.absorbed is not None), Decimal(0))
