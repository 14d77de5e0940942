"""The vault's liquidations as the keeper sees them: which pairs it allows and how big a call may be (offers), a
keeper round in one ``SimKeeper.run`` transaction, and the ``Liquidated`` / ``BadDebtSettled`` events."""
from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from web3.contract import Contract

from marginlab.chain import TxReverted
from marginlab.chain.events import events_of
from marginlab.model.vault import (
    DEFAULT_LIQUIDATION_PARAMS,
    LiquidationParams,
    Policy,
    dutch_repay_value_to_restore_up,
    liquidation_incentive,
    store_front_incentive_down,
)
from marginlab.model.vault import Params as VaultParams
from marginlab.numbers import EXACT, UINT256_MAX, WAD
from marginlab.protocols.base import (
    AccountView,
    BadDebtEvent,
    KeeperOrder,
    LiquidationEvent,
    Offer,
    PurchaseEvent,
    RoundResult,
)
from marginlab.protocols.world import KEEPER, World

# Gas for a keeper round: no estimate (Ganache runs a liquidation ~10 times to estimate it); gas price is 0, so
# a generous limit costs nothing. Above the costliest liquidation in bench/gas.json (8 assets: ~490k).
KEEPER_GAS_BASE, KEEPER_GAS_PER_OP = 200_000, 900_000
ROUND_GAS_LIMIT = 29_000_000
ZERO_ADDRESS = "0x" + "00" * 20
#: What the keeper offers to pay for absorbed collateral (``buyCollateral``'s upper bound, whole tokens): far
#: above any book, within its float; the vault shrinks the payment to what buys all it holds.
BUY_PAY_WHOLE_TOKENS = 10**12


def _wad(x: Decimal) -> int:
    with localcontext(EXACT):
        return int(x * WAD)


def _dec(x: int) -> Decimal:
    with localcontext(EXACT):
        return Decimal(x) / WAD


def _maint_sums(account: AccountView, prices: dict[str, Decimal], decimals: dict[str, int],
                asset_weight: dict[str, Decimal], liab_weight: dict[str, Decimal]) -> tuple[Decimal, Decimal]:
    """(weighted collateral, weighted debt) at maintenance weights, USD, from the account's balances."""
    coll = debt = Decimal(0)
    with localcontext(EXACT):
        for sym, bal in account.state.balances.items():
            value = Decimal(abs(bal)).scaleb(-decimals[sym]) * prices[sym]
            if bal > 0:
                coll += value * asset_weight[sym]
            elif bal < 0:
                debt += value * liab_weight[sym]
    return coll, debt


def policy_incentive(policy: Policy, params: LiquidationParams, bonus: Decimal, asset_weight_maint: Decimal | None,
                     health_factor: int | None) -> Decimal:
    """The incentive the vault pays on ``coll`` under ``policy`` (model.vault.liquidation_incentive), as a
    fraction: the collateral's bonus (close factor), the cursor's (fixed incentive), the health factor's
    discount (Dutch). Absorb pays the absorber nothing."""
    if policy == Policy.CLOSE_FACTOR:
        return bonus
    if policy == Policy.ABSORB:
        return Decimal(0)
    weight = _wad(asset_weight_maint) if asset_weight_maint is not None else 0
    coll = VaultParams(0, weight, WAD, WAD, _wad(bonus))
    hf = health_factor if health_factor is not None else UINT256_MAX
    return _dec(liquidation_incentive(policy, params, coll, hf))


