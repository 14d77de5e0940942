"""Replay a plan on a chain: deploy a fresh protocol, open the accounts, apply every step, run the keeper and
record a :class:`~marginlab.timeline.Timeline`. The engine never formats reports; it only records numbers.

RPC budget per step (see ``make bench``): one transaction for all price updates (``SimBatcher.setAnswers``), the
step's own actions, one ``SimBatcher.snapshot`` read per keeper round (every sub-account's ``accountStates`` and
every market's state in one call; one round when nobody is liquidatable) and one ``SimKeeper.run`` transaction
per keeper round that liquidates (all of the round's liquidations and settlements, in order). Set-up mints and
deposits and borrows for every account through the batcher in a few transactions (borrows authorised by each
owner's EIP-712 signature, see :mod:`marginlab.protocols.marginlab.authsig`).
A transaction costs three RPCs (send, receipt, nonce check).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Callable

from web3.contract import Contract
from web3.logs import DISCARD

from marginlab.protocols.marginlab.authsig import sign_authorization
from marginlab.chain.client import Artifacts, Chain, PendingTx, Signer, TxReverted
from marginlab.brownie.deploy import market_params
from marginlab.errors import ChainError, ReplayRevert
from marginlab.sim.keeper import KeeperState, Liquidate, LiquidationKeeper, MarketView, SettleBadDebt, SubAccountView
from marginlab.protocols.marginlab.mirror import PriceUnavailable, Quote, value_account
from marginlab.numbers import EXACT, UINT256_MAX, WAD, from_units, plain, to_units, wad
from marginlab.scenario.plan import Plan, PlannedAction, PlannedStep
from marginlab.scenario.model import SECONDS_PER_YEAR, Market, TokenAdmin
from marginlab.timeline import (ActionRecord, BadDebt, Liquidation, MarketInfo, MarketState, StepRecord, SubAccountRef,
                       SubAccountState, Timeline)

KEEPER = "keeper"
DEPLOYER = "deployer"
KEEPER_SUB_ID = 0
# Tokens minted to the keeper once per market: it never runs dry, so liquidations are limited only by policy.
KEEPER_FLOAT_WHOLE_TOKENS = 10**15
MAX_KEEPER_ROUNDS = 200
# Set-up deposits per batcher transaction (~150k gas each: mint + first deposit), well under the block gas limit,
# sent with a fixed generous limit: Ganache estimates a transaction by running it many times (timed out here).
SETUP_BATCH, DEPOSIT_GAS, MINT_BATCH, MINT_GAS = 60, 260_000, 200, 90_000
# Set-up borrows per batcher transaction: a borrow values every market its sub-account holds (~200k gas), each
# owner adds two signature checks and operator writes; 60 borrows stay well under the 30M block gas limit.
BORROW_BATCH, BORROW_GAS, BORROW_OWNER_GAS = 60, 330_000, 120_000
AUTH_DEADLINE = 2**64 - 1  # set-up signatures are used at once; a fixed deadline keeps replays identical
# Gas for a keeper round: no estimate (Ganache runs a liquidation ~10 times to estimate it); gas price is 0, so
# a generous limit costs nothing. Above the costliest liquidation in bench/gas.json (8 assets: ~490k).
KEEPER_GAS_BASE, KEEPER_GAS_PER_OP = 200_000, 900_000
# Mirror reads (--reads mirror) are checked against the vault's batch view after set-up, every this many steps
# and after the last step (a difference stops the replay); every read also checks that the mirrored balances
# add up to each market's total scales.
MIRROR_VERIFY_EVERY = 50

ProgressFn = Callable[[int, int], None]


@dataclass
class Protocol:
    vault: Contract
    router: Contract
    tokens: dict[str, Contract]
    feeds: dict[str, Contract]
    batcher: Contract
    symbol_of: dict[str, str] = field(default_factory=dict)  # token address (lower case) → symbol
    keeper_bot: Contract | None = None


@dataclass(frozen=True)
class _Call:
    """One transaction of an action: what to call, and what it pays in (symbol, units or uint256 max, and the
    sub-account whose debt ``all`` means) so the actor's wallet can be topped up first."""

    label: str
    contract: Contract
    fn: str
    args: tuple[Any, ...]
    fund: tuple[str, int, str | None, int] | None = None


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
        #: pausable-blocklist tokens the scenario's issuer has acted on: symbol → (paused, names blocked)
        self.token_status: dict[str, tuple[bool, frozenset[str]]] = {}
        self.rounds: dict[str, int] = {}
        self.pushed_at: dict[str, int] = {s: 0 for s in self.markets}  # sim time of each feed's last round
        self.sim_time = 0
        self.keeper = LiquidationKeeper(plan.scenario.keeper)
        self.approved: set[tuple[str, str]] = set()
        self.auth_nonces: dict[str, int] = {}  # setOperatorWithSig nonces the simulator's actors have used
        self.names: dict[str, str] = {}
        self.protocol: Protocol | None = None
        self.sub_accounts = self._sub_accounts()
        self.timeline = Timeline(
            scenario=plan.scenario.name, seed=plan.scenario.seed, mode=plan.mode,
            markets=[_market_info(m) for m in plan.scenario.markets], sub_accounts=self.sub_accounts)
        self._step_actions: list[ActionRecord] = []
        self._last_states: dict[str, SubAccountState] | None = None
        self._markets_seen: tuple[tuple[int, int], dict[str, MarketState]] | None = None
        self._pending_answers: dict[str, int] = {}  # feed symbol → answer, written by the next flush
        self.valuation_error: str | None = None
        # Mirror reads: scaled balances per tracked sub-account (listing order) and those to re-read.
        self._scaled: dict[str, list[int]] = {}
        self._dirty: set[str] = {ref.key for ref in self.sub_accounts}
        self._last_index = plan.steps[-1].index if plan.steps else -1

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
        # The batcher deploys tokens and feeds, so it may mint and write rounds for all of them in one call.
        batcher = self.chain.deploy(deployer, art, "SimBatcher")
        for m in self.plan.scenario.markets:
            tokens[m.symbol] = self.chain.contract(self._created(self._create_token(deployer, batcher, m), batcher),
                                                   art.abi(m.token.contract))
            feeds[m.symbol] = self.chain.contract(self._created(self.chain.transact(
                deployer, batcher, "createFeed", m.feed_decimals, self._feed_units(m.symbol, self.prices[m.symbol])),
                batcher), art.abi("SettableAggregator"))
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
            self.chain.transact(deployer, vault, "listMarket", tokens[m.symbol].address,
                                market_params(m, irms[key]))
        for sym, token in tokens.items():
            self.chain.decoder.labels[token.address.lower()] = sym
        self.chain.decoder.labels[vault.address.lower()] = "vault"
        self.protocol = Protocol(vault, router, tokens, feeds, batcher,
                                 {t.address.lower(): s for s, t in tokens.items()})
        self.chain.decoder.labels[batcher.address.lower()] = "batcher"

    def _create_token(self, deployer: Signer, batcher: Contract, m: Market) -> dict[str, Any]:
        """Deploy the market's token through the batcher, so the batcher may mint it: a plain SimToken by
        ``createToken``; a hostile test token (``token: {kind: ...}``) by ``createContract`` with its creation code,
        which makes the batcher its deployer, the one account those tokens let mint."""
        name = f"marginlab {m.symbol}"
        if m.token.kind == "plain":
            return self.chain.transact(deployer, batcher, "createToken", name, m.symbol, m.decimals)
        art = self.artifacts
        factory = self.chain.w3.eth.contract(abi=art.abi(m.token.contract), bytecode=art.bytecode(m.token.contract))
        init_code = factory.constructor(name, m.symbol, m.decimals, *m.token.constructor_extra).data_in_transaction
        return self.chain.transact(deployer, batcher, "createContract", bytes.fromhex(init_code[2:]))

    def _created(self, receipt: dict[str, Any], batcher: Contract) -> str:
        events = batcher.events.Created().process_receipt(receipt, errors=DISCARD)
        if len(events) != 1:
            raise ChainError("the batcher created no contract")
        return str(events[0]["args"]["created"])

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
        bot = self.chain.deploy(keeper, self.artifacts, "SimKeeper", proto.vault.address)
        proto.keeper_bot = bot
        self.names[bot.address.lower()] = KEEPER  # the liquidator in Liquidated events
        self.chain.decoder.labels[bot.address.lower()] = KEEPER
        self.chain.transact(keeper, bot, "approveAll", [t.address for t in proto.tokens.values()])
        self._mint([(sym, bot.address, KEEPER_FLOAT_WHOLE_TOKENS * 10 ** self.markets[sym].decimals)
                    for sym in proto.tokens])
        # Deposits paid from outside the actor's wallet are minted and deposited by the batcher for the owner,
        # many per transaction (no mint/approve/deposit per actor): the same balances, far fewer round trips.
        batched: list[tuple[str, int, str, int]] = []
        for lp in self.plan.liquidity:
            for sym, amount in lp.deposits.items():
                if amount > 0:
                    batched.append((lp.name, 0, sym, amount))
        wallet_deposits: list[tuple[str, int, str, int]] = []
        for acct in self.plan.accounts:
            for i, pos in enumerate(acct.positions):
                for sym, amount in pos.deposit.items():
                    if amount <= 0:
                        continue
                    item = (acct.name, acct.sub_id(i), sym, amount)
                    (wallet_deposits if self._wallet_minted(acct.name, sym) else batched).append(item)
        for start in range(0, len(batched), SETUP_BATCH):
            chunk = batched[start:start + SETUP_BATCH]
            try:
                self.chain.transact(deployer, proto.batcher, "depositFor", proto.vault.address,
                                    [proto.tokens[sym].address for _, _, sym, _ in chunk],
                                    [self._signer(name).address for name, _, _, _ in chunk],
                                    [sub for _, sub, _, _ in chunk], [amount for _, _, _, amount in chunk],
                                    gas=200_000 + DEPOSIT_GAS * len(chunk))
            except TxReverted:
                # Say which deposit fails: send this chunk one by one, the way an actor would.
                for name, sub, sym, amount in chunk:
                    self._deposit(name, sub, sym, amount, step=-1)
        self._mint([(sym, self._signer(a.name).address, amount) for a in self.plan.accounts
                    for sym, amount in a.wallet.items()])
        for name, sub, sym, amount in wallet_deposits:
            self._deposit(name, sub, sym, amount, step=-1)
        self._setup_borrows()

    def _setup_borrows(self) -> None:
        """Open every account's set-up borrows, many owners per ``SimBatcher.borrowFor`` transaction: each owner
        signs (EIP-712, off-chain) an approval of the batcher as operator and its revocation, the batcher
        borrows for it, paid to the owner. A chunk that reverts is re-sent one borrow at a time by the owners
        themselves, so the error names the account and the borrow that failed."""
        proto = self._proto()
        owners = [(acct.name, [(acct.sub_id(i), sym, amount) for i, pos in enumerate(acct.positions)
                               for sym, amount in pos.borrow.items() if amount > 0])
                  for acct in self.plan.accounts]
        owners = [(name, borrows) for name, borrows in owners if borrows]
        start = 0
        while start < len(owners):
            chunk, ops = [], 0
            while start < len(owners) and (not chunk or ops + len(owners[start][1]) <= BORROW_BATCH):
                chunk.append(owners[start])
                ops += len(owners[start][1])
                start += 1
            items = [self._borrow_item(name, borrows) for name, borrows in chunk]
            try:
                self.chain.transact(self._signer(DEPLOYER), proto.batcher, "borrowFor", proto.vault.address, items,
                                    gas=200_000 + BORROW_OWNER_GAS * len(chunk) + BORROW_GAS * ops)
            except TxReverted:
                for name, borrows in chunk:
                    self._borrow_alone(name, borrows)
            else:
                for name, _ in chunk:
                    self.auth_nonces[name] = self.auth_nonces.get(name, 0) + 2

    def _borrow_item(self, name: str, borrows: list[tuple[int, str, int]]) -> tuple[Any, ...]:
        proto, signer = self._proto(), self._signer(name)
        nonce = self.auth_nonces.get(name, 0)
        grant, revoke = (sign_authorization(signer.account, proto.vault.address, self.chain.chain_id,
                                            proto.batcher.address, approved, nonce + k, AUTH_DEADLINE)
                         for k, approved in ((0, True), (1, False)))
        return (grant.auth, grant.sig, revoke.auth, revoke.sig, [sub for sub, _, _ in borrows],
                [proto.tokens[sym].address for _, sym, _ in borrows], [amount for _, _, amount in borrows])

    def _borrow_alone(self, name: str, borrows: list[tuple[int, str, int]]) -> None:
        proto, signer = self._proto(), self._signer(name)
        for sub, sym, amount in borrows:
            self._tx(-1, name, f"borrow({_amt(amount, sym, self.markets)}, sub {sub})", signer, proto.vault,
                     "borrow", sub, proto.tokens[sym].address, amount, signer.address)

    def _mint(self, items: list[tuple[str, str, int]]) -> None:
        """Mint (symbol, to, amount) for each item, many per batcher transaction."""
        proto = self._proto()
        items = [i for i in items if i[2] > 0]
        for start in range(0, len(items), MINT_BATCH):
            chunk = items[start:start + MINT_BATCH]
            self.chain.transact(self._signer(DEPLOYER), proto.batcher, "mint",
                                [proto.tokens[sym].address for sym, _, _ in chunk], [to for _, to, _ in chunk],
                                [amount for _, _, amount in chunk], gas=100_000 + MINT_GAS * len(chunk))

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
        if have < amount and not self._token_refuses(sym, signer.address):
            self._mint([(sym, signer.address, amount - have)])
        self._approve(signer, sym)

    def _token_refuses(self, sym: str, address: str) -> bool:
        """A token_admin step paused ``sym`` or blocked ``address``: a mint to it would revert in the token, so
        the action goes out unfunded and meets the token's own error (EnforcedPause, Blocked)."""
        paused, blocked = self.token_status.get(sym, (False, frozenset()))
        return paused or self.names.get(address.lower()) in blocked

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
        self._flush_prices()
        for sym, admin in step.token_admin.items():
            self._token_admin(step.index, sym, admin)
        for action in step.actions:
            self._action(step.index, action)
        self._touch(step.actions)
        self._run_keeper(step.index)
        self.chain.flush()  # per-step mining: the step's block is mined (no-op when the keeper's read did it)
        self.timeline.steps.append(self._record(step.index, step.source, step.label, self._step_actions))

    def _push_price(self, sym: str) -> None:
        self._queue_answer(sym, self._feed_units(sym, self.prices[sym]))
        self.pushed_at[sym] = self.sim_time

    def _queue_answer(self, sym: str, answer: int) -> None:
        """A new round for ``sym``; all queued rounds go out in one transaction (:meth:`_flush_prices`). Two
        rounds for one feed in a step are written in order (the first flushed before the second is queued)."""
        if sym in self._pending_answers:
            self._flush_prices()
        self._pending_answers[sym] = answer
        self.rounds[sym] += 1

    def _flush_prices(self) -> None:
        if not self._pending_answers:
            return
        proto = self._proto()
        pending, self._pending_answers = self._pending_answers, {}
        data = proto.batcher.functions.setAnswers([proto.feeds[s].address for s in pending],
                                                  list(pending.values()))._encode_transaction_data()
        # Gas depends on the number of feeds only: learnt per count, like any other function. Nothing reads its
        # receipt: in per-step mining it joins the step's block; a revert is raised when that is mined.
        self.chain.submit_data(self._signer(DEPLOYER), proto.batcher.address, data, "setAnswers",
                               gas_key=(proto.batcher.address, f"setAnswers/{len(pending)}"))

    def _submit_action(self, step: int, act: PlannedAction, signer: Signer, label: str, contract: Contract,
                       fn: str, args: tuple[Any, ...]) -> None:
        """Send one call of an action. Its record takes its place in the step's list now and is filled in when
        the outcome is known (at once in auto mining, when the step's block is mined in per-step mining): a
        revert is recorded if the scenario expects one, otherwise it ends the replay (:class:`ReplayRevert`)."""
        slot = len(self._step_actions)
        self._step_actions.append(ActionRecord(step, act.account, label, True, act.source, None, act.expect_revert,
                                               act.may_revert))

        def done(pending: PendingTx) -> None:
            if pending.error is not None:
                reason = pending.error.reason
                allowed = act.may_revert is not None and pending.error.error_name == act.may_revert
                if act.expect_revert is None and not allowed:
                    raise ReplayRevert(step, act.account, label, reason)
                self._step_actions[slot] = ActionRecord(step, act.account, label, False, act.source, reason,
                                                        act.expect_revert, act.may_revert)
                return
            assert pending.receipt is not None
            self._collect_events(step, pending.receipt)

        self.chain.submit(signer, contract, fn, *args, on_done=done)

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
            self._flush_prices()
            heartbeat = self.markets[sym].heartbeat
            updated = max(1, self.chain.latest_timestamp() - heartbeat - 1)
            round_id = self.rounds[sym] + 1
            self.chain.transact(deployer, proto.batcher, "setRoundData", feed.address, round_id, units, updated,
                                updated, round_id)
            self.rounds[sym] = round_id
        else:
            self._queue_answer(sym, 0 if fault == "zero" else -units)

    def _token_admin(self, step: int, sym: str, admin: TokenAdmin) -> None:
        """The token's issuer acts (through the batcher, which deployed the token and so holds its admin powers).
        ``paused`` is a state, not a toggle: pausing a paused token sends nothing. Blocking an address that is
        already blocked is sent again (the token allows it and emits the event)."""
        proto = self._proto()
        token = proto.tokens[sym]
        paused, blocked = self.token_status.get(sym, (False, frozenset()))
        calls: list[tuple[str, str, tuple[Any, ...]]] = []
        if admin.paused is not None and admin.paused != paused:
            calls.append(("pause()" if admin.paused else "unpause()", "pause" if admin.paused else "unpause", ()))
            paused = admin.paused
        for name, block in [(n, True) for n in admin.block] + [(n, False) for n in admin.unblock]:
            calls.append((f"setBlocked({name}, {str(block).lower()})", "setBlocked", (self._admin_target(name), block)))
            blocked = blocked | {name} if block else blocked - {name}
        deployer = self._signer(DEPLOYER)
        for label, fn, args in calls:
            data = getattr(token.functions, fn)(*args)._encode_transaction_data()
            self._tx(step, DEPLOYER, f"{sym}.{label}", deployer, proto.batcher, "execute", token.address, data)
        self.token_status[sym] = (paused, blocked)

    def _admin_target(self, name: str) -> str:
        """The address a ``token_admin`` block names: an account or liquidity provider, else the vault or the
        keeper's bot (validated before the replay starts)."""
        proto = self._proto()
        if any(a.name == name for a in self.plan.accounts) or any(lp.name == name for lp in self.plan.liquidity):
            return self._signer(name).address
        if name == "vault":
            return proto.vault.address
        assert name == KEEPER and proto.keeper_bot is not None
        return proto.keeper_bot.address

    def _action(self, step: int, act: PlannedAction) -> None:
        """Send the action's calls (one per asset) in order; a revert is recorded if the scenario expects one,
        otherwise it ends the replay."""
        signer = self._signer(act.account)
        for call in self._action_calls(step, act, signer):
            if call.fund is not None:
                self._fund_call(signer, call)
            self._submit_action(step, act, signer, call.label, call.contract, call.fn, call.args)

    def _action_calls(self, step: int, act: PlannedAction, signer: Signer) -> list[_Call]:
        proto = self._proto()
        vault, m = proto.vault, self.markets
        token = {sym: t.address for sym, t in proto.tokens.items()}
        # deposit and repay may pay into someone else's sub-account (owner:); every other verb acts on the actor's.
        owner = self._signer(act.target).address if act.target is not None else signer.address
        sub = act.target_sub_id if act.target is not None else act.sub_id
        whose = f"{act.target}/{sub}" if act.target is not None else f"sub {sub}"
        calls: list[_Call] = []
        if act.verb in ("deposit", "repay"):
            for sym, amount in act.amounts.items():
                calls.append(_Call(f"{act.verb}({_amt(amount, sym, m)}, {whose})", vault, act.verb,
                                   (owner, sub, token[sym], amount), (sym, amount, owner, sub)))
        elif act.verb in ("withdraw", "borrow"):
            for sym, amount in act.amounts.items():
                calls.append(_Call(f"{act.verb}({_amt(amount, sym, m)}, {whose})", vault, act.verb,
                                   (sub, token[sym], amount, signer.address)))
        elif act.verb == "donate":
            for sym, amount in act.amounts.items():
                # Straight to the vault with an ERC-20 transfer: no deposit, no balance credited (I17).
                calls.append(_Call(f"donate({_amt(amount, sym, m)} to the vault)", proto.tokens[sym], "transfer",
                                   (vault.address, amount), (sym, amount, None, 0)))
        elif act.verb == "transfer":
            calls.extend(self._transfer_calls(step, act, token))
        elif act.verb == "settle_bad_debt":
            calls.append(_Call(f"settleBadDebt({whose})", vault, "settleBadDebt", (owner, sub)))
        else:
            assert act.debt and act.collateral and act.target is not None and act.target_sub_id is not None
            amount = act.amounts[act.debt]
            calls.append(_Call(f"liquidate({whose}, repay {_amt(amount, act.debt, m)} for {act.collateral})",
                               vault, "liquidate", (owner, sub, token[act.debt], token[act.collateral], amount,
                                                    act.sub_id), (act.debt, amount, owner, sub)))
        return calls

    def _transfer_calls(self, step: int, act: PlannedAction, token: dict[str, str]) -> list[_Call]:
        assert act.to_sub_id is not None
        calls = []
        for sym, amount in act.amounts.items():
            label = f"transfer({_amt(amount, sym, self.markets)}, sub {act.sub_id} → sub {act.to_sub_id})"
            # Positions that share a sub-account (every position in cross margin) have nothing to move; a
            # scenario that expects the vault's SameSubAccount revert still sends it.
            if act.to_sub_id == act.sub_id and act.expect_revert is None and act.may_revert is None:
                self._step_actions.append(ActionRecord(step, act.account, label + " skipped: same sub-account",
                                                       True, act.source))
                continue
            calls.append(_Call(label, self._proto().vault, "transfer",
                               (act.sub_id, act.to_sub_id, token[sym], amount)))
        return calls

    def _fund_call(self, signer: Signer, call: _Call) -> None:
        """Mint what the call pays in; for ``all`` (uint256 max) that is the sub-account's debt right now, plus
        a margin for the interest of the block the call is mined in."""
        assert call.fund is not None
        sym, amount, owner, sub = call.fund
        if amount == UINT256_MAX:
            assert owner is not None
            proto = self._proto()
            debt = -min(0, int(self.chain.call(proto.vault, "balanceOf", owner, sub, proto.tokens[sym].address)))
            amount = debt + debt // 1000 + 1
        self._fund(signer, sym, amount)

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
        if self.chain.reads == "mirror":
            return self._mirror_states(keys)
        return self._vault_states(keys)

    def _vault_states(self, keys: set[str] | None = None) -> dict[str, SubAccountState] | None:
        """:meth:`_read_states` by the vault's batch view: the node values every sub-account."""
        proto = self._proto()
        owners, subs, refs = self._tracked(keys)
        ok, err, raw = self._snapshot(owners, subs)
        if not ok:
            self.valuation_error = self.chain.decoder.decode(err)
            return None
        out: dict[str, SubAccountState] = {}
        symbols = list(proto.tokens)
        words = [int.from_bytes(raw[i:i + 32], "big", signed=True) for i in range(0, len(raw), 32)]
        k = 0
        for ref in refs:  # the layout SimBatcher._pack writes
            n = words[k]
            bal = {symbols[words[k + 1 + 2 * t]]: words[k + 2 + 2 * t] for t in range(n)}
            k += 1 + 2 * n
            h_init, h_maint, hf, coll, debt = words[k:k + 5]
            k += 5
            ordered = {s: bal[s] for s in self.markets if s in bal}
            out[ref.key] = SubAccountState(ordered, h_init, h_maint, None if hf == -1 else hf, coll, debt)
        return out

    def _snapshot(self, owners: list[str], subs: list[int]) -> tuple[bool, bytes, bytes]:
        """One call: the sub-accounts' states and every market's state, which is kept for this step's record
        as long as no transaction or block follows."""
        proto = self._proto()
        tokens = [t.address for t in proto.tokens.values()]
        size = self._read_chunk()
        chunks = [(proto.vault.address, owners[i:i + size], subs[i:i + size], tokens)
                  for i in range(0, max(len(owners), 1), size)]
        answers = self.chain.call_many(proto.batcher, "snapshot", chunks)
        self._markets_seen = (self._chain_mark(), self._market_states(answers[-1][3]))
        for ok, err, _raw, _markets in answers:  # the first sub-account that cannot be valued, as in one call
            if not ok:
                return False, bytes(err), b""
        return True, b"", b"".join(bytes(raw) for _ok, _err, raw, _m in answers)

    def _read_chunk(self) -> int:
        """Sub-accounts per ``eth_call``: a node runs a call with at most its block gas limit (30M), and valuing
        one sub-account costs up to ~10k gas plus ~12k per market on Anvil's cold-access schedule (bench/gas.json
        family); a chunk stays near a third of the limit. All chunks of a read go in one JSON-RPC batch."""
        return max(25, (self.chain.block_gas_limit // 3) // (10_000 + 12_000 * len(self.markets)))

    def _market_states(self, markets: list[Any]) -> dict[str, MarketState]:
        states: dict[str, MarketState] = {}
        for sym, ms in zip(self._proto().tokens, markets):
            (_t, _d, dep_idx, bor_idx, _ds, _bs, total_dep, total_bor, reserves, util, bor_rate, sup_rate,
             _last) = ms
            states[sym] = MarketState(int(total_dep), int(total_bor), int(reserves), int(dep_idx), int(bor_idx),
                                      int(util), int(bor_rate) * SECONDS_PER_YEAR, int(sup_rate) * SECONDS_PER_YEAR)
        return states

    # ------------------------------------------------------------------------------------------------ mirror
    def _touch(self, actions: tuple[PlannedAction, ...] | list[PlannedAction]) -> None:
        """Mark every sub-account of every owner an action names (actor, liquidation target) as possibly changed:
        the mirror re-reads their scaled balances at its next read."""
        names = {a.account for a in actions} | {a.target for a in actions if a.target}
        self._dirty.update(ref.key for ref in self.sub_accounts if ref.owner in names)

    def _mirror_states(self, keys: set[str] | None = None) -> dict[str, SubAccountState] | None:
        """:meth:`_read_states` by the mirror: one ``SimBatcher.mirror`` call (markets, prices, and the scaled
        balances of the sub-accounts marked changed), then the vault's valuation in Python."""
        proto = self._proto()
        assert proto.keeper_bot is not None
        dirty = [ref for ref in self.sub_accounts if ref.key in self._dirty]
        tokens = [t.address for t in proto.tokens.values()]
        # The keeper bot's own sub-account (not tracked, credited by every liquidation) is read every time, so
        # the tracked balances plus it must add up to the markets' total scales.
        owners = [self._signer(r.owner).address for r in dirty] + [proto.keeper_bot.address]
        subs = [r.sub_id for r in dirty] + [KEEPER_SUB_ID]
        size = self._read_chunk()
        answers = self.chain.call_many(proto.batcher, "mirror", [(proto.vault.address, owners[i:i + size],
                                                                   subs[i:i + size], tokens)
                                                                  for i in range(0, len(owners), size)])
        markets, params, prices, errors, _ = answers[-1]
        scaled = [x for answer in answers for x in answer[4]]
        m = len(tokens)
        for j, ref in enumerate(dirty):
            self._scaled[ref.key] = [int(x) for x in scaled[j * m:(j + 1) * m]]
        self._dirty.clear()
        self._check_totals(markets, [int(x) for x in scaled[len(dirty) * m:]])
        self._markets_seen = (self._chain_mark(), self._market_states(markets))
        quotes = [Quote(int(ms[1]), int(ms[2]), int(ms[3]), int(p[0]), int(p[1]), int(p[2]), int(p[3]), int(price),
                        bytes(error)) for ms, p, price, error in zip(markets, params, prices, errors)]
        symbols = list(proto.tokens)
        out: dict[str, SubAccountState] = {}
        for ref in self.sub_accounts:
            if keys is not None and ref.key not in keys:
                continue
            try:
                st = value_account(self._scaled[ref.key], quotes, symbols)
            except PriceUnavailable as exc:
                self.valuation_error = self.chain.decoder.decode(exc.data)
                return None
            st.balances = {s: st.balances[s] for s in self.markets if s in st.balances}
            out[ref.key] = st
        return out

    def _check_totals(self, markets: list[Any], keeper_scaled: list[int]) -> None:
        """Every read: the mirrored scaled balances (and the keeper's) must add up to each market's total deposit
        and borrow scale (invariant I1), so a balance change the mirror missed stops the replay at once."""
        for t, (sym, ms) in enumerate(zip(self._proto().tokens, markets)):
            column = [bal[t] for bal in self._scaled.values()] + [keeper_scaled[t]]
            deposits, borrows = sum(x for x in column if x > 0), -sum(x for x in column if x < 0)
            if (deposits, borrows) != (int(ms[4]), int(ms[5])):
                raise ChainError(f"the mirror lost track of a balance in {sym}: its sub-accounts add up to deposit "
                                 f"scale {deposits} and borrow scale {borrows}, the vault holds {int(ms[4])} and "
                                 f"{int(ms[5])}")

    def _verify_mirror(self, index: int, states: dict[str, SubAccountState] | None) -> None:
        """The mirror's valuation of every tracked sub-account must equal the vault's, read now in one call."""
        mirror_error = self.valuation_error
        chain_states = self._vault_states()
        chain_error, self.valuation_error = self.valuation_error, mirror_error
        where = "setup" if index < 0 else f"step {index}"
        if (states is None) != (chain_states is None) or (states is None and mirror_error != chain_error):
            raise ChainError(f"the mirror diverged from the vault at {where}: the vault's valuation "
                             f"{'failed: ' + str(chain_error) if chain_states is None else 'succeeded'}, the "
                             f"mirror's {'failed: ' + str(mirror_error) if states is None else 'succeeded'}")
        for key, st in (states or {}).items():
            if chain_states is not None and chain_states.get(key) != st:
                raise ChainError(f"the mirror diverged from the vault at {where} for {key}: vault "
                                 f"{chain_states.get(key)}, mirror {st}")

    def _chain_mark(self) -> tuple[int, int]:
        return (self.chain.tx_count, self.chain.last_block)

    def _keeper_state(self, step: int, states: dict[str, SubAccountState]) -> KeeperState:
        markets = {s: MarketView(s, m.decimals, self.prices[s], m.liquidation_bonus, m.protocol_share,
                                 m.asset_weight.maint, m.liab_weight.maint)
                   for s, m in self.markets.items()}
        views = [SubAccountView(ref.key, ref.owner, ref.sub_id, states[ref.key].balances,
                                states[ref.key].health_maint, states[ref.key].health_factor,
                                states[ref.key].collateral_value, states[ref.key].debt_value)
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
                bad_debts = len(self.timeline.bad_debts)
                self._keeper_round(step, actions)
                self._dirty.update(a.key for a in actions)
                # Within one block only the sub-accounts acted on can have changed, unless bad debt was socialised:
                # that lowers a deposit index and so every depositor's balance. Re-read just those, or everyone.
                everyone = len(self.timeline.bad_debts) > bad_debts
                touched = self._read_states(None if everyone else {a.key for a in actions})
                if touched is None:
                    states = None
                    break
                states = {**states, **touched}
        self._last_states = states

    def _keeper_round(self, step: int, actions: list[Liquidate | SettleBadDebt]) -> None:
        """All of a round's actions in one ``SimKeeper.run`` transaction, in the keeper's order; each action the
        vault rejects is reported by a ``Failed`` event and the keeper gives up on that sub-account, exactly as
        when they were sent one by one (they run in the same order on the same state)."""
        proto = self._proto()
        assert proto.keeper_bot is not None
        ops = []
        for action in actions:
            owner = self._signer(action.owner).address
            if isinstance(action, Liquidate):
                ops.append((False, owner, action.sub_id, proto.tokens[action.debt].address,
                            proto.tokens[action.collateral].address))
            else:
                zero = "0x" + "00" * 20
                ops.append((True, owner, action.sub_id, zero, zero))
        gas = KEEPER_GAS_BASE + KEEPER_GAS_PER_OP * len(ops)
        if gas > 29_000_000 and len(actions) > 1:
            half = len(actions) // 2
            self._keeper_round(step, actions[:half])
            self._keeper_round(step, actions[half:])
            return
        try:
            receipt = self.chain.transact(self._signer(KEEPER), proto.keeper_bot, "run", ops, KEEPER_SUB_ID, gas=gas)
        except TxReverted:
            # Should not happen (the bot catches the vault's reverts); fall back to one action per transaction.
            for action in actions:
                self._keeper_action(step, action)
            return
        failed = {int(ev["args"]["index"]): self.chain.decoder.decode(bytes(ev["args"]["reason"]))
                  for ev in proto.keeper_bot.events.Failed().process_receipt(receipt, errors=DISCARD)}
        for i, action in enumerate(actions):
            if i in failed:
                self.keeper.give_up(action.key)
                self._step_actions.append(ActionRecord(step, KEEPER, _keeper_label(action), False, "keeper",
                                                       failed[i]))
        self._collect_events(step, receipt)

    def _keeper_action(self, step: int, action: Liquidate | SettleBadDebt) -> None:
        proto = self._proto()
        assert proto.keeper_bot is not None
        keeper = self._signer(KEEPER)
        owner = self._signer(action.owner).address
        label = _keeper_label(action)
        zero = "0x" + "00" * 20
        if isinstance(action, Liquidate):
            op = (False, owner, action.sub_id, proto.tokens[action.debt].address,
                  proto.tokens[action.collateral].address)
        else:
            op = (True, owner, action.sub_id, zero, zero)
        try:
            receipt = self.chain.transact(keeper, proto.keeper_bot, "run", [op], KEEPER_SUB_ID, learn_gas=False)
        except TxReverted as exc:
            self.keeper.give_up(action.key)
            self._step_actions.append(ActionRecord(step, KEEPER, label, False, "keeper", exc.reason))
            return
        for ev in proto.keeper_bot.events.Failed().process_receipt(receipt, errors=DISCARD):
            self.keeper.give_up(action.key)
            self._step_actions.append(ActionRecord(step, KEEPER, label, False, "keeper",
                                                   self.chain.decoder.decode(bytes(ev["args"]["reason"]))))
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
        if self.chain.reads == "mirror" and (index < 0 or index == self._last_index or
                                             (index + 1) % MIRROR_VERIFY_EVERY == 0):
            self._verify_mirror(index, states)
        note = None
        if states is None:
            # Balances cannot be valued this step: carry the last valued state and say why in the record.
            note = f"accounts not valued: accountStates reverted with {self.valuation_error}"
            previous = self.timeline.records[-1].accounts if self.timeline.records else {}
            states = dict(previous)
        seen = self._markets_seen
        if seen is None or seen[0] != self._chain_mark():
            self._snapshot([], [])
            seen = self._markets_seen
        assert seen is not None
        markets = dict(seen[1])
        return StepRecord(index=index, source=source, label=label, time=self.sim_time,
                          prices={s: plain(p) for s, p in self.prices.items()},
                          oracle=dict(sorted(self.faults.items())), accounts=states, markets=markets,
                          actions=list(actions), note=note, tokens=self._token_status_text())

    def _token_status_text(self) -> dict[str, str] | None:
        """Each acted-on token's state for the step record ("paused; blocked: vault"); None before any act, so
        the timelines of scenarios without ``token_admin`` are unchanged."""
        if not self.token_status:
            return None
        out = {}
        for sym, (paused, blocked) in sorted(self.token_status.items()):
            parts = ["paused" if paused else "live"] + ([f"blocked: {', '.join(sorted(blocked))}"] if blocked else [])
            out[sym] = "; ".join(parts)
        return out


def _keeper_label(action: Liquidate | SettleBadDebt) -> str:
    if isinstance(action, Liquidate):
        return f"liquidate({action.key}, {action.debt} debt for {action.collateral})"
    return f"settleBadDebt({action.key})"


def _hf(value: int) -> int | None:
    return None if int(value) == UINT256_MAX else int(value)


def _amt(units: int, sym: str, markets: dict[str, Market]) -> str:
    if units == UINT256_MAX:
        return f"all {sym}"
    return f"{plain(from_units(units, markets[sym].decimals))} {sym}"


def _market_info(m: Market) -> MarketInfo:
    return MarketInfo(m.symbol, m.decimals, m.feed_decimals, plain(m.price), plain(m.asset_weight.init),
                      plain(m.asset_weight.maint), plain(m.liab_weight.init), plain(m.liab_weight.maint),
                      plain(m.liquidation_bonus), plain(m.protocol_share), plain(m.reserve_factor),
                      None if m.token.kind == "plain" else str(m.token))


__all__ = ["Replay", "Protocol", "ChainError"]
