"""What a replay recorded: plain dataclasses (their JSON form is :mod:`marginlab.timeline.codec`).

Token amounts are integers in token units; USD values, health and rates are WAD integers (1e18 = 1).
The JSON writes every such integer as a string (JavaScript readers lose precision past 2^53); counts and
indexes stay numbers. No wall-clock time, path, duration or address goes in: the same scenario and seed give
the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Callable

from marginlab.numbers import EXACT

TIMELINE_VERSION = 1
@dataclass
class MarketInfo:
    symbol: str
    decimals: int
    feed_decimals: int
    price: str
    asset_weight_init: str
    asset_weight_maint: str
    liab_weight_init: str
    liab_weight_maint: str
    liquidation_bonus: str
    protocol_share: str
    reserve_factor: str
    # The market's token when it is not a plain ERC-20 ("fee-on-transfer (100 bps)", "no-return", ...). Left out
    # of the JSON when plain, so timelines of plain-token scenarios keep their bytes.
    token: str | None = None


@dataclass
class SubAccountRef:
    key: str  # "alice/0"
    owner: str
    sub_id: int
    margin: str
    positions: list[int]


@dataclass
class SubAccountState:
    balances: dict[str, int]
    health_init: int
    health_maint: int
    health_factor: int | None  # None: no debt (the vault's type(uint256).max)
    collateral_value: int
    debt_value: int


@dataclass
class MarketState:
    total_deposits: int
    total_borrows: int
    reserves: int
    deposit_index: int
    borrow_index: int
    utilisation: int
    borrow_rate: int  # per year, WAD
    supply_rate: int  # per year, WAD


@dataclass
class PairState:
    """One market of a protocol whose markets are asset pairs (Morpho Blue): totals in the loan asset's units,
    utilisation and the borrow rate per year (WAD), the LLTV, the fee and the oracle's price (1e36 scale)."""

    collateral: str
    loan: str
    lltv: int
    total_supply_assets: int
    total_supply_shares: int
    total_borrow_assets: int
    total_borrow_shares: int
    utilisation: int
    borrow_rate: int
    fee: int
    price: int | None  # None: the oracle reverted


@dataclass
class ActionRecord:
    step: int
    account: str
    call: str
    ok: bool
    source: str
    revert: str | None = None
    expected_revert: str | None = None
    may_revert: str | None = None
    #: the custom error's name when the call reverted (``StalePrice``), so no reader splits ``revert`` again
    error_name: str | None = None
    #: the line of the scenario file the action was written on (none for the keeper's own orders)
    line: int | None = None


@dataclass
class Liquidation:
    step: int
    liquidator: str
    account: str
    sub_id: int
    debt: str
    collateral: str
    repaid: int
    seized: int
    to_liquidator: int
    protocol_cut: int
    repaid_value: int
    seized_value: int
    health_factor_before: int | None
    health_factor_after: int | None
    #: an absorption (liquidation policy ``absorb``): the protocol took over the whole account, each collateral's
    #: amount here; ``debt`` and ``collateral`` name every asset ("USDC+WETH"), the token amounts are 0, and
    #: ``repaid_value`` / ``seized_value`` are the debt written off and the collateral taken (USD, as the vault
    #: valued them). It counts as one liquidation of the account.
    absorbed: dict[str, int] | None = None


@dataclass
class Purchase:
    """Absorbed collateral bought from the protocol (``buyCollateral``): ``paid`` of ``pay`` for ``bought`` of
    ``collateral``, at ``incentive`` (WAD) below the oracle price; USD values at the step's prices."""

    step: int
    buyer: str
    collateral: str
    pay: str
    paid: int
    bought: int
    incentive: int
    paid_value: int
    bought_value: int


@dataclass
class BadDebt:
    step: int
    account: str
    sub_id: int
    asset: str
    debt: int
    covered_by_reserves: int
    socialised: int
    value: int
    #: debt left on an account without collateral that nobody has absorbed (Aave 3.0.x keeps it as debt)
    left_as_debt: int | None = None
    #: written off by an absorption: the protocol took the account's collateral for it
    in_absorb: bool = False
    #: the part recorded as the market's deficit (no depositor left to bear it, I24); written only when non-zero
    deficit: int | None = None