def vault_offers(account: AccountView, prices: dict[str, Decimal], decimals: dict[str, int],
                 bonus: dict[str, Decimal], share: dict[str, Decimal], asset_weight: dict[str, Decimal] | None = None,
                 liab_weight: dict[str, Decimal] | None = None, policy: Policy = Policy.CLOSE_FACTOR,
                 params: LiquidationParams = DEFAULT_LIQUIDATION_PARAMS) -> list[Offer]:
    """Every (debt, collateral) pair of the sub-account, in symbol order, with the USD value one call may repay
    under the vault's ``policy`` (model.vault.liquidation_max_repay): the close factor's share of the debt (all
    of it below the full-close health factor), the whole debt (fixed incentive), or what lifts the health factor
    to the target (Dutch); at most the collateral's value net of the incentive. The incentive is the policy's
    (model.vault.liquidation_incentive); the liquidator's profit is the incentive on that value less the
    protocol's share. Repaying V of debt ``d`` for collateral ``c`` changes maintenance health by
    V·(wL_d − (1 + incentive_c)·wA_c). Pairs the vault refuses for lowering the health factor
    (:func:`lowers_health`, at the policy's incentive) are not offered. Under ``absorb`` the one offer is the
    absorption of the whole account (:func:`absorb_offer`)."""
    if policy == Policy.ABSORB:
        return absorb_offer(account, prices, decimals, bonus, params, asset_weight, liab_weight)
    state = account.state
    hf = Decimal(state.health_factor) / WAD if state.health_factor is not None else None
    full = _dec(params.full_close_health_factor)
    factor = Decimal(1) if policy != Policy.CLOSE_FACTOR or (hf is not None and hf < full) \
        else _dec(params.close_factor)
    # Dutch: the weighted sums, for the USD repay that lifts the health factor to the target with each pair
    sums = _maint_sums(account, prices, decimals, asset_weight, liab_weight) \
        if policy == Policy.DUTCH and asset_weight is not None and liab_weight is not None else None
    offers: list[Offer] = []
    with localcontext(EXACT):
        for debt, d_bal in sorted(state.balances.items()):
            if d_bal >= 0:
                continue
            debt_value = Decimal(-d_bal).scaleb(-decimals[debt]) * prices[debt] * factor
            for coll, c_bal in sorted(state.balances.items()):
                if c_bal <= 0:
                    continue
                weight = asset_weight[coll] if asset_weight is not None else None
                incentive = policy_incentive(policy, params, bonus[coll], weight, state.health_factor)
                if lowers_health(account, incentive, asset_weight, liab_weight, debt, coll):
                    continue
                cap = debt_value
                if sums is not None and asset_weight is not None and liab_weight is not None:
                    restore_wad = dutch_repay_value_to_restore_up(
                        _wad(sums[0]), _wad(sums[1]), params.target_health_factor, _wad(incentive),
                        _wad(asset_weight[coll]), _wad(liab_weight[debt]))
                    if restore_wad is not None:  # None: this pair cannot lift it, the whole debt
                        cap = min(debt_value, _dec(restore_wad))
                coll_value = Decimal(c_bal).scaleb(-decimals[coll]) * prices[coll] / (1 + incentive)
                value = min(cap, coll_value)
                if value > 0:
                    gain = Decimal(0)
                    if asset_weight is not None and liab_weight is not None:
                        gain = value * (liab_weight[debt] - (1 + incentive) * asset_weight[coll])
                    offers.append(Offer(debt, coll, value, value * incentive * (1 - share[coll]),
                                        value * incentive, gain))
    return offers


def absorb_offer(account: AccountView, prices: dict[str, Decimal], decimals: dict[str, int],
                 bonus: dict[str, Decimal], params: LiquidationParams, asset_weight: dict[str, Decimal] | None,
                 liab_weight: dict[str, Decimal] | None) -> list[Offer]:
    """Under ``absorb``: one offer, to have the protocol take over the whole account (debt and collateral named
    ""): ``value`` the debt written off, ``profit`` what the keeper makes buying the collateral back at the
    store-front incentive (storeFrontFactor × each collateral's bonus), ``cost`` the borrower's equity it loses,
    ``health_gain`` all of the shortfall (the account is left empty)."""
    state = account.state
    with localcontext(EXACT):
        coll_value = debt_value = profit = Decimal(0)
        for sym, bal in sorted(state.balances.items()):
            value = Decimal(abs(bal)).scaleb(-decimals[sym]) * prices[sym]
            if bal > 0:
                coll_value += value
                incentive = _dec(store_front_incentive_down(params.store_front_factor, _wad(bonus[sym])))
                profit += value - value / (1 + incentive)
            elif bal < 0:
                debt_value += value
        if debt_value == 0:
            return []
        health = Decimal(state.health_maint) / WAD
        return [Offer("", "", debt_value, profit, max(coll_value - debt_value, Decimal(0)), max(-health, Decimal(0)),
                      absorb=True)]


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
        if order.absorb:  # both tokens zero: SimKeeper calls absorb(owner, subId)
            return (False, owner, order.sub_id, ZERO_ADDRESS, ZERO_ADDRESS)
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
        self.world.log_gas("absorb" if order.absorb else "settle_bad_debt" if order.is_settlement else "liquidate",
                           receipt)
        result.receipts.append(receipt)

    def buy_absorbed(self, receipts: list[dict[str, Any]], result: RoundResult) -> None:
        """After a round that absorbed accounts: buy all the protocol holds of each collateral absorbed, in symbol
        order, paying in the first of the absorbed accounts' debt assets (symbol order) that is not that
        collateral (else the first other market), from the keeper's float: one ``SimKeeper.buyCollateral`` each.
        A purchase the vault refuses (nothing left to buy, paused) is skipped; its receipt is not recorded."""
        sym = self.world.symbol_of
        colls: set[str] = set()
        debts: set[str] = set()
        absorbed_accounts: set[tuple[str, int]] = set()
        for receipt in receipts:
            for ev in events_of(self.vault, "CollateralAbsorbed", receipt):
                colls.add(sym[ev["args"]["token"].lower()])
            for ev in events_of(self.vault, "Absorbed", receipt):
                absorbed_accounts.add((ev["args"]["owner"].lower(), int(ev["args"]["subId"])))
            for ev in events_of(self.vault, "BadDebtSettled", receipt):
                if (ev["args"]["owner"].lower(), int(ev["args"]["subId"])) in absorbed_accounts:
                    debts.add(sym[ev["args"]["token"].lower()])
        markets = sorted(self.world.tokens)
        for coll in sorted(colls):
            pay = next((d for d in sorted(debts) if d != coll), None) or next(s for s in markets if s != coll)
            amount = BUY_PAY_WHOLE_TOKENS * 10 ** self.world.markets[pay].decimals
            try:
                receipt = self.chain.transact(self.world.signer(KEEPER), self.bot, "buyCollateral",
                                              self.world.tokens[coll].address, self.world.tokens[pay].address,
                                              amount, 0, self.sub_id, gas=KEEPER_GAS_BASE + KEEPER_GAS_PER_OP)
            except TxReverted:
                continue
            self.world.log_gas("buy_collateral", receipt)
            result.receipts.append(receipt)

    def _failed(self, receipt: dict[str, Any]) -> dict[int, str]:
        return {int(ev["args"]["index"]): self.chain.decoder.decode(bytes(ev["args"]["reason"]))
                for ev in events_of(self.bot, "Failed", receipt)}


