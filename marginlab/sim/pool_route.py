"""The ``pool`` close route (issue 21, item 2): repay a position's debt from its own collateral through the
scenario's Uniswap v2 pools, as a trader without a flash loan does it — a deleveraging loop of the protocol's own
calls and real swaps, nothing minted.

Each round reads the mined state (a read flushes what is pending, so every quote sees the previous round mined):
the position's debt, what the wallet already holds of the debt asset, and how much of the collateral the protocol
lets go (the sub-account's initial-health headroom at the oracle's price, less a margin). It withdraws that much
(at most what the debt still needs, quoted on chain with ``quoteIn``), sells it through the pool pairing the two
assets (``quote`` then ``swap`` with a 0.5 % ``min_out``) and repays. It stops when the debt is repaid or after
:data:`ROUNDS` rounds; a close then withdraws what is left of the position's collateral. A withdraw, swap or
repay the chain refuses is a failed act with its reason, and the close stops there.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from marginlab.chain.reverts import TxReverted
from marginlab.numbers import EXACT, UINT256_MAX, from_units, plain
from marginlab.protocols.base import Protocol
from marginlab.protocols.world import World
from marginlab.scenario.actions import PlannedVerb, Repay, Withdraw
from marginlab.scenario.strategy_plan import PlannedStrategy
from marginlab.sim.pools import Pools
from marginlab.sim.strategy_calls import CloseRequest, WalletSender, wallet_route
from marginlab.timeline import ActionRecord, StrategyAct

#: rounds of withdraw → swap → repay before the close gives up
ROUNDS = 8
#: the share of the computed headroom a round withdraws (prices and interest move between the read and the call)
HEADROOM = Decimal("0.97")
#: the swap's floor below its on-chain quote, in basis points (a round also buys 1 bp more than the debt it read)
SLIPPAGE_BPS = 50


def pool_for(pools: Pools, a: str, b: str) -> str | None:
    """The pool pairing ``a`` and ``b`` in either orientation, or None."""
    for pair, spec in sorted(pools.specs.items()):
        if {spec.base, spec.quote} == {a, b}:
            return pair
    return None


@dataclass
class PoolClose:
    world: World
    protocol: Protocol
    pools: Pools
    sender: WalletSender
    prices: dict[str, Decimal]
    weights: dict[str, Decimal]  # initial asset weight per symbol (the headroom estimate)
    records: list[ActionRecord] | None = None

    def run(self, step: int, s: PlannedStrategy, legs: dict[str, int], alone: bool, close: bool,
            records: list[ActionRecord]) -> list[str]:
        """Repay the position's debt (``close``: all of it, then withdraw its collateral; otherwise the
        strategy's ``amounts``) and return notes on what it left."""
        self.records = records
        debts = sorted(sym for sym, v in legs.items() if v < 0)
        colls = sorted(sym for sym, v in legs.items() if v > 0)
        target = {sym: UINT256_MAX for sym in debts} if close else dict(s.amounts)
        repaid: dict[str, int] = {}
        who = self.world.address(s.account)
        notes: list[str] = []
        rounds = 0
        for sym in sorted(target):
            while True:
                debt = self.protocol.debt(s.account, s.sub_id, sym)  # a read: the previous round is mined
                want = min(debt, target[sym] - repaid.get(sym, 0))
                if want <= 0:
                    break
                if rounds >= ROUNDS:
                    notes.append(f"pool route: {ROUNDS} rounds used, {self._amt(sym, debt)} of debt left")
                    break
                rounds += 1
                held = self.world.balance(sym, who)
                if held < want:
                    # a basis point more than the debt read: a repay-all must also cover the interest that
                    # accrues before it is mined
                    if not self._raise(step, s, sym, want - held + want // 10**4 + 1, colls, records):
                        notes.append(f"pool route: position partly closed, {self._amt(sym, debt)} of debt left")
                        break
                    held = self.world.balance(sym, who)
                if held <= 0:
                    break
                pay = UINT256_MAX if held >= debt and close else min(held, want)
                if not self._send(step, Repay(account=s.account, source=s.source, owner=s.account,
                                              sub_id=s.sub_id, amounts={sym: pay})):
                    break
                repaid[sym] = repaid.get(sym, 0) + (debt if pay == UINT256_MAX else pay)
        if close:
            if any(self.protocol.debt(s.account, s.sub_id, sym) > 0 for sym in debts):
                return notes + [f"collateral stays in sub {s.sub_id}: the debt is not repaid"]
            reading = self.protocol.read_accounts({f"{s.account}/{s.sub_id}"})
            sub = (reading.accounts or {}).get(f"{s.account}/{s.sub_id}")
            balances = dict(sub.balances) if sub is not None else {}
            verbs, more = wallet_route(CloseRequest(s, {k: v for k, v in legs.items() if v > 0}, balances, alone))
            for verb in verbs:
                self._send(step, verb)
            notes += more
        return notes

    # ------------------------------------------------------------------------------------------------ a round
    def _raise(self, step: int, s: PlannedStrategy, sym: str, need: int, colls: list[str],
               records: list[ActionRecord]) -> bool:
        """Withdraw collateral and sell it for ``need`` units of ``sym``; False when nothing was raised."""
        for coll in colls:
            pair = pool_for(self.pools, coll, sym)
            if pair is None:
                continue
            cost = self.pools.quote_in(pair, coll, need)  # UINT256_MAX: the pool cannot pay that much
            room, why = self._headroom(s, coll)
            take = min(room, cost)
            if take <= 0:
                records.append(ActionRecord(step, s.account, f"{s.label}: pool route: no {coll} to withdraw ({why})",
                                            True, str(s.source), line=s.source.line))
                continue
            if not self._send(step, Withdraw(account=s.account, source=s.source, sub_id=s.sub_id,
                                             amounts={coll: take})):
                return False
            return self._swap(step, s, pair, coll, take, records)
        return False

    def _headroom(self, s: PlannedStrategy, coll: str) -> tuple[int, str]:
        """What of ``coll`` the sub-account can withdraw and keep its initial health (estimated at the oracle's
        price and the asset's initial weight, less :data:`HEADROOM`), at most what it holds; and why it is 0."""
        key = f"{s.account}/{s.sub_id}"
        sub = (self.protocol.read_accounts({key}).accounts or {}).get(key)
        held = max(0, sub.balances.get(coll, 0)) if sub is not None else 0
        if sub is None or held == 0:
            return 0, f"sub {s.sub_id} holds none"
        if sub.health_factor is None:
            return held, ""
        dec = self.world.markets[coll].decimals
        with localcontext(EXACT):
            per_unit = self.prices[coll] * self.weights[coll] / Decimal(10) ** dec
            if per_unit <= 0 or sub.health_init <= 0:
                return 0, "its initial health has no room"
            room = int(Decimal(sub.health_init) / Decimal(10) ** 18 / per_unit * HEADROOM)
        return min(held, room), "its initial health has no room"

    def _swap(self, step: int, s: PlannedStrategy, pair: str, coll: str, amount: int,
              records: list[ActionRecord]) -> bool:
        out = self.pools.quote(pair, coll, amount)  # a read: the withdraw is mined
        other = self.pools.specs[pair].quote if self.pools.specs[pair].base == coll else self.pools.specs[pair].base
        floor = out - out * SLIPPAGE_BPS // 10**4
        label = f"{self.sender.label_prefix}swap {self._amt(coll, amount)} for ≥ {self._amt(other, floor)} " \
                f"in pool {pair}"
        with localcontext(EXACT):
            value = int((from_units(amount, self.world.markets[coll].decimals) * self.prices[coll]).scaleb(18))
        act = StrategyAct(step, s.account, s.label, "swap", True, {coll: amount}, value)
        self.sender.acts.append(act)
        try:
            self.pools.swap(self.world.signer(s.account), pair, coll, amount, floor)
        except TxReverted as e:
            act.ok = False
            act.error_name = e.reason
            records.append(ActionRecord(step, s.account, label, False, str(s.source), e.reason, line=s.source.line))
            return False
        records.append(ActionRecord(step, s.account, label, True, str(s.source), line=s.source.line))
        return True

    def _send(self, step: int, verb: PlannedVerb) -> bool:
        """Send through the strategy's wallet sender, mine it, and say whether every call went through."""
        before = len(self.sender.acts)
        assert self.records is not None
        self.sender.send(step, verb, self.records)
        self.world.chain.flush()
        return all(a.ok for a in self.sender.acts[before:])

    def _amt(self, sym: str, units: int) -> str:
        return f"{plain(from_units(units, self.world.markets[sym].decimals))} {sym}"

