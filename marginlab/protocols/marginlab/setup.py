"""Opening a plan's book on the vault in a few transactions: ``SimBatcher.depositFor`` mints and deposits for many
owners at once (each owner approves the batcher as operator by EIP-712 signature for the transaction: the vault
takes a deposit into a market a sub-account does not hold only from its owner or operator, I25),
``SimBatcher.borrowFor`` borrows for many owners authorised by their EIP-712 signatures. A chunk that reverts is
re-sent one call at a time by the owners themselves, so the error names the account and the call that failed."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from web3.contract import Contract

from marginlab.chain import TxReverted
from marginlab.numbers import to_units
from marginlab.protocols.marginlab.authsig import sign_authorization
from marginlab.protocols.world import World
from marginlab.scenario.model import Market
from marginlab.scenario.plan import Plan

# Set-up deposits per batcher transaction (~150k gas each: mint + first deposit), well under the block gas limit,
# sent with a fixed generous limit: Ganache estimates a transaction by running it many times (timed out here). Each
# owner in a chunk adds two signature checks and operator writes (GRANT_GAS).
SETUP_BATCH, DEPOSIT_GAS, GRANT_GAS = 60, 260_000, 120_000
# Set-up borrows per batcher transaction: a borrow values every market its sub-account holds (~200k gas), each
# owner adds two signature checks and operator writes; 60 borrows stay well under the 30M block gas limit.
BORROW_BATCH, BORROW_GAS, BORROW_OWNER_GAS = 60, 330_000, 120_000
AUTH_DEADLINE = 2**64 - 1  # set-up signatures are used at once; a fixed deadline keeps replays identical

Deposit = tuple[str, int, str, int]  # (owner, sub_id, symbol, units)


class VaultSetup:
    def __init__(self, world: World, plan: Plan, vault: Contract) -> None:
        self.world = world
        self.chain = world.chain
        self.plan = plan
        self.vault = vault
        self.auth_nonces: dict[str, int] = {}  # setOperatorWithSig nonces the simulator's actors have used

    def wallet_minted(self, name: str, sym: str) -> bool:
        acct = next((a for a in self.plan.accounts if a.name == name), None)
        return acct is not None and sym in acct.wallet

    def open(self) -> None:
        """Deposits paid from outside the actor's wallet are minted and deposited by the batcher for the owner,
        many per transaction; deposits of a token the account holds in its ``wallet:`` are paid from it."""
        batched: list[Deposit] = []
        for lp in self.plan.liquidity:
            for sym, amount in lp.deposits.items():
                if amount > 0:
                    batched.append((lp.name, 0, sym, amount))
        wallet_deposits: list[Deposit] = []
        for acct in self.plan.accounts:
            for i, pos in enumerate(acct.positions):
                for sym, amount in pos.deposit.items():
                    if amount <= 0:
                        continue
                    item = (acct.name, acct.sub_id(i), sym, amount)
                    (wallet_deposits if self.wallet_minted(acct.name, sym) else batched).append(item)
        if self.world.per_op_gas:  # one deposit per transaction, so each has its own gas
            for name, sub, sym, amount in batched:
                self.deposit(name, sub, sym, amount)
        else:
            for start in range(0, len(batched), SETUP_BATCH):
                self._deposit_chunk(batched[start:start + SETUP_BATCH])
        for name, sub, sym, amount in wallet_deposits:
            self.deposit(name, sub, sym, amount)
        self._borrows()

    def _deposit_chunk(self, chunk: list[Deposit]) -> None:
        world = self.world
        owners = list(dict.fromkeys(name for name, _, _, _ in chunk))
        grants = [self._grant(name) for name in owners]
        try:
            self.chain.transact(world.deployer, world.batcher, "depositFor", self.vault.address,
                                [world.tokens[sym].address for _, _, sym, _ in chunk],
                                [world.address(name) for name, _, _, _ in chunk],
                                [sub for _, sub, _, _ in chunk], [amount for _, _, _, amount in chunk], grants,
                                gas=200_000 + DEPOSIT_GAS * len(chunk) + GRANT_GAS * len(owners))
        except TxReverted:
            # Say which deposit fails: send this chunk one by one, the way an actor would.
            for name, sub, sym, amount in chunk:
                self.deposit(name, sub, sym, amount)
        else:
            for name in owners:
                self.auth_nonces[name] = self.auth_nonces.get(name, 0) + 2

    def _grant(self, name: str) -> tuple[Any, ...]:
        """``name``'s signed approval of the batcher and its revocation, at its next two nonces."""
        signer = self.world.signer(name)
        nonce = self.auth_nonces.get(name, 0)
        grant, revoke = (sign_authorization(signer.account, self.vault.address, self.chain.chain_id,
                                            self.world.batcher.address, approved, nonce + k, AUTH_DEADLINE)
                         for k, approved in ((0, True), (1, False)))
        return (grant.auth, grant.sig, revoke.auth, revoke.sig)

    def deposit(self, name: str, sub: int, sym: str, amount: int) -> None:
        """One set-up deposit by the owner itself, paid from its wallet (minted first unless ``wallet:`` holds it)."""
        if amount == 0:
            return
        signer = self.world.signer(name)
        self.world.fund(signer, sym, amount, self.vault.address, empty_wallet=not self.wallet_minted(name, sym))
        self.world.transact(-1, name, f"deposit({self.world.amount(amount, sym)}, sub {sub})", signer, self.vault,
                            "deposit", signer.address, sub, self.world.tokens[sym].address, amount, gas_kind="deposit")

    def _borrows(self) -> None:
        """Every account's set-up borrows, many owners per ``SimBatcher.borrowFor`` transaction: each owner signs
        (EIP-712, off-chain) an approval of the batcher as operator and its revocation, the batcher borrows for
        it, paid to the owner."""
        owners = [(acct.name, [(acct.sub_id(i), sym, amount) for i, pos in enumerate(acct.positions)
                               for sym, amount in pos.borrow.items() if amount > 0])
                  for acct in self.plan.accounts]
        owners = [(name, borrows) for name, borrows in owners if borrows]
        if self.world.per_op_gas:  # one borrow per transaction, so each has its own gas
            for name, borrows in owners:
                self._borrow_alone(name, borrows)
            return
        start = 0
        while start < len(owners):
            chunk: list[tuple[str, list[tuple[int, str, int]]]] = []
            ops = 0
            while start < len(owners) and (not chunk or ops + len(owners[start][1]) <= BORROW_BATCH):
                chunk.append(owners[start])
                ops += len(owners[start][1])
                start += 1
            items = [self._borrow_item(name, borrows) for name, borrows in chunk]
            try:
                self.chain.transact(self.world.deployer, self.world.batcher, "borrowFor", self.vault.address, items,
                                    gas=200_000 + BORROW_OWNER_GAS * len(chunk) + BORROW_GAS * ops)
            except TxReverted:
                for name, borrows in chunk:
                    self._borrow_alone(name, borrows)
            else:
                for name, _ in chunk:
                    self.auth_nonces[name] = self.auth_nonces.get(name, 0) + 2

    def _borrow_item(self, name: str, borrows: list[tuple[int, str, int]]) -> tuple[Any, ...]:
        return (*self._grant(name), [sub for sub, _, _ in borrows],
                [self.world.tokens[sym].address for _, sym, _ in borrows], [amount for _, _, amount in borrows])

    def _borrow_alone(self, name: str, borrows: list[tuple[int, str, int]]) -> None:
        signer = self.world.signer(name)
        for sub, sym, amount in borrows:
            self.world.transact(-1, name, f"borrow({self.world.amount(amount, sym)}, sub {sub})", signer, self.vault,
                                "borrow", sub, self.world.tokens[sym].address, amount, signer.address,
                                gas_kind="borrow")


