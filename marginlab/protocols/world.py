"""What the simulator gives every protocol: the chain, the shared test tokens and Chainlink-style feeds, signers
by name, address labels, and minting.

The tokens and feeds are created through ``SimBatcher`` (contracts/sim), which thereby may mint every token and
write rounds for every feed, many per transaction. They are the same whichever protocol runs, so protocols are
compared on the same tokens and the same price path.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from web3.contract import Contract

from marginlab.chain import Artifacts, Chain, Signer, TxReverted
from marginlab.chain.events import events_of
from marginlab.errors import ChainError, ReplayRevert
from marginlab.numbers import UINT256_MAX, from_units, plain, to_units
from marginlab.scenario.model import Market

KEEPER = "keeper"
DEPLOYER = "deployer"
# Mints per batcher transaction, and gas per mint.
MINT_BATCH, MINT_GAS = 200, 90_000


class World:
    """Handles shared by the engine and the protocol of one replay."""

    def __init__(self, chain: Chain, artifacts: Artifacts, markets: tuple[Market, ...]) -> None:
        self.chain = chain
        self.artifacts = artifacts
        self.markets: dict[str, Market] = {m.symbol: m for m in markets}
        #: address (lower case) → the name a timeline uses for it
        self.names: dict[str, str] = {}
        self.tokens: dict[str, Contract] = {}
        self.feeds: dict[str, Contract] = {}
        #: the L2 sequencer uptime feed (scenario ``sequencer:``, marginlab protocol only), created by the batcher
        self.sequencer: Contract | None = None
        #: run after each step's new rounds are sent (marginlab with a circuit breaker: the keeper's poke)
        self.after_prices: Callable[[], None] | None = None
        self._batcher: Contract | None = None
        #: token address (lower case) → symbol
        self.symbol_of: dict[str, str] = {}
        #: pausable-blocklist tokens the scenario's issuer has acted on: symbol → (paused, names blocked)
        self.token_status: dict[str, tuple[bool, frozenset[str]]] = {}
        self._approved: set[tuple[str, str, str]] = set()
        #: gas used per operation kind ("deposit", "liquidate", ...), one entry per receipt of one operation
        self.gas: dict[str, list[int]] = {}
        #: send set-up and keeper operations one per transaction, so each has its own gas (protocol comparisons)
        self.per_op_gas = False

    def log_gas(self, kind: str, receipt: dict[str, Any]) -> None:
        self.gas.setdefault(kind, []).append(int(receipt["gasUsed"]))

    # ------------------------------------------------------------------------------------------------ names
    def signer(self, name: str) -> Signer:
        """The deterministic signer of an actor (or of the system roles ``deployer`` and ``keeper``)."""
        role = "system" if name in (KEEPER, DEPLOYER) else "actor"
        signer = self.chain.signer(role, name)
        self.name(signer.address, name)
        return signer

    def address(self, name: str) -> str:
        return self.signer(name).address

    def name(self, address: str, name: str) -> None:
        """Name ``address`` in timelines and in decoded revert arguments."""
        self.names[address.lower()] = name
        self.chain.decoder.labels[address.lower()] = name

    def label(self, address: str, label: str) -> None:
        """Name ``address`` in decoded revert arguments only."""
        self.chain.decoder.labels[address.lower()] = label

    def name_of(self, address: str) -> str:
        return self.names.get(address.lower(), address)

    @property
    def deployer(self) -> Signer:
        return self.signer(DEPLOYER)

    # ------------------------------------------------------------------------------------------------ tokens
    @property
    def batcher(self) -> Contract:
        assert self._batcher is not None, "deploy the shared contracts first"
        return self._batcher

    def deploy_shared(self, prices: dict[str, Decimal]) -> dict[str, int]:
        """Deploy the batcher, then every market's token and feed through it; returns each feed's round."""
        deployer = self.deployer
        self._batcher = self.chain.deploy(deployer, self.artifacts, "SimBatcher")
        rounds: dict[str, int] = {}
        for m in self.markets.values():
            self.tokens[m.symbol] = self.chain.contract(self._created(self._create_token(deployer, m)),
                                                        self.artifacts.abi(m.token.contract))
            answer = to_units(prices[m.symbol], m.feed_decimals)
            created = self._created(self.chain.transact(deployer, self.batcher, "createFeed", m.feed_decimals, answer))
            self.feeds[m.symbol] = self.chain.contract(created, self.artifacts.abi("SettableAggregator"))
            rounds[m.symbol] = 1
        self.symbol_of = {t.address.lower(): s for s, t in self.tokens.items()}
        for sym, token in self.tokens.items():
            self.label(token.address, sym)
        self.label(self.batcher.address, "batcher")
        return rounds

    def _create_token(self, deployer: Signer, m: Market) -> dict[str, Any]:
        """Deploy the market's token through the batcher, so the batcher may mint it: a plain SimToken by
        ``createToken``; a hostile test token (``token: {kind: ...}``) by ``createContract`` with its creation code,
        which makes the batcher its deployer, the one account those tokens let mint."""
        name = f"marginlab {m.symbol}"
        if m.token.kind == "plain":
            return self.chain.transact(deployer, self.batcher, "createToken", name, m.symbol, m.decimals)
        art = self.artifacts
        factory = self.chain.w3.eth.contract(abi=art.abi(m.token.contract), bytecode=art.bytecode(m.token.contract))
        init_code = factory.constructor(name, m.symbol, m.decimals, *m.token.constructor_extra).data_in_transaction
        return self.chain.transact(deployer, self.batcher, "createContract", bytes.fromhex(init_code[2:]))

    def _created(self, receipt: dict[str, Any]) -> str:
        events = events_of(self.batcher, "Created", receipt)
        if len(events) != 1:
            raise ChainError("the batcher created no contract")
        return str(events[0]["args"]["created"])

    def mint(self, items: list[tuple[str, str, int]]) -> None:
        """Mint (symbol, to, amount) for each item, many per batcher transaction."""
        items = [i for i in items if i[2] > 0]
        for start in range(0, len(items), MINT_BATCH):
            chunk = items[start:start + MINT_BATCH]
            self.chain.transact(self.deployer, self.batcher, "mint",
                                [self.tokens[sym].address for sym, _, _ in chunk], [to for _, to, _ in chunk],
                                [amount for _, _, amount in chunk], gas=100_000 + MINT_GAS * len(chunk))

    def approve(self, signer: Signer, sym: str, spender: str) -> None:
        """Let ``spender`` pull ``signer``'s ``sym`` without limit (once)."""
        key = (signer.address, sym, spender.lower())
        if key in self._approved:
            return
        self.chain.transact(signer, self.tokens[sym], "approve", spender, UINT256_MAX)
        self._approved.add(key)

    def balance(self, sym: str, address: str) -> int:
        return int(self.chain.call(self.tokens[sym], "balanceOf", address))

    def token_refuses(self, sym: str, address: str) -> bool:
        """A token_admin step paused ``sym`` or blocked ``address``: a mint to it would revert in the token, so
        the action goes out unfunded and meets the token's own error (EnforcedPause, Blocked)."""
        paused, blocked = self.token_status.get(sym, (False, frozenset()))
        return paused or self.names.get(address.lower()) in blocked

    def fund(self, signer: Signer, sym: str, amount: int, spender: str | None, *, empty_wallet: bool = False) -> None:
        """Mint what the actor's wallet lacks (an action that pays tokens in brings them from outside) and let
        ``spender`` pull them. ``empty_wallet``: during set-up the tokens were just deployed, nobody holds any."""
        have = 0 if empty_wallet else self.balance(sym, signer.address)
        if have < amount and not self.token_refuses(sym, signer.address):
            self.mint([(sym, signer.address, amount - have)])
        if spender is not None:
            self.approve(signer, sym, spender)

    # ------------------------------------------------------------------------------------------------ text
    def amount(self, units: int, sym: str) -> str:
        """``1.5 WETH``, or ``all WETH`` for uint256 max."""
        if units == UINT256_MAX:
            return f"all {sym}"
        return f"{plain(from_units(units, self.markets[sym].decimals))} {sym}"

    def transact(self, step: int, account: str, call: str, signer: Signer, contract: Contract, fn: str,
                 *args: Any, gas_kind: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """A transaction that must not revert: a revert ends the replay, naming the step, account and call.
        ``gas_kind``: log its gas under that operation kind."""
        try:
            receipt = self.chain.transact(signer, contract, fn, *args, **kwargs)
        except TxReverted as exc:
            where = "setup" if step < 0 else step
            raise ReplayRevert(where, account, call, exc.reason) from None
        if gas_kind is not None:
            self.log_gas(gas_kind, receipt)
        return receipt
