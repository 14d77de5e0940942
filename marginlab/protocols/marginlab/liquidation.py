"""The vault's liquidations as the keeper sees them: which pairs it allows and how big a call may be (offers), a
keeper round in one ``SimKeeper.run`` transaction, and the ``Liquidated`` / ``BadDebtSettled`` events."""
from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from web3.contract import Contract
from web3.logs import DISCARD

from marginlab.chain import TxReverted
from marginlab.numbers import EXACT, UINT256_MAX, WAD
from marginlab.protocols.base import AccountView, BadDebtEvent, KeeperOrder, LiquidationEvent, Offer, RoundResult
from marginlab.protocols.world import KEEPER, World

CLOSE_FACTOR = Decimal("0.5")
FULL_CLOSE_HEALTH_FACTOR = Decimal("0.95")
# Gas for a keeper round: no estimate (Ganache runs a liquidation ~10 times to estimate it); gas price is 0, so
# a generous limit costs nothing. Above the costliest liquidation in bench/gas.json (8 assets: ~490k).
KEEPER_GAS_BASE, KEEPER_GAS_PER_OP = 200_000, 900_000
ROUND_GAS_LIMIT = 29_000_000
ZERO_ADDRESS = "0x" + "00" * 20


def vault_offers(account: AccountView, prices: dict[str, Decimal], decimals: dict[str, int],
                 bonus: dict[str, Decimal], share: dict[str, Decimal], asset_weight: dict[str, Decimal] | None = None,
                 liab_weight: dict[str, Decimal] | None = None) -> list[Offer]:
    """Every (debt, collateral) pair of the sub-account, in symbol order, with the USD value one call may repay:
    the close factor's share of the debt (all of it below health factor 0.95), at most the collateral's value
    net of its bonus; the liquidator's profit is the bonus on that value less the protocol's share. Repaying V of
    debt ``d`` for collateral ``c`` changes maintenance health by V·(wL_d − (1 + bonus_c)·wA_c). Pairs the vault
    refuses for lowering the health factor (:func:`lowers_health`) are not offered."""
    state = account.state
    hf = Decimal(state.health_factor) / WAD if state.health_factor is not None else None
    factor = Decimal(1) if hf is not None and hf < FULL_CLOSE_HEALTH_FACTOR else CLOSE_FACTOR
    offers: list[Offer] = []
    with localcontext(EXACT):
        for debt, d_bal in sorted(state.balances.items()):
            if d_bal >= 0:
                continue
            debt_value = Decimal(-d_bal).scaleb(-decimals[debt]) * prices[debt] * factor
            for coll, c_bal in sorted(state.balances.items()):
                if c_bal <= 0 or lowers_health(account, bonus[coll], asset_weight, liab_weight, debt, coll):
                    continue
                coll_value = Decimal(c_bal).scaleb(-decimals[coll]) * prices[coll] / (1 + bonus[coll])
                value = min(debt_value, coll_value)
                if value > 0:
                    gain = Decimal(0)
                    if asset_weight is not None and liab_weight is not None:
                        gain = value * (liab_weight[debt] - (1 + bonus[coll]) * asset_weight[coll])
                    offers.append(Offer(debt, coll, value, value * bonus[coll] * (1 - share[coll]),
                                        value * bonus[coll], gain))
    return offers


def lowers_health(account: AccountView, bonus: Decimal, asset_weight: dict[str, Decimal] | None,
                  liab_weight: dict[str, Decimal] | None, debt: str, coll: str) -> bool:
    """Whether the vault refuses this pair (``HealthFactorNotImproved``, invariant I9): repaying V of ``debt`` for
    ``coll`` moves the health factor away from (1 + bonus)·wA_coll / wL_debt, so it falls when the health factor
    is below that, and the vault refuses that while the account can pay the bonus (collateral ≥ debt × (1 + bonus)).
    Equality counts as lowering (the vault rounds against the liquidator). Without weights nothing is ruled out."""
    state = account.state
    if state.health_factor is None or asset_weight is None or liab_weight is None:
        return False
    with localcontext(EXACT):
        if Decimal(state.collateral_value) < Decimal(state.debt_value) * (1 + bonus):
            return False  # cannot pay the bonus: the vault lets health fall on the way to closing the account
        target = (1 + bonus) * asset_weight[coll] / liab_weight[debt]
        return Decimal(state.health_factor) / WAD <= target


