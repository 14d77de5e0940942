"""AMM pools of a replay (scenario ``pools:``, issue 17): real Uniswap v2 pairs from npm ``@uniswap/v2-core`` 1.0.1,
loaded from ``node_modules`` at deploy time (nothing copied into the repository), driven through the simulator's
``SimSwapper`` (contracts/sim): quotes on chain, atomic transfer-then-swap, liquidity withdrawal.

The API other parts use (keepers, trader strategies)::

    pools.quote("WETH/USDC", "WETH", amount_in)        # units of USDC bought, quoted on chain
    pools.quote_in("WETH/USDC", "USDC", amount_out)    # units of USDC to sell to buy amount_out WETH
    pools.swap(signer, "WETH/USDC", "WETH", amount_in, min_out=0)   # the signer holds and sells WETH
    pools.price("WETH/USDC")                            # quote per base, whole tokens (reserves now)

An arbitrageur moves each pool toward the market path after each step's prices (:meth:`Pools.arbitrage`); the
pools' LP withdraws a share on a ``liquidity_crunch`` step (:meth:`Pools.crunch`). Every price a pool had is
sampled on the scenario clock (:meth:`Pools.sample`) for a ``pool-twap`` oracle (:meth:`Pools.twap`).
"""
from __future__ import annotations

import json
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from web3.contract import Contract

from marginlab.chain import Artifacts, Signer
from marginlab.errors import ChainError
from marginlab.numbers import EXACT, from_units, plain, round_significant, to_units, units_floor
from marginlab.protocols.world import World
from marginlab.scenario.friction import Pool
from marginlab.timeline import PoolState

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "node_modules" / "@uniswap" / "v2-core"
PACKAGE_NAME = "@uniswap/v2-core"
LP, ARBITRAGEUR = "pool-lp", "arbitrageur"
FEE_NUM, FEE_DEN = 997, 1000  # Uniswap v2's 0.3 % fee on the amount in
PRICE_DIGITS = 12  # a pool price in the timeline: significant digits


class UniswapArtifacts(Artifacts):
    """The factory and pair as the npm package ships them (``build/<Name>.json``: abi, bytecode)."""

    def __init__(self) -> None:
        if not (PACKAGE_DIR / "build" / "UniswapV2Factory.json").is_file():
            raise ChainError(f"{PACKAGE_NAME} is not installed (node_modules/@uniswap/v2-core missing): run "
                             f"`make setup` (npm ci)")
        super().__init__(build_dir=PACKAGE_DIR / "build")

    def bytecode(self, name: str) -> str:
        code = str(self.load(name)["bytecode"])
        return code if code.startswith("0x") else "0x" + code

    def version(self) -> str:
        return str(json.loads((PACKAGE_DIR / "package.json").read_text())["version"])


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap v2's getAmountOut (what SimSwapper.quote computes on chain)."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return 0
    with_fee = amount_in * FEE_NUM
    return with_fee * reserve_out // (reserve_in * FEE_DEN + with_fee)


def twap(series: list[tuple[int, Decimal]], now: int, window: int) -> Decimal:
    """The time-weighted average of a price sampled at ``series`` (strictly increasing times; each sample holds
    until the next, the first also before it) over [now − window, now]; window > 0."""
    assert series and window > 0, "a TWAP needs a sample and a window"
    start = now - window
    total = Decimal(0)
    with localcontext(EXACT):
        for i, (t, price) in enumerate(series):
            until = min(series[i + 1][0], now) if i + 1 < len(series) else now
            begin = start if i == 0 else max(t, start)
            if until > begin:
                total += price * (until - begin)
        return total / window