@dataclass
class PositionLegs:
    """One position as the scenario wrote it: whose, which, the sub-account it sits in, and its legs in token
    units (positive: deposited, negative: borrowed). In cross margin the vault nets the legs of every position in
    one balance per asset; these keep them apart."""

    owner: str
    position: int
    sub_id: int
    legs: dict[str, int]


@dataclass
class LegMove:
    """A scenario action on one position's leg: ``change`` token units (deposit and repay +, withdraw and borrow
    −); ``closes``: an ``all`` amount, the leg goes to zero. It happened when every action record with this
    ``source`` in this ``step`` is ok."""

    step: int
    source: str
    owner: str
    position: int
    asset: str
    change: int
    closes: bool = False


@dataclass
class PositionBook:
    """Every account's positions at opening and the actions that moved their legs (``replay --attribution``)."""

    positions: list[PositionLegs]
    moves: list[LegMove] = field(default_factory=list)


@dataclass
class Skipped:
    """A liquidation a keeper with a balance sheet (``keepers:``) chose not to take, and why."""

    step: int
    keeper: str
    account: str
    debt: str
    collateral: str
    reason: str


@dataclass
class KeeperResult:
    """One ``keepers:`` keeper over the replay, USD at the market path when each trade was made: what it repaid,
    what selling the seizure into the pools brought, the gas it paid (gas table × its bid), and the difference."""

    name: str
    liquidations: int
    failed: int
    skipped: int
    repaid_usd: str
    proceeds_usd: str
    gas_usd: str
    pnl_usd: str


@dataclass
class PoolState:
    """A Uniswap v2 pool after a step (scenario ``pools:``): reserves in token units, price quote per base."""

    base: str
    quote: str
    reserve_base: int
    reserve_quote: int
    price: str


@dataclass
class StepRecord:
    index: int
    source: str
    label: str | None
    time: int  # seconds since the replay started
    prices: dict[str, str]
    oracle: dict[str, str]
    accounts: dict[str, SubAccountState]
    markets: dict[str, MarketState]
    actions: list[ActionRecord] = field(default_factory=list)
    note: str | None = None  # why the accounts could not be valued this step (a faulted feed), if so
    tokens: dict[str, str] | None = None  # pausable-blocklist tokens' state once a token_admin step acted
    pairs: dict[str, PairState] | None = None  # per pair market, on protocols whose markets are pairs
    #: friction (issue 17), only when the scenario has pools or a non-exact oracle: each pool's state, and the
    #: price each feed posts (``prices`` stays the market path)
    pools: dict[str, PoolState] | None = None
    oracle_prices: dict[str, str] | None = None


@dataclass
class ExpectResult:
    index: int
    line: int
    description: str
    actual: str
    passed: bool
    #: the expectation does not apply to this run (its margin: or protocol: names another): never counted passed
    skipped: bool = False

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped


@dataclass
class StrategyAct:
    """One call a strategy sent (``strategies:``): which strategy (``stop_loss[0]``), the verb, whether it went
    through, what it pays in from the wallet (token units; uint256 max: all the debt) and the USD value of that at
    the step's prices (WAD; 0 for "all" and for calls that pay nothing in)."""

    step: int
    account: str
    strategy: str
    verb: str
    ok: bool
    amounts: dict[str, int]
    value: int
    #: the custom error's name when the call reverted
    error_name: str | None = None