class KeeperBot:
    """The keeper's liquidation contract (``SimKeeper``): every order of a round in one transaction."""

    def __init__(self, world: World, bot: Contract, vault: Contract, sub_id: int) -> None:
        self.world = world
        self.chain = world.chain
        self.bot = bot
        self.vault = vault
        self.sub_id = sub_id

    def _op(self, order: KeeperOrder) -> tuple[Any, ...]:
        owner = self.world.address(order.owner)
        if order.is_settlement:
            return (True, owner, order.sub_id, ZERO_ADDRESS, ZERO_ADDRESS)
        assert order.debt is not None and order.collateral is not None
        return (False, owner, order.sub_id, self.world.tokens[order.debt].address,
                self.world.tokens[order.collateral].address)

    def run(self, orders: list[KeeperOrder], result: RoundResult | None = None, offset: int = 0) -> RoundResult:
        """All of a round's orders in one ``SimKeeper.run`` transaction, in the keeper's order; each the vault
        rejects is reported by a ``Failed`` event, exactly as when they were sent one by one (they run in the same
        order on the same state). A round too big for a block is split in halves."""
        result = result if result is not None else RoundResult()
        if self.world.per_op_gas:  # one order per transaction, so each has its own gas
            for i, order in enumerate(orders):
                self._run_one(order, result, offset + i)
            return result
        gas = KEEPER_GAS_BASE + KEEPER_GAS_PER_OP * len(orders)
        if gas > ROUND_GAS_LIMIT and len(orders) > 1:
            half = len(orders) // 2
            self.run(orders[:half], result, offset)
            self.run(orders[half:], result, offset + half)
            return result
        try:
            receipt = self.chain.transact(self.world.signer(KEEPER), self.bot, "run",
                                          [self._op(o) for o in orders], self.sub_id, gas=gas)
        except TxReverted:
            # Should not happen (the bot catches the vault's reverts); fall back to one order per transaction.
            for i, order in enumerate(orders):
                self._run_one(order, result, offset + i)
            return result
        for i, reason in self._failed(receipt).items():
            result.failed[offset + i] = reason
        result.receipts.append(receipt)
        return result

    def _run_one(self, order: KeeperOrder, result: RoundResult, index: int) -> None:
        try:
            receipt = self.chain.transact(self.world.signer(KEEPER), self.bot, "run", [self._op(order)],
                                          self.sub_id, learn_gas=False)
        except TxReverted as exc:
            result.failed[index] = exc.reason
            return
        failed = self._failed(receipt)
        if failed:
            result.failed[index] = next(iter(failed.values()))
            return
        self.world.log_gas("settle_bad_debt" if order.is_settlement else "liquidate", receipt)
        result.receipts.append(receipt)

    def _failed(self, receipt: dict[str, Any]) -> dict[int, str]:
        return {int(ev["args"]["index"]): self.chain.decoder.decode(bytes(ev["args"]["reason"]))
                for ev in self.bot.events.Failed().process_receipt(receipt, errors=DISCARD)}


def _hf(value: int) -> int | None:
    return None if int(value) == UINT256_MAX else int(value)


def vault_events(world: World, vault: Contract, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent]:
    """The vault's ``Liquidated`` events, then its ``BadDebtSettled`` events, of one receipt."""
    out: list[LiquidationEvent | BadDebtEvent] = []
    sym = world.symbol_of
    for ev in vault.events.Liquidated().process_receipt(receipt, errors=DISCARD):
        a = ev["args"]
        out.append(LiquidationEvent(a["liquidator"], a["owner"], int(a["subId"]), sym[a["debtToken"].lower()],
                                    sym[a["collToken"].lower()], int(a["repaid"]), int(a["seizedTotal"]),
                                    int(a["toLiquidator"]), int(a["protocolCut"]), _hf(a["healthFactorBefore"]),
                                    _hf(a["healthFactorAfter"]), int(a["liquidatorSubId"])))
    for ev in vault.events.BadDebtSettled().process_receipt(receipt, errors=DISCARD):
        a = ev["args"]
        out.append(BadDebtEvent(a["owner"], int(a["subId"]), sym[a["token"].lower()], int(a["debt"]),
                                int(a["coveredByReserves"]), int(a["socialised"])))
    return out
