"""Deploy helpers for the contract-level tests: incident replays, hostile tokens and the stateful machines.

Plain functions (no fixtures), so tests/integration and tests/stateful share one copy. Prices are given in
USD as strings or ints and converted once, here, to the feed's decimals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from brownie import project

WAD = 10**18
YEAR = 365 * 86400
DAY = 86400
#: Feeds in tests that move time use a heartbeat long enough never to go stale unless a test wants it.
LONG_HEARTBEAT = 10 * YEAR

DEFAULT_PARAMS = dict(
    assetWeightInit=80 * WAD // 100,
    assetWeightMaint=85 * WAD // 100,
    liabWeightInit=WAD,
    liabWeightMaint=WAD,
    liquidationBonus=5 * WAD // 100,
    protocolShare=10 * WAD // 100,
    reserveFactor=10 * WAD // 100,
    supplyCap=0,
    borrowCap=0,
)
PARAM_ORDER = (
    "assetWeightInit",
    "assetWeightMaint",
    "liabWeightInit",
    "liabWeightMaint",
    "liquidationBonus",
    "protocolShare",
    "reserveFactor",
    "supplyCap",
    "borrowCap",
    "irm",
)


def build() -> Any:
    """The loaded brownie project (its contract containers)."""
    return project.get_loaded_projects()[0]


def err(name: str) -> str:
    """`brownie.reverts(revert_pattern=err("AccountUnhealthy"))`: a custom error with any arguments."""
    return rf"{name}(:.*)?"


def feed_answer(price_usd: Any, feed_decimals: int) -> int:
    return int(Decimal(str(price_usd)) * 10**feed_decimals)


def params(irm: Any, **overrides: Any) -> tuple:
    p = {**DEFAULT_PARAMS, **overrides, "irm": irm}
    return tuple(p[k] for k in PARAM_ORDER)


@dataclass
class Market:
    symbol: str
    token: Any
    feed: Any
    decimals: int
    feed_decimals: int

    def unit(self, amount: Any) -> int:
        """Whole tokens (str/int/Decimal) to token units, exactly."""
        return int(Decimal(str(amount)) * 10**self.decimals)


@dataclass
class Protocol:
    vault: Any
    router: Any
    lens: Any
    irm: Any
    gov: Any
    markets: dict[str, Market] = field(default_factory=dict)

    def __getitem__(self, symbol: str) -> Market:
        return self.markets[symbol]

    def add_market(
        self,
        symbol: str,
        token: Any,
        price_usd: Any,
        feed_decimals: int = 8,
        heartbeat: int = LONG_HEARTBEAT,
        **overrides: Any,
    ) -> Market:
        """Price `token` with a new settable feed and list it with DEFAULT_PARAMS + `overrides`."""
        feed = build().SettableAggregator.deploy(feed_decimals, feed_answer(price_usd, feed_decimals), {"from": self.gov})
        self.router.setFeed(token, feed, heartbeat, {"from": self.gov})
        self.vault.listMarket(token, params(self.irm, **overrides), {"from": self.gov})
        market = Market(symbol, token, feed, token.decimals(), feed_decimals)
        self.markets[symbol] = market
        return market

    def set_price(self, symbol: str, price_usd: Any) -> None:
        m = self.markets[symbol]
        m.feed.setAnswer(feed_answer(price_usd, m.feed_decimals), {"from": self.gov})

    def fund(self, symbol: str, who: Any, amount: int) -> None:
        """Mint `amount` units to `who` and approve the vault for everything it holds."""
        m = self.markets[symbol]
        m.token.mint(who, amount, {"from": self.gov})
        m.token.approve(self.vault, 2**256 - 1, {"from": who})


def deploy_vault(p: Any, gov: Any, guardian: Any, router: Any, sender: Any = None) -> Any:
    """Its two modules (built with ``router``), then the vault, which checks them; all sent by ``sender`` (gov)."""
    tx = {"from": sender or gov}
    liquidation = p.VaultLiquidation.deploy(router, tx)
    governance = p.VaultGovernance.deploy(router, tx)
    return p.Vault.deploy(gov, guardian, router, liquidation, governance, tx)


def deploy_protocol(gov: Any, guardian: Any, irm_rates: tuple = (0, 4 * WAD // 100, 300 * WAD // 100, 80 * WAD // 100)) -> Protocol:
    """Router, vault, lens and one kinked rate model (default 0 % base, 4 %/yr to the 80 % kink, +300 %/yr)."""
    p = build()
    router = p.OracleRouter.deploy(gov, {"from": gov})
    vault = deploy_vault(p, gov, guardian, router)
    lens = p.VaultLens.deploy({"from": gov})
    irm = p.InterestRateModel.deploy(*irm_rates, {"from": gov})
    return Protocol(vault, router, lens, irm, gov)


def sim_token(gov: Any, symbol: str, decimals: int) -> Any:
    return build().SimToken.deploy(symbol, symbol, decimals, {"from": gov})


# ------------------------------------------------------------------ books (I1, I2, I3, I5, I21 lock)
BOOK_FIELDS = (
    "token",
    "sumPositiveScale",
    "sumNegativeScale",
    "totalDepositScale",
    "totalBorrowScale",
    "vaultBalance",
    "totalDeposits",
    "totalBorrows",
    "reserves",
    "depositIndex",
    "borrowIndex",
    "accounts",
    "accountsWithDebt",
)


@dataclass(frozen=True)
class Books:
    token: str
    sumPositiveScale: int
    sumNegativeScale: int
    totalDepositScale: int
    totalBorrowScale: int
    vaultBalance: int
    totalDeposits: int
    totalBorrows: int
    reserves: int
    depositIndex: int
    borrowIndex: int
    accounts: int
    accountsWithDebt: int
    deficit: int


def read_books(p: Protocol, owners: list, sub_ids: list) -> dict[str, Books]:
    """One VaultLens call: every market's books over the given sub-accounts, keyed by token address."""
    raw = p.lens.invariants(p.vault, owners, sub_ids)
    return {str(r[0]): Books(*[str(r[0])] + [int(x) for x in r[1:]]) for r in raw}


