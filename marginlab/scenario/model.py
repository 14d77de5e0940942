"""The scenario file's model (DESIGN §2), validated with pydantic v2.

Structure and ranges live here; cross-references (unknown assets or accounts, precision against a token's
decimals, duplicates) are checked in :mod:`marginlab.scenario.validate`, which also turns pydantic's errors into
``file:line: field: reason`` lines. Use :func:`marginlab.scenario.validate.load_scenario` to read a file.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.functional_validators import BeforeValidator

from marginlab.errors import quote
from marginlab.numbers import plain
from marginlab.scenario.fields import (
    DEFAULT_FEED_DECIMALS,
    DEFAULT_HEARTBEAT,
    FEE_BPS_DENOMINATOR,
    MAX_DECIMALS,
    MAX_GENERATED_ACCOUNTS,
    MAX_SUB_ACCOUNTS,
    OWNER_VERBS,
    REFUSED_TOKEN_KINDS,
    TOKEN_CONTRACTS,
    VERBS,
    Amount,
    AmountMap,
    AmountOrAll,
    AmountOrAllMap,
    ErrorName,
    Fraction,
    Int,
    Name,
    NonNegInt,
    Positive,
    Price,
    ProtocolName,
    Signed,
    Strict,
    Symbol,
    _amount,
    _err,
    _number,
)
from marginlab.scenario.friction import KeeperGas, KeeperSpec, OracleModel, Pool
from marginlab.scenario.guards import OracleFault, OracleGuards, Sequencer
from marginlab.scenario.sections import (  # noqa: F401
    ACCOUNT_CHECKS,
    CMP_OPS,
    GLOBAL_CHECKS,
    KEEPER_RULES,
    MAX_DT,
    MAX_SIGMA,
    BookSpec,
    Cmp,
    CsvPath,
    Expect,
    GbmPath,
    Keeper,
    Liquidation,
    PathSpec,
)
from marginlab.scenario.strategies import Strategy
from marginlab.scenario.stress import CorrelatedPaths

# --------------------------------------------------------------------------------------------------- markets

class Weights(Strict):
    init: Fraction
    maint: Fraction


def _liab_weight(value: Any) -> Decimal:
    dec = _number(value, "a weight of at least 1")
    if dec < 1:
        raise _err("weights", f"a liability weight must be at least 1, got {plain(dec)}")
    return dec


class LiabWeights(Strict):
    """Liability weights are ≥ 1: debt counts for more than its value."""

    init: Annotated[Decimal, BeforeValidator(_liab_weight)]
    maint: Annotated[Decimal, BeforeValidator(_liab_weight)]

    @model_validator(mode="after")
    def _ordered(self) -> LiabWeights:
        if self.init < self.maint:
            raise _err("weights", f"init ({plain(self.init)}) must be at least maint ({plain(self.maint)})")
        return self


class IrmParams(Strict):
    """Kinked model, per-year rates as fractions: below `kink` utilisation the rate is base + slope1·u/kink."""

    base: Fraction = Decimal("0")
    slope1: Fraction = Decimal("0.04")
    slope2: Annotated[Decimal, BeforeValidator(_amount)] = Decimal("0.75")
    kink: Fraction = Decimal("0.8")

    @model_validator(mode="after")
    def _kink_inside(self) -> IrmParams:
        if not 0 < self.kink < 1:
            raise _err("irm", f"kink must be strictly between 0 and 1, got {plain(self.kink)}")
        return self


def _token_kind(value: Any) -> Any:
    if isinstance(value, str) and value in REFUSED_TOKEN_KINDS:
        raise _err("token", REFUSED_TOKEN_KINDS[value])
    return value


class TokenSpec(Strict):
    """What kind of ERC-20 the replay deploys for a market: a plain one (the default) or one of the hostile test
    tokens of contracts/sim/hostile/. ``fee_bps`` (fee-on-transfer only, required there): the share of every
    transfer between holders that the token burns, in basis points."""

    kind: Annotated[Literal["plain", "fee-on-transfer", "hook", "revert-on-zero", "no-return", "returns-false",
                            "pausable-blocklist"], BeforeValidator(_token_kind)]
    fee_bps: Annotated[Int, Field(ge=0, lt=FEE_BPS_DENOMINATOR)] | None = None

    @model_validator(mode="after")
    def _fee_only_for_fee_tokens(self) -> TokenSpec:
        if self.kind == "fee-on-transfer" and self.fee_bps is None:
            raise _err("token", "fee-on-transfer needs fee_bps: the fee in basis points (0 ≤ fee_bps < 10000)")
        if self.kind != "fee-on-transfer" and self.fee_bps is not None:
            raise _err("token", f"fee_bps applies to kind fee-on-transfer only, not {self.kind}")
        return self

    @property
    def contract(self) -> str:
        return TOKEN_CONTRACTS[self.kind]

    @property
    def constructor_extra(self) -> tuple[int, ...]:
        """Constructor arguments after (name, symbol, decimals)."""
        return (self.fee_bps,) if self.fee_bps is not None else ()

    def __str__(self) -> str:
        return f"{self.kind} ({self.fee_bps} bps)" if self.fee_bps is not None else self.kind


def _token_spec(value: Any) -> Any:
    if isinstance(value, str):
        hint = f"{{kind: {value}, fee_bps: 100}}" if value == "fee-on-transfer" else f"{{kind: {value}}}"
        raise _err("token", f"expected a mapping like {hint}, got the text {quote(value)}")
    return value


class Market(Strict):
    symbol: Symbol
    decimals: Annotated[Int, Field(ge=0, le=MAX_DECIMALS)]
    price: Positive
    asset_weight: Weights
    liab_weight: LiabWeights
    liquidation_bonus: Positive
    protocol_share: Fraction = Decimal("0")
    reserve_factor: Fraction = Decimal("0.1")
    supply_cap: Amount | None = None
    borrow_cap: Amount | None = None
    irm: IrmParams = IrmParams()
    feed_decimals: Annotated[Int, Field(ge=0, le=MAX_DECIMALS)] = DEFAULT_FEED_DECIMALS
    heartbeat: Annotated[Int, Field(gt=0, le=2**32 - 1)] = DEFAULT_HEARTBEAT
    token: Annotated[TokenSpec, BeforeValidator(_token_spec)] = TokenSpec(kind="plain")
    #: the router's price bounds and circuit breaker for this market (off unless set; docs/oracle-guards.md)
    oracle_guards: OracleGuards | None = None

    @field_validator("asset_weight")
    @classmethod
    def _asset_weights_ordered(cls, w: Weights) -> Weights:
        if w.init > w.maint:
            raise _err("weights", f"init ({plain(w.init)}) must not exceed maint ({plain(w.maint)})")
        if w.maint >= 1:
            raise _err("weights", f"maint must be below 1, got {plain(w.maint)}")
        return w

    @field_validator("liquidation_bonus")
    @classmethod
    def _bonus_fits_weight(cls, bonus: Decimal, info: ValidationInfo) -> Decimal:
        if bonus >= 1:
            raise _err("bonus", f"must be below 1 (a fraction of the repaid value), got {plain(bonus)}")
        weights = info.data.get("asset_weight")
        if weights is not None and weights.maint * (1 + bonus) > 1:
            raise _err("bonus", f"asset_weight.maint × (1 + liquidation_bonus) = "
                                f"{plain(weights.maint * (1 + bonus))} must not exceed 1, "
                                f"or a liquidation could leave the account less healthy")
        return bonus


# --------------------------------------------------------------------------------------------------- accounts

class Liquidity(Strict):
    name: Name
    deposits: AmountMap


class Position(Strict):
    deposit: AmountMap = {}
    borrow: AmountMap = {}


class Scale(Strict):
    first: Amount
    last: Amount


class Account(Strict):
    name: Name
    margin: Literal["cross", "isolated"] = "cross"
    positions: Annotated[list[Position], Field(min_length=1, max_length=MAX_SUB_ACCOUNTS)]
    wallet: AmountMap = {}
    count: Annotated[Int, Field(ge=1, le=MAX_GENERATED_ACCOUNTS)] | None = None
    borrow_scale: Scale | None = None

    @model_validator(mode="after")
    def _scale_needs_count(self) -> Account:
        if self.borrow_scale is not None and self.count is None:
            raise _err("scale", "borrow_scale only applies to a template with count")
        return self


# --------------------------------------------------------------------------------------------------- steps



class Transfer(Strict):
    to_position: NonNegInt
    amounts: AmountMap


class Liquidate(Strict):
    account: Name
    position: NonNegInt = 0
    debt: Symbol
    collateral: Symbol
    amount: AmountOrAll
    to_position: NonNegInt = 0


class SubAccount(Strict):
    """Someone's sub-account: ``position`` is an index into that account's positions (see ``margin``)."""

    account: Name
    position: NonNegInt = 0


class Action(Strict):
    """One transaction (one per asset) by ``account``. ``position`` picks the sub-account acted on: the actor's
    own, or ``owner``'s for a deposit or repay made for someone else."""

    account: Name
    owner: Name | None = None
    position: NonNegInt = 0
    deposit: AmountMap | None = None
    withdraw: AmountOrAllMap | None = None
    borrow: AmountMap | None = None
    repay: AmountOrAllMap | None = None
    transfer: Transfer | None = None
    liquidate: Liquidate | None = None
    donate: AmountMap | None = None
    settle_bad_debt: SubAccount | None = None
    expect_revert: ErrorName | None = None
    #: The action may succeed or revert with exactly this error; both are recorded, neither fails the replay.
    #: For boundary cases, e.g. a borrow within a second of interest of the initial-margin limit.
    may_revert: ErrorName | None = None

    @model_validator(mode="after")
    def _one_verb(self) -> Action:
        given = [v for v in VERBS if getattr(self, v) is not None]
        if len(given) != 1:
            shown = ", ".join(given) if given else "none"
            raise _err("verb", f"an action needs exactly one of {', '.join(VERBS)} (got {shown})")
        if self.owner is not None and given[0] not in OWNER_VERBS:
            raise _err("owner", f"owner applies to {' and '.join(OWNER_VERBS)} only (anyone may pay into someone "
                                f"else's sub-account); {given[0]} acts on the actor's own")
        if self.expect_revert is not None and self.may_revert is not None:
            raise _err("may_revert", "give expect_revert (the action must revert) or may_revert (it may), not both")
        return self

    @property
    def verb(self) -> str:
        return next(v for v in VERBS if getattr(self, v) is not None)


