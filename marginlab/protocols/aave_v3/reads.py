"""Reading Aave v3: one ``AaveReader.snapshot`` call returns every reserve (indexes as of now, totals, cash, the
treasury's share, rates, the AaveOracle price or its revert) and every asked address's ``getUserAccountData``,
collateral/borrowing bitmap and per-reserve supply and variable debt.

Health on Aave, from ``getUserAccountData`` as the pool computes it (GenericLogic.calculateUserAccountData; base
currency USD with 8 decimals, carried to WAD by ×1e10):

- ``health_factor`` = Aave's health factor (None without debt: the pool's ``type(uint256).max``);
- ``health_maint`` = totalCollateral·avgLiquidationThreshold (percentMul) − totalDebt, so that it is negative
  exactly when the health factor is below 1 (for debts below 2e10 USD);
- ``health_init`` = totalCollateral·avgLtv (percentMul) − totalDebt: what may still be borrowed;
- ``collateral_value`` and ``debt_value``: Aave's totals (collateral enabled as such, all debt) — not netted;
- ``balances``: per asset, the supply less the debt (Aave keeps both; the timeline has one signed balance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marginlab.chain import Chain
from marginlab.model.vault import utilization
from marginlab.protocols.aave_v3.deploy import Deployment
from marginlab.protocols.world import World
from marginlab.timeline import MarketState, SubAccountState

RAY_TO_WAD = 10**9
BASE_TO_WAD = 10**10
PERCENTAGE_FACTOR = 10_000
UINT256_MAX = 2**256 - 1


def percent_mul(value: int, percentage: int) -> int:
    """PercentageMath.percentMul: rounds half up."""
    return (value * percentage + PERCENTAGE_FACTOR // 2) // PERCENTAGE_FACTOR


def ray_mul(a: int, b: int) -> int:
    return (a * b + 10**27 // 2) // 10**27


@dataclass(frozen=True)
class ReserveNow:
    symbol: str
    liquidity_index: int
    variable_borrow_index: int
    a_token_supply: int
    variable_debt_supply: int
    cash: int
    treasury_a_tokens: int
    accrued_to_treasury: int
    liquidity_rate: int
    variable_borrow_rate: int
    configuration: int
    price: int | None
    price_revert: bytes


@dataclass(frozen=True)
class UserNow:
    """An address's account data (None when ``getUserAccountData`` reverted), bitmap, supplies and debts."""

    account: tuple[int, int, int, int, int, int] | None
    account_revert: bytes
    config: int
    supplied: dict[str, int]
    borrowed: dict[str, int]

    def collateral_enabled(self, reserve_id: int) -> bool:
        return (self.config >> (2 * reserve_id + 1)) & 1 == 1


@dataclass
class Snapshot:
    timestamp: int
    reserves: dict[str, ReserveNow]
    users: list[UserNow]


class AaveReads:
    def __init__(self, world: World, dep: Deployment) -> None:
        self.world = world
        self.chain: Chain = world.chain
        self.dep = dep
        self.symbols = list(world.markets)
        self._tokens = [a for s in self.symbols for a in (world.tokens[s].address, dep.tokens[s][0].address,
                                                           dep.tokens[s][1].address)]
        self._seen: tuple[tuple[int, int], Snapshot] | None = None

    def _args(self, users: list[str]) -> tuple[Any, ...]:
        return (self.dep.pool.address, self.dep.oracle.address, self.dep.treasury, self._tokens, users)

    def snapshot(self, users: list[str], block: int | None = None) -> Snapshot:
        """Every reserve and the asked addresses, in one call (at ``block``: as of the end of that block)."""
        if block is None:
            raw = self.chain.call_fast(self.dep.reader, "snapshot", *self._args(users))
        else:
            fn = self.dep.reader.functions.snapshot(*self._args(users))
            raw = self.chain.rpc(lambda: fn.call(block_identifier=block))
        snap = self._decode(raw)
        if block is None:
            self._seen = ((self.chain.tx_count, self.chain.last_block), snap)
        return snap

    def latest(self) -> Snapshot:
        if self._seen is None or self._seen[0] != (self.chain.tx_count, self.chain.last_block):
            return self.snapshot([])
        return self._seen[1]

    def _decode(self, raw: Any) -> Snapshot:
        ts, reserves, users = raw
        out = {}
        for sym, r in zip(self.symbols, reserves, strict=True):
            n = [int(x) for x in r[:10]]
            out[sym] = ReserveNow(sym, n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9],
                                  int(r[11]) if r[10] else None, b"" if r[10] else bytes(r[12]))
        states = []
        for u in users:
            ok, account, revert, config, supplied, borrowed = u
            states.append(UserNow(tuple(int(x) for x in account) if ok else None,  # type: ignore[arg-type]
                                  b"" if ok else bytes(revert), int(config),
                                  {s: int(v) for s, v in zip(self.symbols, supplied, strict=True)},
                                  {s: int(v) for s, v in zip(self.symbols, borrowed, strict=True)}))
        return Snapshot(int(ts), out, states)

    # ------------------------------------------------------------------------------------------------ values
    def state(self, user: UserNow) -> SubAccountState:
        assert user.account is not None
        collateral, debt, _available, threshold, ltv, hf = user.account
        balances = {s: user.supplied[s] - user.borrowed[s] for s in self.symbols
                    if user.supplied[s] - user.borrowed[s] != 0}
        return SubAccountState(balances, (percent_mul(collateral, ltv) - debt) * BASE_TO_WAD,
                               (percent_mul(collateral, threshold) - debt) * BASE_TO_WAD,
                               None if debt == 0 or hf == UINT256_MAX else hf, collateral * BASE_TO_WAD,
                               debt * BASE_TO_WAD)

    def market_states(self, snap: Snapshot) -> dict[str, MarketState]:
        """Per reserve: aToken and variable-debt supplies, the treasury's claim (its aTokens and what accrued to it
        but is not minted yet) as reserves, both indexes and both rates carried from ray to WAD, and Aave's
        utilisation, debt / (cash + debt)."""
        out = {}
        for sym, r in snap.reserves.items():
            reserves = r.treasury_a_tokens + ray_mul(r.accrued_to_treasury, r.liquidity_index)
            out[sym] = MarketState(r.a_token_supply, r.variable_debt_supply, reserves,
                                   r.liquidity_index // RAY_TO_WAD, r.variable_borrow_index // RAY_TO_WAD,
                                   utilization(r.variable_debt_supply, r.cash + r.variable_debt_supply),
                                   r.variable_borrow_rate // RAY_TO_WAD, r.liquidity_rate // RAY_TO_WAD)
        return out