# ----------------------------------------------------------------------------------------------- oracle guards
UINT128_MAX = 2**128 - 1
# SimPoker.pokeAll: a poke reads the guarded price (feed, bounds, sequencer) and may write the reference (~50k).
POKE_GAS, POKE_GAS_PER_MARKET = 60_000, 90_000


def market_guard_calls(m: Market) -> list[tuple[str, tuple[Any, ...]]]:
    """The router calls (function, arguments after the asset) that set one market's ``oracle_guards``; none when
    it has none, so today's scenarios and deployments send no extra transaction (their timelines stay the same)."""
    g = m.oracle_guards
    if g is None:
        return []
    calls: list[tuple[str, tuple[Any, ...]]] = []
    if g.min_price is not None or g.max_price is not None:
        calls.append(("setFeedBounds", (to_units(g.min_price or Decimal(0), 18),
                                        UINT128_MAX if g.max_price is None else to_units(g.max_price, 18))))
    if g.max_move is not None:
        calls.append(("setPriceBand", (g.max_move_bps, g.window)))
    return calls


def guard_changes(m: Market) -> list[tuple[str, tuple[Any, ...]]]:
    """The router calls that make a listed market's guards ``m.oracle_guards`` (a governance change): every guard
    the new set leaves out is switched off."""
    g = m.oracle_guards
    calls = market_guard_calls(m)
    if g is None or (g.min_price is None and g.max_price is None):
        calls.insert(0, ("setFeedBounds", (0, UINT128_MAX)))
    if g is None or g.max_move is None:
        calls.append(("setPriceBand", (0, 0)))
    return calls


