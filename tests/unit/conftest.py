"""Deploy fixtures and chain-to-model bridges for the unit tests.

One protocol per test module (module-scoped deploy; the root conftest reverts the chain after every test):
WETH (18 decimals, feed 8 decimals), WBTC (8 decimals, feed 8 decimals, volatile-debt weights) and USDC
(6 decimals, feed 18 decimals), so health and liquidation asserts mix 6/8/18-decimal assets.

To make exact asserts both meaningful and deterministic, the fixture first lets a year of interest accrue
(so every deposit and borrow index is well away from 1e18 and rounding shows), then switches every market to
a zero-rate model: indexes are frozen, and the model can be fed the state read before a transaction.
Interest tests switch a market back to a non-zero model themselves (`set_params(..., irm=proto.irm)`).
"""
from __future__ import annotations

import pytest
from brownie import chain

import chainkit
from unitkit import LP_LIQUIDITY, MARKETS, WAD, WARM_UP, YEAR, open_position, set_params


@pytest.fixture(scope="module")
def proto(module_isolation, gov, guardian, lp, alice, bob, carol, liquidator):
    # Depends on module_isolation so its chain reset runs before, not after, this deployment.
    p = chainkit.deploy_protocol(gov, guardian)
    p.zero_irm = chainkit.build().InterestRateModel.deploy(0, 0, 0, 80 * WAD // 100, {"from": gov})
    for symbol, decimals, price, feed_decimals, overrides in MARKETS:
        token = chainkit.sim_token(gov, symbol, decimals)
        p.add_market(symbol, token, price, feed_decimals=feed_decimals, **overrides)
        for who in (lp, alice, bob, carol, liquidator):
            p.fund(symbol, who, p[symbol].unit(100_000_000))
        p.vault.deposit(lp, 0, token, p[symbol].unit(LP_LIQUIDITY[symbol]), {"from": lp})
    for sub, deposits, borrows in WARM_UP:
        open_position(p, carol, sub, deposits, borrows)
    chain.sleep(YEAR)
    for symbol in p.markets:
        set_params(p, symbol, irm=p.zero_irm)  # accrues the year, then freezes the indexes
    return p


@pytest.fixture(scope="module")
def vault(proto):
    return proto.vault


@pytest.fixture(scope="module")
def router(proto):
    return proto.router


@pytest.fixture(scope="module")
def weth(proto):
    return proto["WETH"].token


@pytest.fixture(scope="module")
def wbtc(proto):
    return proto["WBTC"].token


@pytest.fixture(scope="module")
def usdc(proto):
    return proto["USDC"].token


@pytest.fixture(scope="module")
def unit(proto):
    """unit("WETH", "1.5") -> token units."""
    return lambda symbol, amount: proto[symbol].unit(amount)