def check_books(p: Protocol, owners: list, sub_ids: list, *, complete: bool = True,
                books: dict[str, Books] | None = None) -> dict[str, Books]:
    """Assert the book invariants on every market; `complete` says the sub-accounts listed are all there are
    (then the sums must match the totals exactly, I1, and the debt count the borrow scale, I5). `books`: the
    lens result already read (the stateful machines read it with a raw eth_call)."""
    if books is None:
        books = read_books(p, owners, sub_ids)
    for b in books.values():
        if complete:
            assert b.sumPositiveScale == b.totalDepositScale, f"I1 deposit scale {b}"
            assert b.sumNegativeScale == b.totalBorrowScale, f"I1 borrow scale {b}"
            assert (b.totalBorrowScale == 0) == (b.accountsWithDebt == 0), f"I5 debt {b}"
        # I2: the vault holds at least what depositors and reserves are owed beyond what is lent out, but for the
        # recorded deficit (I24: a loss no depositor could bear, owed until reserves or a payment cover it).
        assert b.vaultBalance + b.totalBorrows + b.deficit >= b.totalDeposits + b.reserves, f"I2 cash {b}"
        # I3 as the vault enforces it: lending never exceeds deposits plus reserves (accrual at 100 %
        # utilisation pushes borrows above deposits by the reserve cut, which the reserves hold).
        assert b.totalBorrows <= b.totalDeposits + b.reserves + 1, f"I3 borrows {b}"
        assert (b.totalDepositScale == 0) == (b.totalDeposits == 0) or b.depositIndex < WAD, f"I5 deposits {b}"
    assert not p.vault.reentrancyLocked(), "I21 the reentrancy lock is held between transactions"
    return books
