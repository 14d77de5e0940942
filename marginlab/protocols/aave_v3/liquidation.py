"""Liquidations on Aave v3 as the keeper sees them: the pairs ``liquidationCall`` allows (offers, with Aave's
close factor, bonus and protocol fee), one ``liquidationCall`` per order from the keeper's own address receiving
aTokens (as the vault's keeper keeps seized collateral inside the vault), and the ``LiquidationCall`` events.

Debt left without collateral: Aave 3.0.2 leaves it as variable debt of an address that holds no collateral
(no deficit accounting, no settlement). When a liquidation leaves an account so, a :class:`BadDebtEvent` per
debt asset records it with ``left_as_debt``: nobody absorbed it (reserves 0, socialised 0)."""
from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any, Callable

from web3 import Web3

from marginlab.chain import Signer, TxReverted
from marginlab.chain.events import events_of
from marginlab.numbers import EXACT, UINT256_MAX, WAD
from marginlab.protocols.aave_v3.artifacts import explain
from marginlab.protocols.aave_v3.deploy import Deployment
from marginlab.protocols.aave_v3.layout import BPS, CLOSE_FACTOR_HF_THRESHOLD, ReserveParams
from marginlab.protocols.aave_v3.reads import AaveReads, UserNow
from marginlab.protocols.base import AccountView, BadDebtEvent, KeeperOrder, LiquidationEvent, Offer, RoundResult
from marginlab.protocols.world import KEEPER, World


def aave_offers(account: AccountView, user: UserNow, prices: dict[str, Decimal], decimals: dict[str, int],
                reserves: dict[str, ReserveParams]) -> list[Offer]:
    """Every (debt, collateral) pair Aave would liquidate, in symbol order: the close factor's share of the debt
    (50 %, all of it at a health factor at or below 0.95), at most the collateral's value net of its bonus. The
    liquidator's profit is the bonus less Aave's liquidation protocol fee on it; repaying V of debt for
    collateral ``c`` changes Aave's maintenance health by V·(1 − (1 + bonus_c)·threshold_c)."""
    hf = account.state.health_factor
    factor = Decimal(1) if hf is not None and hf <= CLOSE_FACTOR_HF_THRESHOLD else Decimal("0.5")
    ids = {s: i for i, s in enumerate(reserves)}
    offers = []
    with localcontext(EXACT):
        for debt in sorted(user.borrowed):
            if user.borrowed[debt] <= 0:
                continue
            debt_value = Decimal(user.borrowed[debt]).scaleb(-decimals[debt]) * prices[debt] * factor
            for coll in sorted(user.supplied):
                r = reserves[coll]
                if user.supplied[coll] <= 0 or r.threshold == 0 or not user.collateral_enabled(ids[coll]):
                    continue
                bonus = Decimal(r.bonus - BPS) / BPS
                coll_value = Decimal(user.supplied[coll]).scaleb(-decimals[coll]) * prices[coll] / (1 + bonus)
                value = min(debt_value, coll_value)
                if value <= 0:
                    continue
                fee = Decimal(r.protocol_fee) / BPS
                gain = value * (1 - (1 + bonus) * Decimal(r.threshold) / BPS)
                offers.append(Offer(debt, coll, value, value * bonus * (1 - fee), value * bonus, gain))
    return offers


class AaveLiquidations:
    def __init__(self, world: World, dep: Deployment, reads: AaveReads, key_of: Callable[[str], tuple[str, int]],
                 address_of: Callable[[str, int], str]) -> None:
        self.world = world
        self.dep = dep
        self.reads = reads
        self.key_of = key_of
        self.address_of = address_of
        self.keeper = world.signer(KEEPER)
        #: (transaction hash, user) → the user's state before and after that liquidation, read as it was mined
        self._health: dict[tuple[str, str], tuple[UserNow, UserNow]] = {}

    def run_keeper(self, orders: list[KeeperOrder], keeper: Signer | None = None) -> RoundResult:
        """One ``liquidationCall(collateral, debt, user, max, receiveAToken)`` per order: Aave caps the repayment
        at its close factor and at the collateral there is. The simulator's keeper receives aTokens; a keeper with
        a balance sheet (``keeper``) receives the underlying, which it sells into the pools."""
        result = RoundResult()
        world = self.world
        for i, order in enumerate(orders):
            assert order.debt is not None and order.collateral is not None
            try:
                receipt = world.chain.transact(keeper or self.keeper, self.dep.pool, "liquidationCall",
                                               world.tokens[order.collateral].address, world.tokens[order.debt].address,
                                               self.address_of(order.owner, order.sub_id), UINT256_MAX,
                                               keeper is None)
            except TxReverted as exc:
                result.failed[i] = explain(exc.reason)
                continue
            world.log_gas("liquidate", receipt)
            result.receipts.append(receipt)
            self._read_health(receipt, self.address_of(order.owner, order.sub_id))
        return result

    def _read_health(self, receipt: dict[str, Any], user: str) -> None:
        """The user's state at the block before the liquidation's and at its block, read while that block is the
        latest: the in-process chain keeps no state further back, and a round sends several liquidations."""
        block = int(receipt["blockNumber"])
        self._health[_tx_user(receipt, user)] = (self.reads.snapshot([user], block - 1).users[0],
                             self.reads.snapshot([user], block).users[0])

    def decode_events(self, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent]:
        """``LiquidationCall`` events, each with Aave's protocol fee (the collateral aToken's transfer from the
        user to the treasury in the same receipt), the health factors read at the block before and the block of
        the receipt, and debt the liquidation left without collateral."""
        out: list[LiquidationEvent | BadDebtEvent] = []
        world, block = self.world, int(receipt["blockNumber"])
        sym = world.symbol_of
        for ev in events_of(self.dep.pool, "LiquidationCall", receipt):
            a = ev["args"]
            owner, sub = self.key_of(a["user"])
            coll, debt = sym[a["collateralAsset"].lower()], sym[a["debtAsset"].lower()]
            fee = sum(int(t["args"]["value"]) for t in
                      events_of(self.dep.tokens[coll][0], "Transfer", receipt)
                      if t["args"]["from"].lower() == a["user"].lower()
                      and t["args"]["to"].lower() == self.dep.treasury.lower())
            read = self._health.pop(_tx_user(receipt, a["user"]), None)
            before, after = read if read is not None else (self.reads.snapshot([a["user"]], block - 1).users[0],
                                                           self.reads.snapshot([a["user"]], block).users[0])
            to_liquidator = int(a["liquidatedCollateralAmount"])
            out.append(LiquidationEvent(a["liquidator"], world.address(owner), sub, debt, coll,
                                        int(a["debtToCover"]), to_liquidator + fee, to_liquidator, fee,
                                        _hf(before), _hf(after)))
            if after.account is not None and after.account[0] == 0 and after.account[1] > 0:
                for s, amount in after.borrowed.items():
                    if amount > 0:
                        out.append(BadDebtEvent(world.address(owner), sub, s, amount, 0, 0, left_as_debt=amount))
        return out


def _tx_user(receipt: dict[str, Any], user: str) -> tuple[str, str]:
    return Web3.to_hex(receipt["transactionHash"]).lower(), str(user).lower()


def _hf(user: UserNow) -> int | None:
    if user.account is None or user.account[1] == 0:
        return None
    return user.account[5]


__all__ = ["AaveLiquidations", "aave_offers", "WAD"]
