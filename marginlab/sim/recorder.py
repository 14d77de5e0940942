"""What a replay writes down: each step's record (prices, faults, every sub-account, every market, actions) and
the liquidations and bad debt decoded from receipts, named and valued in USD at the step's market prices."""
from __future__ import annotations

from decimal import localcontext
from typing import Any

from marginlab.numbers import EXACT, WAD, from_units, plain
from marginlab.protocols.base import BadDebtEvent, LiquidationEvent, Protocol, PurchaseEvent, Reading
from marginlab.protocols.world import World
from marginlab.scenario.model import Market
from marginlab.sim.oracle import Oracle
from marginlab.timeline import (
    ActionRecord,
    BadDebt,
    Liquidation,
    MarketInfo,
    Purchase,
    StepRecord,
    SubAccountState,
    Timeline,
)


def market_info(m: Market) -> MarketInfo:
    return MarketInfo(m.symbol, m.decimals, m.feed_decimals, plain(m.price), plain(m.asset_weight.init),
                      plain(m.asset_weight.maint), plain(m.liab_weight.init), plain(m.liab_weight.maint),
                      plain(m.liquidation_bonus), plain(m.protocol_share), plain(m.reserve_factor),
                      None if m.token.kind == "plain" else str(m.token))


class Recorder:
    def __init__(self, world: World, protocol: Protocol, oracle: Oracle, timeline: Timeline) -> None:
        self.world = world
        self.protocol = protocol
        self.oracle = oracle
        self.timeline = timeline

    # ------------------------------------------------------------------------------------------------ events
    def usd(self, sym: str, units: int) -> int:
        with localcontext(EXACT):
            value = from_units(units, self.world.markets[sym].decimals) * self.oracle.prices[sym] * WAD
            return int(value)  # truncates toward zero: values are never overstated

    def events(self, step: int, receipt: dict[str, Any]) -> None:
        """The liquidations and bad debt a receipt reports, appended to the timeline."""
        name = self.world.name_of
        for ev in self.protocol.decode_events(receipt):
            if isinstance(ev, LiquidationEvent) and ev.absorbed is not None:
                # One absorption, one liquidation of the account: valued as the vault valued it before.
                self.timeline.liquidations.append(Liquidation(
                    step=step, liquidator=name(ev.liquidator), account=name(ev.owner), sub_id=ev.sub_id, debt=ev.debt,
                    collateral=ev.collateral, repaid=0, seized=0, to_liquidator=0, protocol_cut=0,
                    repaid_value=ev.debt_value, seized_value=ev.collateral_value,
                    health_factor_before=ev.health_factor_before, health_factor_after=None,
                    absorbed=dict(ev.absorbed)))
            elif isinstance(ev, PurchaseEvent):
                if self.timeline.purchases is None:
                    self.timeline.purchases = []
                self.timeline.purchases.append(Purchase(
                    step=step, buyer=name(ev.buyer), collateral=ev.collateral, pay=ev.pay, paid=ev.paid,
                    bought=ev.bought, incentive=ev.incentive, paid_value=self.usd(ev.pay, ev.paid),
                    bought_value=self.usd(ev.collateral, ev.bought)))
            elif isinstance(ev, LiquidationEvent):
                self.timeline.liquidations.append(Liquidation(
                    step=step, liquidator=name(ev.liquidator), account=name(ev.owner), sub_id=ev.sub_id, debt=ev.debt,
                    collateral=ev.collateral, repaid=ev.repaid, seized=ev.seized, to_liquidator=ev.to_liquidator,
                    protocol_cut=ev.protocol_cut, repaid_value=self.usd(ev.debt, ev.repaid),
                    seized_value=self.usd(ev.collateral, ev.seized), health_factor_before=ev.health_factor_before,
                    health_factor_after=ev.health_factor_after))
            else:
                assert isinstance(ev, BadDebtEvent)
                self.timeline.bad_debts.append(BadDebt(
                    step=step, account=name(ev.owner), sub_id=ev.sub_id, asset=ev.asset, debt=ev.debt,
                    covered_by_reserves=ev.covered_by_reserves, socialised=ev.socialised,
                    value=self.usd(ev.asset, ev.debt), left_as_debt=ev.left_as_debt, in_absorb=ev.in_absorb,
                    deficit=ev.deficit))

    # ------------------------------------------------------------------------------------------------ steps
    def record(self, index: int, source: str, label: str | None, reading: Reading, actions: list[ActionRecord],
               tokens: dict[str, str] | None) -> StepRecord:
        note = None
        states = reading.accounts
        if states is None:
            # Balances cannot be valued this step: carry the last valued state and say why in the record.
            note = f"accounts not valued: {reading.source} reverted with {reading.error}"
            previous: dict[str, SubAccountState] = self.timeline.records[-1].accounts if self.timeline.records else {}
            states = dict(previous)
        elif reading.unpriced:
            # The others are valued (I25); an unpriced sub-account carries its last valued state, named in the note.
            previous = self.timeline.records[-1].accounts if self.timeline.records else {}
            note = "accounts not valued (a market they hold has no price): " + "; ".join(
                f"{key} {error}" for key, error in reading.unpriced.items())
            carried = {**states, **{k: previous[k] for k in reading.unpriced if k in previous}}
            states = {ref.key: carried[ref.key] for ref in self.timeline.sub_accounts if ref.key in carried}
        return StepRecord(index=index, source=source, label=label, time=self.oracle.sim_time,
                          prices={s: plain(p) for s, p in self.oracle.prices.items()},
                          oracle=dict(sorted(self.oracle.faults.items())), accounts=states,
                          markets=self.protocol.read_markets(), actions=list(actions), note=note, tokens=tokens,
                          pairs=self.protocol.read_pairs())
