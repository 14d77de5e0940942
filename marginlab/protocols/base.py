"""The protocol boundary: the one interface every protocol marginlab drives implements.

The engine, the keeper, the reports and the sweeps never name a contract. They hand a protocol:

- before any chain work, the plan, to map (:meth:`Protocol.map_plan`): every scenario setting is *mapped* (an
  exact counterpart), *honoured* (the protocol's own behaviour equals it), *not honoured* (listed in the report,
  refused under ``--strict``), or *refused* (cannot be expressed at all: a ``file:line: field: reason`` line);
- a :class:`World` (the chain, the shared test tokens and Chainlink-style feeds, signers and labels), to deploy
  the protocol's own contracts and list the scenario's markets (:meth:`Protocol.deploy`);
- the book to open (:meth:`Protocol.open_book`): lenders' deposits, every position's deposits and borrows;
- one leg of a scenario verb at a time, to encode as a transaction (:meth:`Protocol.encode`);
- reads: every tracked sub-account's balances and health and every market's state, in one call per step
  (:meth:`Protocol.read_accounts`, :meth:`Protocol.read_markets`);
- the keeper: the liquidations it may take (:meth:`Protocol.offers`), and a round of them to send
  (:meth:`Protocol.run_keeper`); bad debt is settled the protocol's own way (see :class:`Capabilities`);
- receipts, to decode into liquidations and bad debt (:meth:`Protocol.decode_events`).

Test tokens and price feeds belong to the simulator and are shared by every protocol, so a comparison between
protocols runs the same tokens on the same price path.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal, Sequence

from marginlab.chain import ReadMode
from marginlab.errors import Issue
from marginlab.protocols.world import World
from marginlab.scenario.actions import GovernanceAct, PlannedVerb, Source
from marginlab.scenario.plan import Plan
from marginlab.timeline import MarketState, PairState, SubAccountRef, SubAccountState

BadDebtHandling = Literal["settle-call", "in-liquidation", "left-as-debt"]
Isolation = Literal["sub-account", "market", "address"]


@dataclass(frozen=True)
class Capabilities:
    """What a protocol can express; the mapping rules and the keeper read it, the report prints it."""

    #: one margin account may hold several assets (collateral and debt) that all back each other
    cross_margin: bool
    #: how an isolated position is kept apart: a sub-account id, its own market (pair), or its own address
    isolation: Isolation
    #: debts count at a weight other than 1 (liability weights)
    liability_weights: bool
    #: a liquidation call is capped at a share of the debt (close factor)
    close_factor: bool
    #: a minimum left behind by a partial liquidation (dust rule)
    dust_rule: bool
    #: how debt left without collateral is dealt with
    bad_debt: BadDebtHandling
    #: hostile token kinds (``token: {kind: ...}``) whose accounting the protocol gets right
    token_kinds: frozenset[str]


Outcome = Literal["mapped", "honoured", "not-honoured", "refused"]


@dataclass(frozen=True)
class Decision:
    """How one scenario setting was carried over to a protocol."""

    scope: str  # a market symbol, a pair market ("WETH/USDC"), a sub-account key, or "protocol"
    setting: str  # the scenario field, e.g. "liquidation_bonus"
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class Mapping:
    """The mapping decisions for one plan on one protocol, and what it refuses (one issue per problem)."""

    protocol: str
    decisions: tuple[Decision, ...] = ()
    refusals: tuple[Issue, ...] = ()

    @property
    def not_honoured(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.outcome == "not-honoured")


def refusal(plan: Plan, source: Source, reason: str, *, field: str | None = None) -> Issue:
    """A setting ``plan`` cannot carry, as the ``file:line: field: reason`` line the CLI prints (exit 2): written at
    ``source`` (a market's ``plan.market_sources[i]``, an account's, a position's or an action's ``source``),
    ``field`` a sub-field of it (``liab_weight``). For :attr:`Mapping.refusals`; say the protocol in ``reason``."""
    where = str(source) + (f".{field}" if field else "")
    return Issue(plan.file, source.line, where, reason)


@dataclass(frozen=True)
class Payment:
    """Tokens a call pulls from its sender: the engine makes sure the sender holds and has approved them.
    ``amount`` uint256 max means "all the debt of ``debt_of`` (owner, sub_id)" at the time of the call."""

    symbol: str
    amount: int
    spender: str | None  # the address the call lets pull the tokens (None: a plain transfer, no approval)
    debt_of: tuple[str, int] | None = None


@dataclass(frozen=True)
class Call:
    """One transaction: a contract function and its arguments, what it pays in, and its label in the timeline."""

    label: str
    contract: Any  # a web3 contract
    fn: str
    args: tuple[Any, ...]
    pay: Payment | None = None
    signer: str | None = None  # None: the action's own account


@dataclass(frozen=True)
class Leg:
    """One asset of a planned verb (a verb with several assets is sent as one transaction per asset).
    ``symbol`` and ``amount`` are None for verbs without amounts (settle_bad_debt)."""

    action: PlannedVerb
    label: str
    symbol: str | None = None
    amount: int = 0


@dataclass(frozen=True)
class Offer:
    """A liquidation the protocol allows right now: repay ``debt`` for ``collateral``, ``value`` USD repaid by
    the largest call allowed, ``profit`` the liquidator's USD share of the incentive on it, ``cost`` what the
    borrower gives up beyond the debt repaid (the whole incentive, USD), and ``health_gain`` the change in the
    account's maintenance health (USD) the call makes, at today's prices and weights."""

    debt: str
    collateral: str
    value: Decimal
    profit: Decimal
    cost: Decimal = Decimal(0)
    health_gain: Decimal = Decimal(0)
    #: the protocol takes over the whole account (the vault's ``absorb`` policy): no pair, ``debt`` and
    #: ``collateral`` are empty
    absorb: bool = False


@dataclass(frozen=True)
class AccountView:
    """A tracked sub-account as the keeper sees it."""

    key: str
    owner: str
    sub_id: int
    state: SubAccountState
    liquidatable: bool


@dataclass(frozen=True)
class KeeperOrder:
    """One thing the keeper asks for: a liquidation of ``key`` (``debt`` for ``collateral``) or, when both are
    None, a bad-debt settlement."""

    key: str
    owner: str
    sub_id: int
    debt: str | None = None
    collateral: str | None = None
    #: the USD value the keeper expects the liquidation to repay (its offer's value)
    expected_value: Decimal = Decimal(0)
    #: an absorption of the whole account (the vault's ``absorb`` policy) instead of a liquidation
    absorb: bool = False

    @property
    def is_settlement(self) -> bool:
        return self.debt is None

    @property
    def label(self) -> str:
        if self.absorb:
            return f"absorb({self.key})"
        if self.is_settlement:
            return f"settleBadDebt({self.key})"
        return f"liquidate({self.key}, {self.debt} debt for {self.collateral})"


@dataclass
class RoundResult:
    """What a keeper round did: its receipts (to decode) and the orders that failed, with the decoded reason."""

    receipts: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LiquidationEvent:
    """A liquidation as the protocol's event reported it (addresses; the engine names and values it)."""

    liquidator: str
    owner: str
    sub_id: int
    debt: str
    collateral: str
    repaid: int
    seized: int
    to_liquidator: int
    protocol_cut: int
    health_factor_before: int | None
    health_factor_after: int | None
    #: an absorption (the vault's ``absorb`` policy): each collateral's amount the protocol took over; ``debt`` and
    #: ``collateral`` then name every asset ("USDC+WETH"), the amounts above are 0, and the account's values
    #: before (USD WAD) are ``debt_value`` and ``collateral_value``
    absorbed: dict[str, int] | None = None
    debt_value: int = 0
    collateral_value: int = 0
    #: The liquidator's sub-account the seized collateral was credited to, where the protocol has sub-accounts
    #: and its event says (marginlab's ``Liquidated.liquidatorSubId``); None otherwise. Not in the timeline.
    liquidator_sub_id: int | None = None


