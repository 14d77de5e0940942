"""Keepers with a balance sheet (scenario ``keepers:``, issue 17).

Each keeper is its own liquidation contract on the protocol (:meth:`Protocol.deploy_liquidator`) holding the
inventory the scenario gives it, minted once at set-up and never topped up. For every liquidation the policy keeper
would take (its rule picks the pair), each keeper decides on its own: it acts only once the account has been
liquidatable for its reaction delay (steps), holds enough of the debt asset, and expects

    bonus − slippage − gas > min_profit

where the bonus is the seizure's value at the market path less the repayment's, the slippage is what selling the
seizure into the pool loses against the path (quoted on chain: ``SimSwapper.quote``), and the gas is the gas
table's units (the same on every chain, never receipts) × the keeper's bid (gwei) × the native token's price.
Keepers that take one account send in order of their bids (ties in a seeded random order), one transaction each,
in that order in the block; later ones may find the account already healthy (a failed keeper action). What a
keeper seized is withdrawn and sold into the pool at once: that moves the pool, which a ``pool-twap`` oracle
reads once scenario time passes — a cascade the liquidations cause themselves.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any, Callable

from marginlab.errors import error_name
from marginlab.numbers import EXACT, from_units, plain, to_units
from marginlab.protocols.base import AccountView, KeeperOrder, Offer, Protocol, RoundResult
from marginlab.protocols.world import World
from marginlab.scenario.friction import KeeperSpec
from marginlab.scenario.plan import Plan
from marginlab.sim.keeper_gas import gas_table, usd
from marginlab.sim.oracle import Oracle
from marginlab.sim.pools import Pools
from marginlab.timeline import ActionRecord, KeeperResult, Skipped

OffersFn = Callable[[AccountView], list[Offer]]
Chooser = Callable[[list[Offer], Decimal], Offer | None]

@dataclass
class KeeperBook:
    spec: KeeperSpec
    liquidator: Any
    address: str
    liquidations: int = 0
    failed: int = 0
    skipped: int = 0
    repaid: Decimal = Decimal(0)
    proceeds: Decimal = Decimal(0)
    gas: Decimal = Decimal(0)
    approved: set[str] = field(default_factory=set)
    #: the last decision to take a liquidation needs a flash swap (the keeper lacks the debt asset)
    flash_next: bool = False


class BalanceSheetKeepers:
    def __init__(self, plan: Plan, world: World, protocol: Protocol, pools: Pools, oracle: Oracle,
                 rng: random.Random) -> None:
        self.plan, self.world, self.protocol, self.pools, self.oracle, self.rng = \
            plan, world, protocol, pools, oracle, rng
        self.gas_units = gas_table(plan)
        self.books: list[KeeperBook] = []
        #: sub-account key → the step it was first seen liquidatable (reaction delays count from it)
        self.first_seen: dict[str, int] = {}
        self.skipped: list[Skipped] = []
        #: pool pair → the factor its price moved by in the keepers' sales
        self.impact: dict[str, Decimal] = {pair: Decimal(1) for pair in pools.specs}
        self._skipped_keys: set[tuple[int, str, str]] = set()
        self._held: dict[tuple[str, str], int] = {}
        self._quotes: dict[tuple[str, str, int, str], int] = {}

    def deploy(self) -> None:
        """Each keeper's contract, and its inventory minted to it once."""
        for spec in self.plan.keepers:
            liquidator = self.protocol.deploy_liquidator(spec.name)
            address = self.protocol.liquidator_address(liquidator)
            self.books.append(KeeperBook(spec, liquidator, address))
            self.world.mint([(sym, address, to_units(amount, self.world.markets[sym].decimals))
                             for sym, amount in spec.inventory.items()])

    # ------------------------------------------------------------------------------------------------ deciding
    def observe(self, step: int, views: list[AccountView]) -> None:
        for v in views:
            if v.liquidatable:
                self.first_seen.setdefault(v.key, step)
            else:
                self.first_seen.pop(v.key, None)

    def _pool_for(self, a: str, b: str) -> str | None:
        for pair, spec in self.pools.specs.items():
            if {spec.base, spec.quote} == {a, b}:
                return pair
        return None

    def _native_price(self) -> Decimal:
        native = self.plan.keeper_gas.native_price
        return native if isinstance(native, Decimal) else self.oracle.prices[native]

    def decide(self, step: int, book: KeeperBook, order: KeeperOrder, offer: Offer) -> str | None:
        """None: the keeper takes this liquidation; else why not (one line)."""
        spec = book.spec
        debt, coll = order.debt, order.collateral
        assert debt is not None and coll is not None
        seen = self.first_seen.get(order.key, step)
        if step - seen < spec.delay:
            return f"reaction delay: liquidatable since step {seen}, acts after {spec.delay} step(s)"
        pair = self._pool_for(coll, debt)
        if pair is None:
            return f"no pool to sell {coll} for {debt}"
        feed, market = self.oracle.feed_prices, self.oracle.prices
        dec = self.world.markets
        with localcontext(EXACT):
            repay = int((offer.value / feed[debt]).scaleb(dec[debt].decimals).to_integral_value(ROUND_CEILING))
            seized = int(((offer.value + offer.profit) / feed[coll]).scaleb(dec[coll].decimals))
        held = self._balance(book.address, debt)
        flash = held < repay
        if flash and not spec.flash:
            return (f"inventory: needs {plain(from_units(repay, dec[debt].decimals))} {debt}, holds "
                    f"{plain(from_units(held, dec[debt].decimals))}")
        if flash:
            # the pair lends the debt and is paid back in collateral; what is left of the seizure is sold after
            owed = self._quote(pair, coll, repay, "in")
            if owed >= seized:
                return (f"flash swap: the seizure ({plain(from_units(seized, dec[coll].decimals))} {coll}) does not "
                        f"cover the {plain(from_units(owed, dec[coll].decimals))} {coll} owed to the pool")
            proceeds = repay + self._quote(pair, coll, seized - owed, "out")
        else:
            proceeds = self._quote(pair, coll, seized, "out")
        book.flash_next = flash
        with localcontext(EXACT):
            seized_usd = from_units(seized, dec[coll].decimals) * market[coll]
            repay_usd = from_units(repay, dec[debt].decimals) * market[debt]
            proceeds_usd = from_units(proceeds, dec[debt].decimals) * market[debt]
            bonus, slippage = seized_usd - repay_usd, seized_usd - proceeds_usd
            gas = self._gas_usd(spec, flash)
            profit = bonus - slippage - gas
        if profit <= spec.min_profit:
            return (f"unprofitable: bonus {usd(bonus)} − slippage {usd(slippage)} − gas {usd(gas)} = {usd(profit)} "
                    f"USD, not above min_profit {plain(spec.min_profit)}")
        return None

    def _quote(self, pair: str, coll: str, amount: int, way: str) -> int:
        """On chain, once per question until a pool moves: ``out``: what ``amount`` of ``coll`` sells for;
        ``in``: the ``coll`` that buys ``amount`` of the other token."""
        key = (pair, coll, amount, way)
        if key not in self._quotes:
            self._quotes[key] = self.pools.quote(pair, coll, amount) if way == "out" else \
                self.pools.quote_in(pair, coll, amount)
        return self._quotes[key]

    def _balance(self, address: str, sym: str) -> int:
        """A keeper contract's token balance, read once until it sends (only its own transactions change it)."""
        if (address, sym) not in self._held:
            self._held[(address, sym)] = self.world.balance(sym, address)
        return self._held[(address, sym)]

    def _forget(self) -> None:
        self._held.clear()
        self._quotes.clear()

    def _gas_usd(self, spec: KeeperSpec, flash: bool = False) -> Decimal:
        """liquidate + withdraw + the sale; a flash liquidation adds the flash swap."""
        units = self.gas_units["liquidate"] + self.gas_units["withdraw"] + self.gas_units["swap"] * (2 if flash else 1)
        with localcontext(EXACT):
            return Decimal(units) * spec.gas_price_gwei.scaleb(-9) * self._native_price()

    # ------------------------------------------------------------------------------------------------ a round
    def round(self, step: int, orders: list[KeeperOrder], views: dict[str, AccountView], offers: OffersFn,
              choose: Chooser, records: list[ActionRecord], events: Callable[[dict[str, Any]], None]) -> set[str]:
        """Decide and send one round of the policy keeper's liquidations, one account after the other (so each
        decision quotes the pool after the sales before it); returns the keys acted on (sent)."""
        sent: set[str] = set()
        self._forget()  # the arbitrageur and earlier rounds moved the pools
        for order in orders:
            acct = views[order.key]
            offer = next((o for o in offers(acct) if o.debt == order.debt and o.collateral == order.collateral),
                         None) or choose(offers(acct), Decimal(acct.state.health_maint).scaleb(-18))
            if offer is None:
                continue
            takers = []
            for book in self.books:
                reason = self.decide(step, book, order, offer)
                if reason is None:
                    takers.append(book)
                else:
                    self._skip(step, book, order, reason)
            # highest bid first; ties in a seeded random order (the draw happens only when there is a tie)
            ranked = sorted(takers, key=lambda b: -b.spec.gas_price_gwei)
            if len({b.spec.gas_price_gwei for b in ranked}) < len(ranked):
                keys = {id(b): self.rng.random() for b in ranked}
                ranked = sorted(ranked, key=lambda b: (-b.spec.gas_price_gwei, keys[id(b)]))
            for book in ranked:
                self._send(step, book, order, records, events)
                self._forget()  # its balances and the pool moved
                sent.add(order.key)
        return sent

    def _flash_repay(self, order: KeeperOrder) -> int:
        """The debt units a flash liquidation borrows: the order's value at the feed, rounded up."""
        assert order.debt is not None
        with localcontext(EXACT):
            return int((order.expected_value / self.oracle.feed_prices[order.debt])
                       .scaleb(self.world.markets[order.debt].decimals).to_integral_value(ROUND_CEILING))

    def _skip(self, step: int, book: KeeperBook, order: KeeperOrder, reason: str) -> None:
        key = (step, book.spec.name, order.key)
        if key in self._skipped_keys:
            return
        self._skipped_keys.add(key)
        book.skipped += 1
        assert order.debt is not None and order.collateral is not None
        self.skipped.append(Skipped(step, book.spec.name, order.key, order.debt, order.collateral, reason))

    def _send(self, step: int, book: KeeperBook, order: KeeperOrder, records: list[ActionRecord],
              events: Callable[[dict[str, Any]], None]) -> None:
        debt, coll = order.debt, order.collateral
        assert debt is not None and coll is not None
        market, dec = self.oracle.prices, self.world.markets
        flash = book.flash_next
        with localcontext(EXACT):
            book.gas += self._gas_usd(book.spec, flash)
        before = self.world.balance(debt, book.address)
        held_before = self.world.balance(coll, book.address)
        pair = self._pool_for(coll, debt)
        if flash:
            assert pair is not None
            repay = self._flash_repay(order)
            result: RoundResult = self.protocol.flash_liquidate(book.liquidator, self.pools.pairs[pair].address,
                                                                order, repay)
        else:
            result = self.protocol.run_keeper_as(book.liquidator, [order])
        if result.failed:
            book.failed += 1
            reason = result.failed[0]
            records.append(ActionRecord(step, book.spec.name, order.label, False, "keeper", reason,
                                        error_name=error_name(reason)))
            return
        for receipt in result.receipts:
            events(receipt)
        book.liquidations += 1
        repaid = before - self.world.balance(debt, book.address)  # 0 when the pool lent it
        amount = self.protocol.release_seized(book.liquidator, coll) - held_before
        proceeds = 0
        if amount > 0 and pair is not None:
            if coll not in book.approved:
                token = self.world.tokens[coll]
                self.protocol.liquidator_call(book.liquidator, token, "approve", self.pools.swapper_contract.address,
                                              2**256 - 1)
                book.approved.add(coll)
            out_before = self.world.balance(debt, book.address)
            price_before = self.pools.price(pair)
            self.protocol.liquidator_call(book.liquidator, self.pools.swapper_contract, "swap",
                                          self.pools.pairs[pair].address, self.world.tokens[coll].address, amount, 0,
                                          book.address)
            proceeds = self.world.balance(debt, book.address) - out_before
            with localcontext(EXACT):
                self.impact[pair] *= self.pools.price(pair) / price_before
            self.pools.sample(self.oracle.sim_time)
        with localcontext(EXACT):
            book.repaid += from_units(repaid, dec[debt].decimals) * market[debt]
            book.proceeds += from_units(proceeds, dec[debt].decimals) * market[debt]

    # ------------------------------------------------------------------------------------------------ results
    def pool_impact(self) -> dict[str, str]:
        with localcontext(EXACT):
            return {pair: usd(f - 1) for pair, f in self.impact.items()}

    def results(self) -> list[KeeperResult]:
        out = []
        for b in self.books:
            with localcontext(EXACT):
                pnl = b.proceeds - b.repaid - b.gas
            out.append(KeeperResult(b.spec.name, b.liquidations, b.failed, b.skipped, usd(b.repaid),
                                    usd(b.proceeds), usd(b.gas), usd(pnl)))
        return out


__all__ = ["BalanceSheetKeepers", "gas_table"]