def guard_calls(plan: Plan) -> list[tuple[str, str, tuple[Any, ...]]]:
    """Every market's guard calls as (symbol, function, arguments after the asset), and with ``sequencer:`` one
    ``setSequencerFeed`` per market (its feed address is filled in by the caller)."""
    calls = [(m.symbol, fn, args) for m in plan.markets for fn, args in market_guard_calls(m)]
    if plan.sequencer is not None:
        calls += [(m.symbol, "setSequencerFeed", (plan.sequencer.grace_period,)) for m in plan.markets]
    return calls


def apply_oracle_guards(world: World, plan: Plan, router: Contract) -> None:
    """Set each market's bounds and circuit breaker on the router; with ``sequencer:``, create the uptime feed
    (up since long ago, so set-up is not in a grace period) and guard every market with it."""
    calls = guard_calls(plan)
    if not calls:
        return
    chain, deployer = world.chain, world.deployer
    if plan.sequencer is not None:
        receipt = chain.transact(deployer, world.batcher, "createFeed", 0, 0)
        world.sequencer = chain.contract(world._created(receipt), world.artifacts.abi("SettableAggregator"))
        chain.transact(deployer, world.batcher, "setRoundData", world.sequencer.address, 1, 0, 1,
                       chain.latest_timestamp(), 1)
        world.label(world.sequencer.address, "sequencer uptime feed")
    for sym, fn, args in calls:
        if fn == "setSequencerFeed":
            assert world.sequencer is not None
            args = (world.sequencer.address, *args)
        chain.transact(deployer, router, fn, world.tokens[sym].address, *args)
    banded = [world.tokens[m.symbol].address for m in plan.markets
              if m.oracle_guards is not None and m.oracle_guards.max_move is not None]
    if banded:
        poker = chain.deploy(deployer, world.artifacts, "SimPoker")
        world.label(poker.address, "breaker keeper")

        def poke() -> None:
            """The keeper's poke of every banded market after the step's rounds (a refusal is an event)."""
            chain.transact(deployer, poker, "pokeAll", router.address, banded,
                           gas=POKE_GAS + POKE_GAS_PER_MARKET * len(banded))

        world.after_prices = poke