@dataclass(frozen=True)
class PurchaseEvent:
    """Collateral the protocol had absorbed, bought back (the vault's ``buyCollateral``): ``paid`` of ``pay`` for
    ``bought`` of ``collateral`` at ``incentive`` (WAD) below the oracle price."""

    buyer: str
    collateral: str
    pay: str
    paid: int
    bought: int
    incentive: int


@dataclass(frozen=True)
class BadDebtEvent:
    """Debt written off: how much of it reserves covered and how much lenders lost. ``left_as_debt``: a protocol
    that writes nothing off (Aave 3.0.x) leaves this much as debt of an account without collateral, which nobody
    has absorbed."""

    owner: str
    sub_id: int
    asset: str
    debt: int
    covered_by_reserves: int
    socialised: int
    left_as_debt: int | None = None
    #: written off by an absorption (the protocol took the account's collateral for it), not left uncovered
    in_absorb: bool = False
    #: the part no depositor was left to bear, recorded as the market's deficit (marginlab's vault, I24); None if 0
    deficit: int | None = None


@dataclass(frozen=True)
class DeployedContract:
    """A contract a protocol deployed, as the address book of a replay on a running node lists it."""

    name: str  # "vault", "irm 1", "oracle WETH/USDC"
    address: str
    contract: str  # the artifact, and so the ABI abi/<contract>.json ("morpho-blue/Morpho" for a peer's)