class Pools:
    def __init__(self, world: World, specs: tuple[Pool, ...]) -> None:
        self.world = world
        self.chain = world.chain
        self.specs = {p.pair: p for p in specs}
        self.pairs: dict[str, Contract] = {}
        self.base_is_token0: dict[str, bool] = {}
        self.swapper: Contract | None = None
        #: pair → [(scenario time, price quote per base)], strictly increasing times (a later sample at the same
        #: time replaces the earlier: the price in force from then on)
        self.samples: dict[str, list[tuple[int, Decimal]]] = {p: [] for p in self.specs}

    # ------------------------------------------------------------------------------------------------ set-up
    def deploy(self, artifacts: Artifacts) -> None:
        """The Uniswap v2 factory, one pair per pool, and the swapper."""
        world, chain = self.world, self.chain
        deployer = world.deployer
        uni = UniswapArtifacts()
        factory = chain.deploy(deployer, uni, "UniswapV2Factory", deployer.address)
        world.label(factory.address, "uniswap-v2-factory")
        self.swapper = chain.deploy(deployer, artifacts, "SimSwapper")
        world.name(self.swapper.address, "swapper")
        pair_abi = uni.abi("UniswapV2Pair")
        for name, spec in self.specs.items():
            base, quote = world.tokens[spec.base].address, world.tokens[spec.quote].address
            chain.transact(deployer, factory, "createPair", base, quote)
            address = chain.call(factory, "getPair", base, quote)
            self.pairs[name] = chain.contract(address, pair_abi)
            self.base_is_token0[name] = int(base, 16) < int(quote, 16)
            world.name(address, f"pool {name}")
        for who in (LP, ARBITRAGEUR):
            world.name(self.signer(who).address, who)

    def signer(self, who: str) -> Signer:
        return self.chain.signer("system", who)

    def seed(self, prices: dict[str, Decimal]) -> None:
        """Each pair's reserves (given, or ``depth_usd`` of each side at ``prices``) minted into it and the LP
        tokens minted to the pools' LP, who lets the swapper withdraw them (``liquidity_crunch``)."""
        world = self.world
        lp = self.signer(LP)
        mints: list[tuple[str, str, int]] = []
        for name, spec in self.specs.items():
            address = self.pairs[name].address
            for sym in (spec.base, spec.quote):
                decimals = world.markets[sym].decimals
                if spec.reserves is not None:
                    units = to_units(spec.reserves[sym], decimals)
                else:
                    assert spec.depth_usd is not None
                    with localcontext(EXACT):
                        units = units_floor(spec.depth_usd / prices[sym], decimals)
                if units <= 1000 or units >= 2**112:
                    raise ChainError(f"pools: {name}: {plain(from_units(units, decimals))} {sym} does not fit a "
                                     f"Uniswap v2 reserve (more than 1000 units, below 2^112)")
                mints.append((sym, address, units))
        world.mint(mints)
        for name in self.specs:
            self.chain.transact(lp, self.pairs[name], "mint", lp.address)
            self.chain.transact(lp, self.pairs[name], "approve", self._swapper.address, 2**256 - 1)

    @property
    def _swapper(self) -> Contract:
        assert self.swapper is not None, "deploy the pools first"
        return self.swapper

    @property
    def swapper_contract(self) -> Contract:
        """SimSwapper: a contract trader (a keeper's liquidation contract) approves it and calls ``swap``."""
        return self._swapper

    # ------------------------------------------------------------------------------------------------ reads
    def reserves(self, pair: str) -> tuple[int, int]:
        """(base, quote) reserves in token units, now."""
        r0, r1, _ = self.chain.call(self.pairs[pair], "getReserves")
        return (int(r0), int(r1)) if self.base_is_token0[pair] else (int(r1), int(r0))

    def price(self, pair: str, reserves: tuple[int, int] | None = None) -> Decimal:
        """Quote per base in whole tokens (the marginal price before the fee)."""
        spec = self.specs[pair]
        base, quote = reserves or self.reserves(pair)
        with localcontext(EXACT):
            return from_units(quote, self.world.markets[spec.quote].decimals) / \
                from_units(base, self.world.markets[spec.base].decimals)

    def quote(self, pair: str, sym_in: str, amount_in: int) -> int:
        """Units of the other token ``amount_in`` of ``sym_in`` buys now (on chain: SimSwapper.quote)."""
        return int(self.chain.call(self._swapper, "quote", self.pairs[pair].address,
                                   self.world.tokens[sym_in].address, amount_in))

    def quote_in(self, pair: str, sym_in: str, amount_out: int) -> int:
        """Units of ``sym_in`` to sell for ``amount_out`` of the other token (uint256 max: the pool cannot pay)."""
        return int(self.chain.call(self._swapper, "quoteIn", self.pairs[pair].address,
                                   self.world.tokens[sym_in].address, amount_out))

    def swap(self, signer: Signer, pair: str, sym_in: str, amount_in: int, min_out: int = 0,
             to: str | None = None) -> dict[str, Any]:
        """Sell ``amount_in`` of ``sym_in`` that ``signer`` holds into ``pair`` (the swapper pulls it: approved
        here once); what it buys goes to ``to`` (default the signer). Returns the receipt; a revert raises."""
        self.world.approve(signer, sym_in, self._swapper.address)
        return self.chain.transact(signer, self._swapper, "swap", self.pairs[pair].address,
                                   self.world.tokens[sym_in].address, amount_in, min_out, to or signer.address)

    # ------------------------------------------------------------------------------------------------ agents
    def crunch(self, pair: str, share: Decimal) -> None:
        """The pools' LP withdraws ``share`` of its LP tokens of ``pair``."""
        lp = self.signer(LP)
        held = int(self.chain.call(self.pairs[pair], "balanceOf", lp.address))
        with localcontext(EXACT):
            liquidity = int((Decimal(held) * share).to_integral_value(rounding="ROUND_DOWN"))
        if liquidity > 0:
            self.chain.transact(lp, self._swapper, "withdraw", self.pairs[pair].address, liquidity)

    def arbitrage(self, market: dict[str, Decimal]) -> None:
        """Move each pool's price p toward the path's P to p·(P/p)^rate by one swap sized on the constant product
        (the 0.3 % fee taken off the amount in); the arbitrageur's tokens are minted as it needs them."""
        arb = self.signer(ARBITRAGEUR)
        for pair, spec in self.specs.items():
            if spec.arbitrage == 0:
                continue
            trade = self._arb_trade(pair, spec, market)
            if trade is None:
                continue
            sym_in, amount_in = trade
            self.world.fund(arb, sym_in, amount_in, self._swapper.address)
            self.swap(arb, pair, sym_in, amount_in)

    def _arb_trade(self, pair: str, spec: Pool, market: dict[str, Decimal]) -> tuple[str, int] | None:
        x, y = self.reserves(pair)
        with localcontext(EXACT) as ctx:
            ctx.prec = 60
            p = Decimal(y) / Decimal(x)  # quote units per base unit
            target = (market[spec.base] / market[spec.quote]).scaleb(
                self.world.markets[spec.quote].decimals - self.world.markets[spec.base].decimals)
            new = p * (target / p) ** spec.arbitrage if spec.arbitrage != 1 else target
            k = Decimal(x) * Decimal(y)
            if new < p:
                sym_in, reserve_in, reserve_out, after = spec.base, x, y, (k / new).sqrt()
            else:
                sym_in, reserve_in, reserve_out, after = spec.quote, y, x, (k * new).sqrt()
            amount_in = int(((after - reserve_in) * FEE_DEN / FEE_NUM).to_integral_value(rounding="ROUND_DOWN"))
        if amount_in <= 0 or amount_out(amount_in, reserve_in, reserve_out) == 0:
            return None
        return sym_in, amount_in

    # ------------------------------------------------------------------------------------------------ time
    def sample(self, now: int) -> None:
        """Record every pool's price at scenario time ``now`` (the price in force from then on)."""
        for pair, series in self.samples.items():
            price = self.price(pair)
            if series and series[-1][0] == now:
                series[-1] = (now, price)
            else:
                series.append((now, price))

    def twap(self, pair: str, now: int, window: int) -> Decimal:
        """``pair``'s time-weighted average price over the last ``window`` scenario seconds (:func:`twap`)."""
        return twap(self.samples[pair], now, window)

    def states(self) -> dict[str, PoolState]:
        """Each pool's reserves and price now, for the step's record."""
        out = {}
        for pair, spec in self.specs.items():
            base, quote = self.reserves(pair)
            out[pair] = PoolState(spec.base, spec.quote, base, quote,
                                  plain(round_significant(self.price(pair, (base, quote)), PRICE_DIGITS)))
        return out


__all__ = ["ARBITRAGEUR", "LP", "Pools", "UniswapArtifacts", "amount_out", "twap"]
