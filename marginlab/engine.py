"""Replay a plan on a chain: deploy a fresh protocol, open the accounts, apply every step, run the keeper and
record a :class:`~marginlab.timeline.Timeline`. The engine never formats reports; it only records numbers.

RPC budget per step: the step's own transactions, one ``accountStates`` batch read per keeper round (one round
when nobody is liquidatable) and one ``marketState`` read per market.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Callable

from web3.contract import Contract
from web3.logs import DISCARD

from .chain import Artifacts, Chain, Signer, TxReverted
from .errors import ChainError, ReplayRevert
from .keeper import KeeperState, Liquidate, LiquidationKeeper, MarketView, SettleBadDebt, SubAccountView
from .numbers import EXACT, UINT256_MAX, WAD, from_units, plain, to_units, wad
from .plan import Plan, PlannedAction, PlannedStep
from .scenario import SECONDS_PER_YEAR, Market
from .timeline import (ActionRecord, BadDebt, Liquidation, MarketInfo, MarketState, StepRecord, SubAccountRef,
                       SubAccountState, Timeline)

KEEPER = "keeper"
DEPLOYER = "deployer"
KEEPER_SUB_ID = 0
# Tokens minted to the keeper once per market: it never runs dry, so liquidations are limited only by policy.
KEEPER_FLOAT_WHOLE_TOKENS = 10**15
MAX_KEEPER_ROUNDS = 200

ProgressFn = Callable[[int, int], None]


@dataclass
class Protocol:
    vault: Contract
    router: Contract
    tokens: dict[str, Contract]
    feeds: dict[str, Contract]
    symbol_of: dict[str, str] = field(default_factory=dict)  # token address (lower case) → symbol


class Replay:
    def __init__(self, plan: Plan, chain: Chain, artifacts: Artifacts, progress: ProgressFn | None = None) -> None:
        self.plan = plan
        self.chain = chain
        self.artifacts = artifacts
        self.progress = progress
        self.rng = random.Random(plan.scenario.seed)
        self.markets: dict[str, Market] = {m.symbol: m for m in plan.scenario.markets}
        self.prices: dict[str, Decimal] = dict(plan.initial_prices)
        self.faults: dict[str, str] = {}
        self.rounds: dict[str, int] = {}
        self.pushed_at: dict[str, int] = {s: 0 for s in self.markets}  # sim time of each feed's last round
        self.sim_time = 0
        self.keeper = LiquidationKeeper(plan.scenario.keeper)
        self.approved: set[tuple[str, str]] = set()
        self.names: dict[str, str] = {}
        self.protocol: Protocol | None = None
        self.sub_accounts = self._sub_accounts()
        self.timeline = Timeline(
            scenario=plan.scenario.name, seed=plan.scenario.seed, mode=plan.mode,
            markets=[_market_info(m) for m in plan.scenario.markets], sub_accounts=self.sub_accounts)
        self._step_actions: list[ActionRecord] = []
        self._last_states: dict[str, SubAccountState] | None = None
        self.valuation_error: str | None = None

    # ------------------------------------------------------------------------------------------------ run
    def run(self) -> Timeline:
        """Replay everything; on failure the timeline so far stays in ``self.timeline`` and the error propagates."""
        self.chain.step = None
        self._deploy()
        self._setup()
        self.timeline.setup = self._record(-1, "setup", None, [])
        total = len(self.plan.steps)
        for n, step in enumerate(self.plan.steps, start=1):
            self.chain.step = step.index
            self._step(step)
            if self.progress is not None:
                self.progress(n, total)
        self.timeline.status = "complete"
        return self.timeline

    # ------------------------------------------------------------------------------------------------ deploy
    def _signer(self, name: str) -> Signer:
        role = "system" if name in (KEEPER, DEPLOYER) else "actor"
        signer = self.chain.signer(role, name)
        self.names[signer.address.lower()] = name
        self.chain.decoder.labels[signer.address.lower()] = name
        return signer

    def _deploy(self) -> None:
        deployer = self._signer(DEPLOYER)
        art = self.artifacts
        tokens: dict[str, Contract] = {}
        feeds: dict[str, Contract] = {}
        for m in self.plan.scenario.markets:
            tokens[m.symbol] = self.chain.deploy(deployer, art, "SimToken", f"marginlab {m.symbol}", m.symbol,
                                                 m.decimals)
            feeds[m.symbol] = self.chain.deploy(deployer, art, "SettableAggregator", m.feed_decimals,
                                                self._feed_units(m.symbol, self.prices[m.symbol]))
            self.rounds[m.symbol] = 1
        router = self.chain.deploy(deployer, art, "OracleRouter", deployer.address)
        for m in self.plan.scenario.markets:
            self.chain.transact(deployer, router, "setFeed", tokens[m.symbol].address, feeds[m.symbol].address,
                                m.heartbeat)
        vault = self.chain.deploy(deployer, art, "Vault", deployer.address, deployer.address, router.address)
        irms: dict[tuple[int, int, int, int], str] = {}
        for m in self.plan.scenario.markets:
            key = (wad(m.irm.base), wad(m.irm.slope1), wad(m.irm.slope2), wad(m.irm.kink))
            if key not in irms:
                irms[key] = self.chain.deploy(deployer, art, "InterestRateModel", *key).address
            params = (wad(m.asset_weight.init), wad(m.asset_weight.maint), wad(m.liab_weight.init),
                      wad(m.liab_weight.maint), wad(m.liquidation_bonus), wad(m.protocol_share),
                      wad(m.reserve_factor), _cap(m.supply_cap, m.decimals), _cap(m.borrow_cap, m.decimals),
                      irms[key])
            self.chain.transact(deployer, vault, "listMarket", tokens[m.symbol].address, params)
        for sym, token in tokens.items():
            self.chain.decoder.labels[token.address.lower()] = sym
        self.chain.decoder.labels[vault.address.lower()] = "vault"
        self.protocol = Protocol(vault, router, tokens, feeds,
                                 {t.address.lower(): s for s, t in tokens.items()})

    def _feed_units(self, symbol: str, price: Decimal) -> int:
        return to_units(price, self.markets[symbol].feed_decimals)

    # ------------------------------------------------------------------------------------------------ setup
    def _sub_accounts(self) -> list[SubAccountRef]:
        refs = [SubAccountRef(f"{lp.name}/0", lp.name, 0, "lender", []) for lp in self.plan.liquidity]
        for acct in self.plan.accounts:
            for sub in acct.sub_ids:
                positions = [i for i in range(len(acct.positions)) if acct.sub_id(i) == sub]
                refs.append(SubAccountRef(f"{acct.name}/{sub}", acct.name, sub, acct.margin, positions))
        return refs

    def _setup(self) -> None:
        proto = self._proto()
        deployer = self._signer(DEPLOYER)
        keeper = self._signer(KEEPER)
        for sym, token in proto.tokens.items():
            self.chain.transact(deployer, token, "mint", keeper.address,
                                KEEPER_FLOAT_WHOLE_TOKENS * 10 ** self.markets[sym].decimals)
            self._approve(keeper, sym)
        for lp in self.plan.liquidity:
            for sym, amount in lp.deposits.items():
                self._deposit(lp.name, 0, sym, amount, step=-1)
        for acct in self.plan.accounts:
            signer = self._signer(acct.name)
            for sym, amount in acct.wallet.items():
                self.chain.transact(deployer, proto.tokens[sym], "mint", signer.address, amount)
            for i, pos in enumerate(acct.positions):
                for sym, amount in pos.deposit.items():
                    self._deposit(acct.name, acct.sub_id(i), sym, amount, step=-1)
            for i, pos in enumerate(acct.positions):
                for sym, amount in pos.borrow.items():
                    if amount > 0:
                        self._tx(-1, acct.name, f"borrow({_amt(amount, sym, self.markets)}, sub {acct.sub_id(i)})",
                                 signer, proto.vault, "borrow", acct.sub_id(i), proto.tokens[sym].address, amount,
                                 signer.address)

    def _proto(self) -> Protocol:
        assert self.protocol is not None, "deploy first"
        return self.protocol

    def _approve(self, signer: Signer, sym: str) -> None:
        if (signer.address, sym) in self.approved:
            return
        proto = self._proto()
        self.chain.transact(signer, proto.tokens[sym], "approve", proto.vault.address, UINT256_MAX)
        self.approved.add((signer.address, sym))

    def _fund(self, signer: Signer, sym: str, amount: int, *, empty_wallet: bool = False) -> None:
        """Mint what the actor's wallet lacks: an action that pays tokens in brings them from outside.
        ``empty_wallet``: during setup the tokens were just deployed, so nobody holds any yet."""
        proto = self._proto()
        have = 0 if empty_wallet else self.chain.call(proto.tokens[sym], "balanceOf", signer.address)
        if have < amount:
            self.chain.transact(self._signer(DEPLOYER), proto.tokens[sym], "mint", signer.address, amount - have)
        self._approve(signer, sym)

    def _wallet_minted(self, name: str, sym: str) -> bool:
        acct = next((a for a in self.plan.accounts if a.name == name), None)
        return acct is not None and sym in acct.wallet

    def _deposit(self, name: str, sub: int, sym: str, amount: int, step: int) -> None:
        if amount == 0:
            return
        signer = self._signer(name)
        self._fund(signer, sym, amount, empty_wallet=step < 0 and not self._wallet_minted(name, sym))
        proto = self._proto()
        self._tx(step, name, f"deposit({_amt(amount, sym, self.markets)}, sub {sub})", signer, proto.vault,
                 "deposit", signer.address, sub, proto.tokens[sym].address, amount)

    def _tx(self, step: int, account: str, call: str, signer: Signer, contract: Contract, fn: str,
            *args: Any) -> dict[str, Any]:
        try:
            return self.chain.transact(signer, contract, fn, *args)
        except TxReverted as exc:
            where = "setup" if step < 0 else step
            raise ReplayRevert(where, account, call, exc.reason) from None  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------------------------ steps
    def _step(self, step: PlannedStep) -> None:
        self._step_actions = []
        if step.advance:
            self.chain.advance(step.advance)
            self.sim_time += step.advance
            for sym, market in self.markets.items():
                # A live feed keeps answering: re-post before half its heartbeat has passed, like Chainlink does,
                # so time alone never makes a price stale (the `oracle: stale` fault does that on purpose).
                due = self.sim_time - self.pushed_at[sym] >= market.heartbeat // 2
                if sym not in self.faults and sym not in step.prices and due:
                    self._push_price(sym)
        for sym, fault in step.oracle.items():
            self._set_fault(sym, fault)
        for sym, price in step.prices.items():
            self.prices[sym] = price
            if sym not in self.faults:
                self._push_price(sym)
        for action in step.actions:
            self._action(step.index, action)
        self._run_keeper(step.index)
        self.timeline.steps.append(self._record(step.index, step.source, step.label, self._step_actions))

    def _push_price(self, sym: str) -> None:
        proto = self._proto()
        self.chain.transact(self._signer(DEPLOYER), proto.feeds[sym], "setAnswer",
                            self._feed_units(sym, self.prices[sym]))
        self.rounds[sym] += 1
        self.pushed_at[sym] = self.sim_time

    def _set_fault(self, sym: str, fault: str) -> None:
        proto = self._proto()
        deployer = self._signer(DEPLOYER)
        feed = proto.feeds[sym]
        units = self._feed_units(sym, self.prices[sym])
        if fault == "ok":
            self.faults.pop(sym, None)
            self._push_price(sym)
            return
        self.faults[sym] = fault
        if fault == "stale":
            heartbeat = self.markets[sym].heartbeat
            updated = max(1, self.chain.latest_timestamp() - heartbeat - 1)
            round_id = self.rounds[sym] + 1
            self.chain.transact(deployer, feed, "setRoundData", round_id, units, updated, updated, round_id)
            self.rounds[sym] = round_id
        else:
            answer = 0 if fault == "zero" else -units
            self.chain.transact(deployer, feed, "setAnswer", answer)
            self.rounds[sym] += 1

    def _action(self, step: int, act: PlannedAction) -> None:
        proto = self._proto()
        signer = self._signer(act.account)
        m = self.markets
        calls: list[tuple[str, str, tuple[Any, ...], str | None]] = []  # (label, fn, args, token to fund)
        if act.verb == "deposit":
            for sym, amount in act.amounts.items():
                calls.append((f"deposit({_amt(amount, sym, m)}, sub {act.sub_id})", "deposit",
                               (signer.address, act.sub_id, proto.tokens[sym].address, amount), sym))
        elif act.verb == "withdraw":
            for sym, amount in act.amounts.items():
                calls.append((f"withdraw({_amt(amount, sym, m)}, sub {act.sub_id})", "withdraw",
                              (act.sub_id, proto.tokens[sym].address, amount, signer.address), None))
        elif act.verb == "borrow":
            for sym, amount in act.amounts.items():
                calls.append((f"borrow({_amt(amount, sym, m)}, sub {act.sub_id})", "borrow",
                              (act.sub_id, proto.tokens[sym].address, amount, signer.address), None))
        elif act.verb == "repay":
            for sym, amount in act.amounts.items():
                calls.append((f"repay({_amt(amount, sym, m)}, sub {act.sub_id})", "repay",
                              (signer.address, act.sub_id, proto.tokens[sym].address, amount), sym))
        elif act.verb == "transfer":
            assert act.to_sub_id is not None
            for sym, amount in act.amounts.items():
                label = f"transfer({_amt(amount, sym, m)}, sub {act.sub_id} → sub {act.to_sub_id})"
                if act.to_sub_id == act.sub_id:
                    self._step_actions.append(ActionRecord(step, act.account, label + " skipped: same sub-account",
                                                           True, act.source))
                    continue
                calls.append((label, "transfer", (act.sub_id, act.to_sub_id, proto.tokens[sym].address, amount),
                              None))
        else:
            assert act.debt and act.collateral and act.target is not None and act.target_sub_id is not None
            amount = act.amounts[act.debt]
            target = self._signer(act.target)
            calls.append((f"liquidate({act.target}/{act.target_sub_id}, repay {_amt(amount, act.debt, m)} "
                          f"for {act.collateral})", "liquidate",
                          (target.address, act.target_sub_id, proto.tokens[act.debt].address,
                           proto.tokens[act.collateral].address, amount, act.sub_id), act.debt))
        for label, fn, args, fund in calls:
            if fund is not None:
                self._fund(signer, fund, args[3] if fn != "liquidate" else args[4])
            try:
                receipt = self.chain.transact(signer, proto.vault, fn, *args)
            except TxReverted as exc:
                if act.expect_revert is not None:
                    self._step_actions.append(ActionRecord(step, act.account, label, False, act.source,
                                                           exc.reason, act.expect_revert))
                    continue
                raise ReplayRevert(step, act.account, label, exc.reason) from None
            self._step_actions.append(ActionRecord(step, act.account, label, True, act.source, None,
                                                   act.expect_revert))
            self._collect_events(step, receipt)

    # ------------------------------------------------------------------------------------------------ keeper
    def _tracked(self, keys: set[str] | None = None) -> tuple[list[str], list[int], list[SubAccountRef]]:
        owners, subs, refs = [], [], []
        for ref in self.sub_accounts:
            if keys is None or ref.key in keys:
                owners.append(self._signer(ref.owner).address)
                subs.append(ref.sub_id)
                refs.append(ref)
        return owners, subs, refs

    def _read_states(self, keys: set[str] | None = None) -> dict[str, SubAccountState] | None:
        """One batch read of the tracked sub-accounts (all, or ``keys``); ``None`` when the vault cannot value
        them (a price feed is faulted): the keeper then sees nothing, like a real keeper whose reads revert."""
        proto = self._proto()
        owners, subs, refs = self._tracked(keys)
        try:
            raw = self.chain.call(proto.vault, "accountStates", owners, subs) if owners else []
        except TxReverted as exc:
            self.valuation_error = exc.reason
            return None
        out: dict[str, SubAccountState] = {}
        for ref, st in zip(refs, raw):
            tokens, balances, h_init, h_maint, hf, coll, debt = st
            bal = {proto.symbol_of[t.lower()]: int(b) for t, b in zip(tokens, balances)}
            ordered = {s: bal[s] for s in self.markets if s in bal}
            out[ref.key] = SubAccountState(ordered, int(h_init), int(h_maint), None if hf == UINT256_MAX else int(hf),
                                           int(coll), int(debt))
        return out

    def _keeper_state(self, step: int, states: dict[str, SubAccountState]) -> KeeperState:
        markets = {s: MarketView(s, m.decimals, self.prices[s], m.liquidation_bonus, m.protocol_share)
                   for s, m in self.markets.items()}
        views = [SubAccountView(ref.key, ref.owner, ref.sub_id, states[ref.key].balances,
                                states[ref.key].health_maint, states[ref.key].health_factor)
                 for ref in self.sub_accounts if ref.key in states]
        return KeeperState(step, markets, views)

    def _run_keeper(self, step: int) -> None:
        self.keeper.start_step()
        states = self._read_states()
        if self.plan.scenario.keeper.enabled and states is not None:
            for _ in range(MAX_KEEPER_ROUNDS):
                actions = self.keeper.update(self.rng, self._keeper_state(step, states))
                if not actions:
                    break
                for action in actions:
                    self._keeper_action(step, action)
                # Within one block only the sub-accounts acted on can have changed: re-read just those.
                touched = self._read_states({a.key for a in actions})
                if touched is None:
                    states = None
                    break
                states = {**states, **touched}
        self._last_states = states

    def _keeper_action(self, step: int, action: Liquidate | SettleBadDebt) -> None:
        proto = self._proto()
        keeper = self._signer(KEEPER)
        owner = self._signer(action.owner).address
        if isinstance(action, Liquidate):
            label = f"liquidate({action.key}, {action.debt} debt for {action.collateral})"
            args: tuple[Any, ...] = (owner, action.sub_id, proto.tokens[action.debt].address,
                                     proto.tokens[action.collateral].address, UINT256_MAX, KEEPER_SUB_ID)
            fn = "liquidate"
        else:
            label = f"settleBadDebt({action.key})"
            args = (owner, action.sub_id)
            fn = "settleBadDebt"
        try:
            receipt = self.chain.transact(keeper, proto.vault, fn, *args)
        except TxReverted as exc:
            self.keeper.give_up(action.key)
            self._step_actions.append(ActionRecord(step, KEEPER, label, False, "keeper", exc.reason))
            return
        self._collect_events(step, receipt)

    # ------------------------------------------------------------------------------------------------ events
    def _usd(self, sym: str, units: int) -> int:
        with localcontext(EXACT):
            value = from_units(units, self.markets[sym].decimals) * self.prices[sym] * WAD
            return int(value)  # truncates toward zero: values are never overstated

    def _collect_events(self, step: int, receipt: dict[str, Any]) -> None:
        proto = self._proto()
        vault = proto.vault
        for ev in vault.events.Liquidated().process_receipt(receipt, errors=DISCARD):
            a = ev["args"]
            debt = proto.symbol_of[a["debtToken"].lower()]
            coll = proto.symbol_of[a["collToken"].lower()]
            self.timeline.liquidations.append(Liquidation(
                step=step, liquidator=self.names.get(a["liquidator"].lower(), a["liquidator"]),
                account=self.names.get(a["owner"].lower(), a["owner"]), sub_id=int(a["subId"]), debt=debt,
                collateral=coll, repaid=int(a["repaid"]), seized=int(a["seizedTotal"]),
                to_liquidator=int(a["toLiquidator"]), protocol_cut=int(a["protocolCut"]),
                repaid_value=self._usd(debt, int(a["repaid"])), seized_value=self._usd(coll, int(a["seizedTotal"])),
                health_factor_before=_hf(a["healthFactorBefore"]), health_factor_after=_hf(a["healthFactorAfter"])))
        for ev in vault.events.BadDebtSettled().process_receipt(receipt, errors=DISCARD):
            a = ev["args"]
            sym = proto.symbol_of[a["token"].lower()]
            self.timeline.bad_debts.append(BadDebt(
                step=step, account=self.names.get(a["owner"].lower(), a["owner"]), sub_id=int(a["subId"]), asset=sym,
                debt=int(a["debt"]), covered_by_reserves=int(a["coveredByReserves"]), socialised=int(a["socialised"]),
                value=self._usd(sym, int(a["debt"]))))

    # ------------------------------------------------------------------------------------------------ record
    def _record(self, index: int, source: str, label: str | None, actions: list[ActionRecord]) -> StepRecord:
        self.valuation_error = None
        states = self._last_states if self._last_states is not None and index >= 0 else self._read_states()
        self._last_states = None
        note = None
        if states is None:
            # Balances cannot be valued this step: carry the last valued state and say why in the record.
            note = f"accounts not valued: accountStates reverted with {self.valuation_error}"
            previous = self.timeline.records[-1].accounts if self.timeline.records else {}
            states = dict(previous)
        proto = self._proto()
        markets: dict[str, MarketState] = {}
        for sym, token in proto.tokens.items():
            ms = self.chain.call(proto.vault, "marketState", token.address)
            (_t, _d, dep_idx, bor_idx, _ds, _bs, total_dep, total_bor, reserves, util, bor_rate, sup_rate,
             _last) = ms
            markets[sym] = MarketState(int(total_dep), int(total_bor), int(reserves), int(dep_idx), int(bor_idx),
                                       int(util), int(bor_rate) * SECONDS_PER_YEAR, int(sup_rate) * SECONDS_PER_YEAR)
        return StepRecord(index=index, source=source, label=label, time=self.sim_time,
                          prices={s: plain(p) for s, p in self.prices.items()},
                          oracle=dict(sorted(self.faults.items())), accounts=states, markets=markets,
                          actions=list(actions), note=note)


def _hf(value: int) -> int | None:
    return None if int(value) == UINT256_MAX else int(value)


def _cap(cap: Decimal | None, decimals: int) -> int:
    return 0 if cap is None else to_units(cap, decimals)


def _amt(units: int, sym: str, markets: dict[str, Market]) -> str:
    return f"{plain(from_units(units, markets[sym].decimals))} {sym}"


def _market_info(m: Market) -> MarketInfo:
    return MarketInfo(m.symbol, m.decimals, m.feed_decimals, plain(m.price), plain(m.asset_weight.init),
                      plain(m.asset_weight.maint), plain(m.liab_weight.init), plain(m.liab_weight.maint),
                      plain(m.liquidation_bonus), plain(m.protocol_share), plain(m.reserve_factor))


__all__ = ["Replay", "Protocol", "ChainError"]