def _hf(value: int) -> int | None:
    return None if int(value) == UINT256_MAX else int(value)


def vault_events(world: World, vault: Contract,
                 receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent | PurchaseEvent]:
    """The vault's ``Liquidated`` events, its ``Absorbed`` ones (with their ``CollateralAbsorbed`` and the
    account's ``BadDebtSettled``: one absorption), then its ``BadDebtSettled`` events, then ``CollateralBought``,
    of one receipt."""
    out: list[LiquidationEvent | BadDebtEvent | PurchaseEvent] = []
    sym = world.symbol_of
    for ev in events_of(vault, "Liquidated", receipt):
        a = ev["args"]
        out.append(LiquidationEvent(a["liquidator"], a["owner"], int(a["subId"]), sym[a["debtToken"].lower()],
                                    sym[a["collToken"].lower()], int(a["repaid"]), int(a["seizedTotal"]),
                                    int(a["toLiquidator"]), int(a["protocolCut"]), _hf(a["healthFactorBefore"]),
                                    _hf(a["healthFactorAfter"]), liquidator_sub_id=int(a["liquidatorSubId"])))
    taken: dict[tuple[str, int], dict[str, int]] = {}
    for ev in events_of(vault, "CollateralAbsorbed", receipt):
        a = ev["args"]
        moved = taken.setdefault((a["owner"].lower(), int(a["subId"])), {})
        moved[sym[a["token"].lower()]] = moved.get(sym[a["token"].lower()], 0) + int(a["amount"])
    settled = list(events_of(vault, "BadDebtSettled", receipt))
    absorbed: set[tuple[str, int]] = set()
    for ev in events_of(vault, "Absorbed", receipt):
        a = ev["args"]
        key = (a["owner"].lower(), int(a["subId"]))
        absorbed.add(key)
        colls = dict(sorted(taken.get(key, {}).items()))
        debts = sorted({sym[b["args"]["token"].lower()] for b in settled
                        if (b["args"]["owner"].lower(), int(b["args"]["subId"])) == key})
        out.append(LiquidationEvent(a["absorber"], a["owner"], int(a["subId"]), "+".join(debts), "+".join(colls),
                                    0, 0, 0, 0, _hf(a["healthFactorBefore"]), None, absorbed=colls,
                                    debt_value=int(a["debtValue"]), collateral_value=int(a["collateralValue"])))
    for ev in settled:
        a = ev["args"]
        gap = int(a["debt"]) - int(a["coveredByReserves"]) - int(a["socialised"])  # DeficitRecorded's amount
        out.append(BadDebtEvent(a["owner"], int(a["subId"]), sym[a["token"].lower()], int(a["debt"]),
                                int(a["coveredByReserves"]), int(a["socialised"]),
                                in_absorb=(a["owner"].lower(), int(a["subId"])) in absorbed, deficit=gap or None))
    for ev in events_of(vault, "CollateralBought", receipt):
        a = ev["args"]
        out.append(PurchaseEvent(a["buyer"], sym[a["collToken"].lower()], sym[a["payToken"].lower()], int(a["paid"]),
                                 int(a["bought"]), int(a["incentive"])))
    return out
