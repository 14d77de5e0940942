"""Constants and helpers the unit tests share (their fixtures are in conftest.py).

A module of its own: `make test` runs several test folders in one session, and each has a conftest.py, so
`from conftest import ...` would find whichever conftest Python imported last (see tests/stateful/machine_runner.py).
"""
from __future__ import annotations

from typing import Any

import chainkit
from marginlab.model import vault as pm

WAD = pm.WAD
MAX = pm.MAX_UINT256
YEAR = chainkit.YEAR

#: (symbol, decimals, price in USD, feed decimals, parameter overrides)
MARKETS = (
    ("WETH", 18, 2000, 8, dict(assetWeightInit=80 * WAD // 100, assetWeightMaint=85 * WAD // 100,
                               liquidationBonus=5 * WAD // 100)),
    ("WBTC", 8, 60000, 8, dict(assetWeightInit=75 * WAD // 100, assetWeightMaint=80 * WAD // 100,
                               liabWeightInit=110 * WAD // 100, liabWeightMaint=105 * WAD // 100,
                               liquidationBonus=7 * WAD // 100)),
    ("USDC", 6, 1, 18, dict(assetWeightInit=90 * WAD // 100, assetWeightMaint=95 * WAD // 100,
                            liquidationBonus=2 * WAD // 100, protocolShare=20 * WAD // 100)),
)
#: Liquidity the lp provides in every market (whole tokens).
LP_LIQUIDITY = {"WETH": 1_000, "WBTC": 50, "USDC": 2_000_000}
#: The warm-up borrower's sub-accounts: (sub, deposits, borrows), whole tokens.
WARM_UP = (
    (8, {"USDC": 1_000_000}, {"WETH": 200}),
    (9, {"WETH": 600}, {"WBTC": 10, "USDC": 290_000}),
)


def revert_args(send: Any) -> tuple[str, list[int]]:
    """The custom error `send()` reverts with, as (name, integer arguments): brownie decodes it as "Name: a, b"."""
    from brownie.exceptions import VirtualMachineError

    try:
        send()
    except VirtualMachineError as e:
        name, _, rest = str(e.revert_msg).partition(":")
        return name.strip(), [int(x) for x in rest.split(",") if x.strip()]
    raise AssertionError("the transaction did not revert")


def err(name: str) -> str:
    """`brownie.reverts(revert_pattern=err("AccountUnhealthy"))`: a custom error with any arguments."""
    return chainkit.err(name)


def open_position(p: chainkit.Protocol, owner: Any, sub: int, deposits: dict, borrows: dict | None = None) -> None:
    """Deposit then borrow whole-token amounts in `(owner, sub)`."""
    for symbol, amount in deposits.items():
        p.vault.deposit(owner, sub, p[symbol].token, p[symbol].unit(amount), {"from": owner})
    for symbol, amount in (borrows or {}).items():
        p.vault.borrow(sub, p[symbol].token, p[symbol].unit(amount), owner, {"from": owner})


def set_params(p: chainkit.Protocol, symbol: str, **overrides: Any) -> None:
    """Change some of a market's parameters (names as in IVault.MarketParams)."""
    current = dict(zip(chainkit.PARAM_ORDER, p.vault.marketParams(p[symbol].token)))
    current.update(overrides)
    p.vault.setMarketParams(p[symbol].token, tuple(current[k] for k in chainkit.PARAM_ORDER), {"from": p.gov})


def model_params(p: chainkit.Protocol, symbol: str) -> pm.Params:
    return pm.Params.from_chain(p.vault.marketParams(p[symbol].token))


def model_positions(p: chainkit.Protocol, owner: Any, sub: int) -> list[pm.Position]:
    positions = []
    for symbol, m in p.markets.items():
        amount = int(p.vault.balanceOf(owner, sub, m.token))
        if amount:
            positions.append(pm.Position(amount, int(p.router.price(m.token)), m.decimals, model_params(p, symbol)))
    return positions


def model_health(p: chainkit.Protocol, owner: Any, sub: int = 0) -> pm.Health:
    """The model's Health of a sub-account from the chain's balances, indexes and prices."""
    return pm.health(model_positions(p, owner, sub))


def model_policy(p: chainkit.Protocol) -> tuple[pm.Policy, pm.LiquidationParams]:
    return pm.Policy(int(p.vault.liquidationPolicy())), pm.LiquidationParams.from_chain(p.vault.liquidationParams())


def model_pair(p: chainkit.Protocol, debt: str, coll: str, incentive: int | None = None) -> pm.Pair:
    """The pair as the vault prices it; `incentive` defaults to the collateral's bonus (the CloseFactor policy)."""
    return pm.Pair(
        int(p.router.price(p[debt].token)),
        p[debt].decimals,
        int(p.router.price(p[coll].token)),
        p[coll].decimals,
        model_params(p, coll).liquidation_bonus if incentive is None else incentive,
    )


def model_liquidation(p: chainkit.Protocol, owner: Any, sub: int, debt: str, coll: str, requested: int) -> pm.LiquidationQuote:
    """What `liquidate(owner, sub, debt, coll, requested, ...)` must repay, seize and split, per the model, under
    the vault's current policy, parameters and dust minimums (raises pm.LiquidationRefused for a refused quote)."""
    policy, params = model_policy(p)
    pair = model_pair(p, debt, coll)
    return pm.quote_liquidation(
        debt=-int(p.vault.balanceOf(owner, sub, p[debt].token)),
        collateral=int(p.vault.balanceOf(owner, sub, p[coll].token)),
        requested=requested,
        health=model_health(p, owner, sub),
        price_debt=pair.price_debt,
        decimals_debt=pair.decimals_debt,
        price_coll=pair.price_coll,
        decimals_coll=pair.decimals_coll,
        coll=model_params(p, coll),
        debt_params=model_params(p, debt),
        policy=policy,
        params=params,
        min_debt_left=int(p.vault.minDebtLeftValue()),
        min_coll_left=int(p.vault.minCollateralLeftValue()),
    )


def market_books(p: chainkit.Protocol, symbol: str) -> dict:
    """vault.marketState(token) as a dict keyed by the IVault.MarketState field names."""
    return dict(p.vault.marketState(p[symbol].token).dict())


def liquidate_as_model_says(
    p: chainkit.Protocol, liquidator: Any, owner: Any, sub: int, debt: str, coll: str, requested: int, liq_sub: int = 0
) -> tuple[Any, pm.LiquidationQuote]:
    """Liquidate and assert, to the wei, the amounts, the balances of both sub-accounts, the reserves and the
    event against the model. Returns the transaction and the model's quote. (Indexes are frozen: see above.)"""
    q = model_liquidation(p, owner, sub, debt, coll, requested)
    d, c = p[debt].token, p[coll].token
    before = dict(
        debt_scaled=int(p.vault.scaledBalanceOf(owner, sub, d)),
        coll_scaled=int(p.vault.scaledBalanceOf(owner, sub, c)),
        liq_scaled=int(p.vault.scaledBalanceOf(liquidator, liq_sub, c)),
        reserves=market_books(p, coll)["reserves"],
        paid=int(d.balanceOf(liquidator)),
        hf=model_health(p, owner, sub).health_factor,
    )
    dbooks, cbooks = market_books(p, debt), market_books(p, coll)
    tx = p.vault.liquidate(owner, sub, d, c, requested, liq_sub, {"from": liquidator})

    assert tx.return_value == (q.repaid, q.seized)
    assert q.repaid <= requested  # the named amount is an upper bound (I26)
    assert int(d.balanceOf(liquidator)) == before["paid"] - q.repaid
    ev = tx.events["Liquidated"]
    assert (ev["liquidator"], ev["owner"], ev["subId"], ev["debtToken"], ev["collToken"]) == (liquidator, owner, sub, d, c)
    assert ev["liquidatorSubId"] == liq_sub  # where toLiquidator went: an indexer needs it to rebuild balances
    assert (ev["repaid"], ev["seizedTotal"], ev["toLiquidator"], ev["protocolCut"], ev["incentive"]) == (
        q.repaid, q.seized, q.to_liquidator, q.protocol_cut, q.incentive)
    assert ev["healthFactorBefore"] == before["hf"]
    # I9: the health factor never falls while the account can pay the incentive.
    assert ev["healthFactorAfter"] >= ev["healthFactorBefore"] or not q.solvent_at_incentive
    settled = "BadDebtSettled" in tx.events
    if not settled:
        assert ev["healthFactorAfter"] == model_health(p, owner, sub).health_factor
        expect_debt = pm.credit(before["debt_scaled"], q.repaid, dbooks["depositIndex"], dbooks["borrowIndex"]).scaled
        assert p.vault.scaledBalanceOf(owner, sub, d) == expect_debt
    expect_coll = pm.debit(before["coll_scaled"], q.seized, cbooks["depositIndex"], cbooks["borrowIndex"]).scaled
    if not settled or pm.deposit_amount_down(expect_coll, cbooks["depositIndex"]) > 0:
        assert p.vault.scaledBalanceOf(owner, sub, c) == expect_coll
    expect_liq = pm.credit(before["liq_scaled"], q.to_liquidator, cbooks["depositIndex"], cbooks["borrowIndex"]).scaled
    assert p.vault.scaledBalanceOf(liquidator, liq_sub, c) == expect_liq
    if coll != debt and not settled:
        assert market_books(p, coll)["reserves"] == before["reserves"] + q.protocol_cut
    return tx, q
