"""Liquidations on Morpho Blue as the keeper sees them: what it may take (offers), one ``MorphoKeeper.run``
transaction per liquidation sized from a read just before it, and Morpho's ``Liquidate`` events."""
from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from web3.contract import Contract

from marginlab.chain import Signer, TxReverted
from marginlab.chain.events import events_of
from marginlab.numbers import EXACT, UINT256_MAX
from marginlab.protocols.base import AccountView, BadDebtEvent, KeeperOrder, LiquidationEvent, Offer, RoundResult
from marginlab.protocols.morpho_blue.book import MorphoBook
from marginlab.protocols.morpho_blue.math import WAD, incentive_factor, max_borrow, mul_div_down, to_assets_up
from marginlab.protocols.morpho_blue.reads import Snapshot
from marginlab.protocols.world import KEEPER


class MorphoLiquidations:
    def __init__(self, book: MorphoBook, bot: Contract, events: Contract) -> None:
        self.book = book
        self.world = book.world
        self.layout = book.layout
        self.params = book.params
        self.bot = bot
        self._events = events
        self.key_of = book.key_of
        self.sub_address = book.sub_address
        self._position = book.position
        self._size = book.size

    def offers(self, account: AccountView, prices: dict[str, Decimal]) -> list[Offer]:
        pair = self.layout.positions.get(account.key)
        if pair is None:
            return []
        balances = account.state.balances
        coll, debt = balances.get(pair.collateral, 0), -balances.get(pair.loan, 0)
        if coll <= 0 or debt <= 0:
            return []
        lif = Decimal(incentive_factor(pair.lltv)) / WAD
        markets = self.world.markets
        with localcontext(EXACT):
            debt_value = Decimal(debt).scaleb(-markets[pair.loan].decimals) * prices[pair.loan]
            coll_value = Decimal(coll).scaleb(-markets[pair.collateral].decimals) * prices[pair.collateral] / lif
            value = min(debt_value, coll_value)
            # Morpho's maintenance health in USD is maxBorrow − borrowed: repaying V of debt while seizing V·LIF of
            # collateral changes it by V·(1 − LIF·LLTV).
            gain = value * (1 - lif * Decimal(pair.lltv) / WAD)
            return [Offer(pair.loan, pair.collateral, value, value * (lif - 1), value * (lif - 1), gain)] \
                if value > 0 else []

    def run_keeper(self, orders: list[KeeperOrder]) -> RoundResult:
        """One liquidation per ``MorphoKeeper.run`` transaction, sized from a read just before it."""
        assert self.bot is not None
        result = RoundResult()
        for i, order in enumerate(orders):
            snap, m, pos = self._position(order.key)
            seized, shares = self._size(snap, m, pos, UINT256_MAX)
            op = (self.params[m], self.sub_address(order.owner, order.sub_id), seized, shares)
            receipt = self.world.chain.transact(self.world.signer(KEEPER), self.bot, "run", [op])
            failed = [self.world.chain.decoder.decode(bytes(ev["args"]["reason"]))
                      for ev in events_of(self.bot, "Failed", receipt)]
            if failed:
                result.failed[i] = failed[0]
                continue
            self.world.log_gas("liquidate", receipt)
            result.receipts.append(receipt)
        return result

    def run_as(self, liquidator: Signer, orders: list[KeeperOrder]) -> RoundResult:
        """A keeper with a balance sheet: ``Morpho.liquidate`` from its own account, sized from a read just before
        each (Morpho pulls the repayment from it and sends it the seized collateral)."""
        result = RoundResult()
        for i, order in enumerate(orders):
            snap, m, pos = self._position(order.key)
            seized, shares = self._size(snap, m, pos, UINT256_MAX)
            try:
                receipt = self.world.chain.transact(liquidator, self.book.morpho, "liquidate", self.params[m],
                                                    self.sub_address(order.owner, order.sub_id), seized, shares, b"")
            except TxReverted as exc:
                result.failed[i] = exc.reason
                continue
            self.world.log_gas("liquidate", receipt)
            result.receipts.append(receipt)
        return result

    def decode_events(self, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent]:
        """Morpho's ``Liquidate`` events (decoded with EventsLib's ABI: solc 0.8.19 leaves library events out of
        Morpho's); the health factors before and after are read from the position once the transaction is in."""
        out: list[LiquidationEvent | BadDebtEvent] = []
        for ev in events_of(self._events, "Liquidate", receipt):
            a = ev["args"]
            owner, sub = self.key_of[a["borrower"].lower()]
            snap, m, pos = self._position(f"{owner}/{sub}")
            s = snap.pairs[m]
            before_hf, after_hf = self._health_factors(snap, m, pos, a)
            out.append(LiquidationEvent(a["caller"], self.world.address(owner), sub, s.pair.loan, s.pair.collateral,
                                        int(a["repaidAssets"]), int(a["seizedAssets"]), int(a["seizedAssets"]), 0,
                                        before_hf, after_hf))
            if int(a["badDebtAssets"]) > 0:
                out.append(BadDebtEvent(self.world.address(owner), sub, s.pair.loan, int(a["badDebtAssets"]), 0,
                                        int(a["badDebtAssets"])))
        return out

    def _health_factors(self, snap: Snapshot, m: int, pos: Any, a: Any) -> tuple[int | None, int | None]:
        """Morpho's health factor after the liquidation, and before it rebuilt from the event's amounts (the
        position and totals as Morpho saw them once it had accrued interest)."""
        s = snap.pairs[m]
        lltv, price = s.pair.lltv, s.price or 0

        def hf(collateral: int, shares: int, total_assets: int, total_shares: int) -> int | None:
            borrowed = to_assets_up(shares, total_assets, total_shares)
            return None if borrowed == 0 else mul_div_down(max_borrow(collateral, price, lltv), WAD, borrowed)

        repaid_sh, bad_sh = int(a["repaidShares"]), int(a["badDebtShares"])
        before = hf(pos.collateral + int(a["seizedAssets"]), pos.borrow_shares + repaid_sh + bad_sh,
                    s.borrow_assets + int(a["repaidAssets"]) + int(a["badDebtAssets"]),
                    s.borrow_shares + repaid_sh + bad_sh)
        return before, hf(pos.collateral, pos.borrow_shares, s.borrow_assets, s.borrow_shares)