#: Who a ``token_admin`` step may block besides the scenario's accounts: the vault itself (a stablecoin issuer
#: blocklisting a protocol) and the keeper's liquidation bot.
TOKEN_ADMIN_TARGETS = ("vault", "keeper")


class TokenAdmin(Strict):
    """A ``pausable-blocklist`` token's issuer acting, USDC-style: pause or unpause every transfer, block or
    unblock addresses from sending and receiving. Names are the scenario's accounts and liquidity providers, or
    ``vault`` / ``keeper`` (TOKEN_ADMIN_TARGETS)."""

    paused: bool | None = None
    block: list[Name] = Field(default_factory=list)
    unblock: list[Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _does_something(self) -> TokenAdmin:
        if self.paused is None and not self.block and not self.unblock:
            raise _err("token_admin", "give at least one of paused: true/false, block: [names], unblock: [names]")
        both = sorted(set(self.block) & set(self.unblock))
        if both:
            raise _err("token_admin", f"{', '.join(both)} is both blocked and unblocked in one step")
        return self


#: What the guardian may pause and the governor unpause.
PAUSE_FLAGS = ("borrow", "withdraw", "liquidate")


class MarketChange(Strict):
    """The governor's new risk parameters for one market: any of a market's own fields (the rest stay)."""

    asset_weight: Weights | None = None
    liab_weight: LiabWeights | None = None
    liquidation_bonus: Positive | None = None
    protocol_share: Fraction | None = None
    reserve_factor: Fraction | None = None
    supply_cap: Amount | None = None
    borrow_cap: Amount | None = None
    #: the router's guards for the market from now on (null: none); replaces the market's whole oracle_guards
    oracle_guards: OracleGuards | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> MarketChange:
        if not self.model_fields_set:
            raise _err("set_params", "name at least one field to change: " + ", ".join(MarketChange.model_fields))
        return self


class Governance(Strict):
    """The protocol's governor and guardian acting in a step, before the step's actions: the guardian pauses,
    the governor unpauses and changes market parameters."""

    set_params: dict[str, MarketChange] | None = None
    pause: list[Literal["borrow", "withdraw", "liquidate"]] | None = None
    unpause: list[Literal["borrow", "withdraw", "liquidate"]] | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Governance:
        if not (self.set_params or self.pause or self.unpause):
            raise _err("governance", "give at least one of set_params, pause, unpause")
        both = sorted(set(self.pause or []) & set(self.unpause or []))
        if both:
            raise _err("governance", f"{', '.join(both)} is both paused and unpaused in one step")
        return self


class Step(Strict):
    label: str | None = None
    advance: NonNegInt | None = None
    #: symbol (or ``sequencer``) → fault; see marginlab.scenario.guards for the words
    oracle: dict[str, OracleFault] | None = None
    prices: dict[str, Price] | None = None
    #: the token's issuer acts before the step's actions (pausable-blocklist markets only)
    token_admin: dict[str, TokenAdmin] | None = None
    #: the protocol's governor and guardian act before the step's actions
    governance: Governance | None = None
    #: pool (``pools:`` pair) → share of the pools' LP liquidity withdrawn this step (0 < share < 1)
    liquidity_crunch: dict[str, Signed] | None = None
    action: Action | None = None
    actions: list[Action] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Step:
        if not any(x is not None for x in (self.advance, self.oracle, self.prices, self.token_admin, self.governance,
                                           self.liquidity_crunch, self.action, self.actions)):
            raise _err("step", "a step needs at least one of advance, oracle, prices, token_admin, governance, "
                               "liquidity_crunch, action, actions")
        if self.action is not None and self.actions is not None:
            raise _err("step", "use either action or actions in one step, not both")
        return self

    @property
    def all_actions(self) -> list[Action]:
        if self.action is not None:
            return [self.action]
        return list(self.actions or [])


# --------------------------------------------------------------------------------------------------- scenario

class Scenario(Strict):
    name: Name
    description: str | None = None
    #: the protocol to replay on (``marginlab``, ``morpho-blue``, ...); ``marginlab replay --protocol`` overrides it
    protocol: ProtocolName | None = None
    seed: Annotated[Int, Field(ge=0, le=2**64 - 1)] = 0
    markets: Annotated[list[Market], Field(min_length=1, max_length=64)]
    liquidity: list[Liquidity] = []
    accounts: list[Account] = []
    steps: list[Step] = []
    paths: dict[str, PathSpec] = {}
    keeper: Keeper = Keeper()
    #: the vault's liquidation policy, its parameters and the dust minimums (marginlab only; defaults: as deployed)
    liquidation: Liquidation = Liquidation()
    expect: list[Expect] = []
    #: several assets moved by one joint model (correlated GBM, jumps, depeg, pinned stress endpoints)
    correlated: CorrelatedPaths | None = None
    #: accounts read from CSV files of positions, or resampled from them; loading turns them into accounts
    #: (marginlab.scenario.books), so a validated scenario's list is empty
    books: list[BookSpec] = []
    #: an L2 sequencer uptime feed guarding every market's price (off unless set; docs/oracle-guards.md)
    sequencer: Sequencer | None = None
    #: behaviours accounts follow (stop-loss, take-profit, top-up, deleverage); off unless written
    strategies: list[Strategy] = []
    #: Uniswap v2 pools per asset pair, moved toward the path by an arbitrageur (off unless set; issue 17)
    pools: list[Pool] = []
    #: how each asset's feed follows the path: exact (default), push or pool-twap (issue 17)
    oracles: dict[str, OracleModel] = {}
    #: keepers with a balance sheet (replace keeper:'s single frictionless keeper when given; issue 17)
    keepers: list[KeeperSpec] = []
    #: gas per keeper operation and the native token's price (defaults: bench/gas.json's Anvil column, WETH)
    keeper_gas: KeeperGas = KeeperGas()

    def market(self, symbol: str) -> Market:
        for m in self.markets:
            if m.symbol == symbol:
                return m
        raise KeyError(symbol)

    @property
    def symbols(self) -> list[str]:
        return [m.symbol for m in self.markets]