@dataclass
class Timeline:
    scenario: str
    seed: int
    mode: str
    markets: list[MarketInfo]
    sub_accounts: list[SubAccountRef]
    setup: StepRecord | None = None
    steps: list[StepRecord] = field(default_factory=list)
    liquidations: list[Liquidation] = field(default_factory=list)
    bad_debts: list[BadDebt] = field(default_factory=list)
    status: str = "running"  # complete | chain-died | reverted | running
    error: str | None = None
    expectations: list[ExpectResult] = field(default_factory=list)
    version: int = TIMELINE_VERSION
    #: what produced it, apart from the chain (which goes to run.json: timelines are the same on every chain):
    #: protocol, its package and licence, compiler versions, and the mapping decisions that are not exact
    provenance: dict[str, str] | None = None
    #: each position's own legs and the actions on them, written only with ``replay --attribution``
    legs: PositionBook | None = None
    #: absorbed collateral bought back (liquidation policy ``absorb``); None when nothing was
    purchases: list[Purchase] | None = None
    #: the liquidation policy and parameters when not the vault's default (``dutch (max_discount 0.1)``)
    liquidation_policy: str | None = None
    #: the keeper's rule when not the default most-value
    keeper_rule: str | None = None
    #: the calls the accounts' strategies sent; None for a scenario without ``strategies:``
    strategy_acts: list[StrategyAct] | None = None
    #: keepers with a balance sheet (``keepers:``): liquidations they skipped and why, and each one's result
    skipped_liquidations: list[Skipped] | None = None
    keepers: list[KeeperResult] | None = None
    #: pool pair → the relative move of its price caused by the keepers' sales of what they seized
    pool_impact: dict[str, str] | None = None

    @property
    def records(self) -> list[StepRecord]:
        """Setup snapshot (if any) followed by every step."""
        return ([self.setup] if self.setup is not None else []) + self.steps

    def market(self, symbol: str) -> MarketInfo:
        return next(m for m in self.markets if m.symbol == symbol)

    def decimals(self) -> dict[str, int]:
        return {m.symbol: m.decimals for m in self.markets}

    def to_frame(self, exact: bool = False) -> Any:
        """A pandas DataFrame for notebooks: one row per (record, sub-account), the set-up record first (step -1),
        as timeline.csv. Prices, balances (in tokens, not units), health and USD values are floats, health factor
        ``inf`` without debt; ``exact=True`` gives :class:`~decimal.Decimal` values instead (the timeline's exact
        numbers; ``None`` for an infinite health factor). Amounts in the timeline itself stay integers."""
        import pandas as pd

        symbols = [m.symbol for m in self.markets]
        subs = {s.key: s for s in self.sub_accounts}
        number: Callable[[Decimal], Any] = (lambda d: d) if exact else float
        rows = []
        with localcontext(EXACT):
            for r in self.records:
                rows += self._frame_rows(r, symbols, subs, number, exact)
        return pd.DataFrame(rows)

    def _frame_rows(self, r: StepRecord, symbols: list[str], subs: dict[str, SubAccountRef],
                    number: Callable[[Decimal], Any], exact: bool) -> list[dict[str, Any]]:
        decimals = self.decimals()
        prices = {s: Decimal(r.prices[s]) for s in symbols}
        rows = []
        for key, state in r.accounts.items():
            sub = subs[key]
            tokens = {s: Decimal(state.balances.get(s, 0)).scaleb(-decimals[s]) for s in symbols}
            hf = None if state.health_factor is None else Decimal(state.health_factor).scaleb(-18)
            row: dict[str, Any] = {"step": r.index, "source": r.source, "label": r.label, "time": r.time,
                                   "sub_account": key, "owner": sub.owner, "sub_id": sub.sub_id, "margin": sub.margin}
            row.update({f"price_{s}": number(prices[s]) for s in symbols})
            row.update({f"balance_{s}": number(tokens[s]) for s in symbols})
            row["health_init"] = number(Decimal(state.health_init).scaleb(-18))
            row["health_maint"] = number(Decimal(state.health_maint).scaleb(-18))
            row["health_factor"] = hf if exact else (float("inf") if hf is None else float(hf))
            row["collateral_usd"] = number(Decimal(state.collateral_value).scaleb(-18))
            row["debt_usd"] = number(Decimal(state.debt_value).scaleb(-18))
            row["equity_usd"] = number(sum((tokens[s] * prices[s] for s in symbols), Decimal(0)))
            rows.append(row)
        return rows