@dataclass(frozen=True)
class Role:
    """A right on the protocol's contracts and the simulator's signer that holds it (``deployer``, ``keeper``)."""

    name: str  # "governor"
    signer: str
    may: tuple[str, ...]


@dataclass
class Reading:
    """A read of every tracked sub-account (``accounts`` None when they cannot be valued: ``error`` says why)."""

    accounts: dict[str, SubAccountState] | None
    error: str | None = None
    #: what reverted when ``accounts`` is None (the note in the step's record names it)
    source: str = "the protocol's read"
    #: sub-accounts left out of ``accounts`` because a market they hold has no price (key → the price's error):
    #: the others are valued (I25)
    unpriced: dict[str, str] = field(default_factory=dict)


class Protocol(ABC):
    """One protocol behind the boundary. Subclasses set :attr:`name` and :attr:`capabilities`."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    #: BUSL-1.1, MIT, ...: stated in the report's provenance
    license: ClassVar[str] = ""
    #: what the timeline calls the contract that holds the protocol's tokens ("donate(1 WETH to the vault)")
    custody_name: ClassVar[str] = "vault"

    def __init__(self, world: World, plan: Plan, sub_accounts: list[SubAccountRef], reads: ReadMode = "chain") -> None:
        self.world = world
        self.plan = plan
        self.sub_accounts = sub_accounts
        self.reads_mode = reads

    # ---------------------------------------------------------------------------------------------- mapping
    @classmethod
    @abstractmethod
    def map_plan(cls, plan: Plan, *, strict: bool = False) -> Mapping:
        """Map every scenario setting of ``plan`` (pure: no chain). Refusals are ``file:line: field: reason``
        issues naming the protocol; under ``strict`` every not-honoured setting is a refusal too."""

    # ---------------------------------------------------------------------------------------------- chain
    @abstractmethod
    def deploy(self) -> None:
        """Deploy the protocol's contracts and list the plan's markets on the world's tokens and feeds."""

    @abstractmethod
    def deploy_keeper(self) -> str:
        """Deploy the keeper's liquidation contract (or return the keeper's own address); the engine funds it."""

    @abstractmethod
    def custody(self) -> str:
        """The address that holds the protocol's tokens (a token issuer may block it)."""

    @abstractmethod
    def open_book(self) -> None:
        """Open the plan's book: every lender's deposits, every position's deposits and borrows. The accounts'
        ``wallet:`` tokens are already minted (deposits of a token the wallet holds are paid from it)."""

    @abstractmethod
    def encode(self, leg: Leg) -> list[Call]:
        """The transactions for one leg of a verb, in order (usually one; none when there is nothing to send)."""

    @abstractmethod
    def debt(self, owner: str, sub_id: int, symbol: str) -> int:
        """``owner``'s current debt of ``symbol`` in sub-account ``sub_id``, in token units (0 if none)."""

    @abstractmethod
    def read_accounts(self, keys: set[str] | None = None) -> Reading:
        """Balances and health of the tracked sub-accounts (all, or ``keys``), in one call."""

    @abstractmethod
    def read_markets(self) -> dict[str, MarketState]:
        """Every market's state now (a protocol may answer from its last read when nothing changed since)."""

    def touched(self, names: set[str]) -> None:  # noqa: B027 - optional hook
        """The engine tells which owners' sub-accounts an action may have changed (for incremental reads)."""

    def verify(self, where: str, reading: Reading) -> None:  # noqa: B027 - optional hook
        """Check a reading against the protocol's own view (a protocol that reads through a model overrides it)."""

    @classmethod
    def governance_refusal(cls, act: GovernanceAct) -> str | None:
        """Why the protocol cannot carry out a governance act of a scenario (None: it can). The default: it has
        no governance the simulator drives."""
        return f"{cls.name} offers no governance hooks to the simulator"

    @classmethod
    def liquidation_refusal(cls, plan: Plan) -> Issue | None:
        """Why the protocol cannot carry out the scenario's ``liquidation:`` section (None: it can). The default:
        only the section that changes nothing (marginlab's vault, whose policies it names, overrides this)."""
        section = plan.liquidation
        if section.is_default:
            return None
        source = plan.liquidation_source or Source(("liquidation",), 1)
        return refusal(plan, source, f"{cls.name} has no switchable liquidation policy: liquidation: "
                                     f"{section.describe()} is marginlab's vault only")

    @classmethod
    def keepers_refusal(cls, plan: Plan) -> Issue | None:
        """Why the protocol cannot run the scenario's ``keepers:`` (keepers with a balance sheet; None: it can).
        A protocol that can implements :meth:`deploy_liquidator`, :meth:`run_keeper_as` and :meth:`release_seized`
        and overrides this."""
        if not plan.keepers:
            return None
        return Issue(plan.file, plan.keepers_line, "keepers",
                     f"{cls.name}: keepers with a balance sheet are marginlab's vault only so far (each needs its "
                     f"own liquidation contract on the protocol)")

    def deploy_liquidator(self, name: str) -> Any:
        """Deploy one keeper's own liquidation contract (scenario ``keepers:``), named ``name`` in timelines; the
        engine mints its inventory to :meth:`liquidator_address`."""
        raise NotImplementedError(f"{self.name} has no keepers with a balance sheet")

    def liquidator_address(self, liquidator: Any) -> str:
        return str(liquidator.address)

    def run_keeper_as(self, liquidator: Any, orders: list[KeeperOrder]) -> RoundResult:
        """:meth:`run_keeper` through one keeper's own contract (its inventory pays, it receives the seizure)."""
        raise NotImplementedError(f"{self.name} has no keepers with a balance sheet")

    def flash_liquidate(self, liquidator: Any, pair: str, order: KeeperOrder, repay: int) -> RoundResult:
        """One liquidation by ``liquidator`` funded by a flash swap of ``repay`` debt-token units from the Uniswap
        v2 pair at ``pair``, paid back in the seized collateral (a refused one is reported in ``failed``)."""
        raise NotImplementedError(f"{self.name} has no keepers with a balance sheet")

    def release_seized(self, liquidator: Any, symbol: str) -> int:
        """Make the collateral ``liquidator`` seized of ``symbol`` its own tokens (the vault credits a sub-account:
        withdraw it); returns the units of ``symbol`` it now holds."""
        raise NotImplementedError(f"{self.name} has no keepers with a balance sheet")

    def liquidator_call(self, liquidator: Any, contract: Any, fn: str, *args: Any) -> dict[str, Any]:
        """Have ``liquidator`` call ``contract.fn(*args)`` (approve and sell its tokens); returns the receipt."""
        raise NotImplementedError(f"{self.name} has no keepers with a balance sheet")

    def govern(self, act: GovernanceAct) -> list[Call]:
        """The transactions of a governance act (``Call.signer``: the role's signer name), in order."""
        raise NotImplementedError(f"{self.name} refuses governance when the plan is mapped")

    def liquidatable(self, state: SubAccountState) -> bool:
        """Whether the protocol lets a keeper liquidate this sub-account now (default: maintenance health < 0)."""
        return state.health_maint < 0

    @abstractmethod
    def offers(self, account: AccountView, prices: dict[str, Decimal]) -> list[Offer]:
        """The liquidations the protocol allows on a liquidatable ``account`` now, in a fixed order."""

    @abstractmethod
    def run_keeper(self, orders: list[KeeperOrder]) -> RoundResult:
        """Send a keeper round, in order; a refused order is reported in ``failed``, never raised."""

    @abstractmethod
    def decode_events(self, receipt: dict[str, Any]) -> Sequence[LiquidationEvent | BadDebtEvent | PurchaseEvent]:
        """Liquidations and bad debt in a receipt, in log order (and purchases of absorbed collateral)."""

    @classmethod
    def extra_abis(cls) -> list[list[dict[str, Any]]]:
        """ABIs beyond the project's own build (its contracts' errors), so reverts decode to their names."""
        return []

    def read_pairs(self) -> dict[str, PairState] | None:
        """Per-market state of a protocol whose markets are asset pairs (None for one market per asset)."""
        return None

    def provenance(self) -> dict[str, str]:
        """What produced a run on this protocol (package and compiler versions, licence)."""
        return {"protocol": self.name}

    def deployment(self) -> tuple[list[DeployedContract], list[Role]]:
        """What it has deployed so far and who holds its rights, for the address book a replay on a running node
        writes (marginlab.addressbook). Optional: by default it names nothing."""
        return [], []
