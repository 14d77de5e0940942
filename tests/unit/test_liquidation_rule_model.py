"""Evidence for the health rule of IVaultLiquidation (issue 15), on the integer model alone (no chain).

The vault refuses a liquidation that lowers the health factor of an account that can pay the incentive it pays
(`HealthFactorNotImproved`). Two claims make that rule cheap, and hypothesis checks both over random cross-margin
accounts whose markets differ in weights, bonuses, prices and decimals:

1. Liveness: a liquidatable account always has a pair the vault accepts, under every partial-liquidation policy
   (so the rule never strands an unhealthy account; a keeper only has to pick among the pairs).
2. The theorem behind it: when the account's collateral, each asset net of its own incentive, exceeds its debt
   (sum C_i / (1 + i_i) > sum D), repaying its debt with the largest liability weight with some collateral
   raises the health factor -- exactly, in rationals.

And the issue's own numbers, which show what the rule prevents: without it, the USDC seizure walks the account
from HF 0.9554 to 0.9417, below the 0.95 that unlocks the whole debt.
"""
from __future__ import annotations

from fractions import Fraction

from hypothesis import given, strategies as st

from marginlab.model import vault as pm
from proptest import property_settings

WAD = pm.WAD
PERCENT = WAD // 100


@st.composite
def markets(draw, n: int):
    """`n` markets with listing-valid, mutually different parameters: (decimals, price, Params)."""
    out = []
    for _ in range(n):
        maint = draw(st.integers(40, 97)) * PERCENT
        init = maint - draw(st.integers(0, 10)) * PERCENT
        liab_maint = WAD + draw(st.integers(0, 30)) * PERCENT
        bonus_max = (WAD * WAD // maint - WAD) // PERCENT  # maint x (1 + bonus) <= 1
        bonus = draw(st.integers(1, max(1, min(15, bonus_max)))) * PERCENT
        params = pm.Params(max(init, PERCENT), maint, liab_maint + 5 * PERCENT, liab_maint, bonus,
                           draw(st.integers(0, 50)) * PERCENT)
        decimals = draw(st.sampled_from([2, 6, 8, 18, 24]))
        price = draw(st.integers(1, 100_000)) * WAD // draw(st.sampled_from([1, 100]))
        out.append((decimals, price, params))
    return out


@st.composite
def unhealthy_accounts(draw):
    """A cross-margin account over 2-4 collaterals and 1-2 debts (each worth $100 to $1M) with health_maint < 0."""
    n_coll, n_debt = draw(st.integers(2, 4)), draw(st.integers(1, 2))
    ms = draw(markets(n_coll + n_debt))
    amounts = []
    for i, (decimals, price, _) in enumerate(ms):
        usd = draw(st.integers(100, 1_000_000))
        units = max(1, usd * WAD * 10**decimals // price)
        amounts.append(units if i < n_coll else -units)
    positions = [pm.Position(a, price, dec, params) for a, (dec, price, params) in zip(amounts, ms)]
    h = pm.health(positions)
    # Scale the debts so that the account sits between HF 0.5 and 1 (the region where mixed weights bite).
    target = Fraction(draw(st.integers(50, 99)), 100)
    scale = Fraction(h.coll_maint, h.debt_maint) / target
    positions = [p if p.amount > 0 else pm.Position(min(-1, int(p.amount * scale)), p.price, p.decimals, p.params)
                 for p in positions]
    return positions


def liquidate_model(positions, d: int, c: int, policy: pm.Policy) -> pm.LiquidationQuote | str:
    """The model's liquidation of `positions[d]` (debt) for `positions[c]` (collateral) at indexes of 1, MAX named:
    the quote or the error the vault would raise."""
    before = pm.health(positions)
    debt, coll = positions[d], positions[c]
    try:
        q = pm.quote_liquidation(debt=-debt.amount, collateral=coll.amount, requested=pm.MAX_UINT256, health=before,
                                 price_debt=debt.price, decimals_debt=debt.decimals, price_coll=coll.price,
                                 decimals_coll=coll.decimals, coll=coll.params, debt_params=debt.params,
                                 policy=policy)
    except pm.LiquidationRefused as r:
        return r.error
    after = list(positions)
    after[d] = pm.Position(debt.amount + q.repaid, debt.price, debt.decimals, debt.params)
    after[c] = pm.Position(coll.amount - q.seized, coll.price, coll.decimals, coll.params)
    if pm.health_lowered(q, before, pm.health(after)):
        return "HealthFactorNotImproved"
    return q


@property_settings(300, 20_000)
@given(unhealthy_accounts(), st.sampled_from([pm.Policy.CLOSE_FACTOR, pm.Policy.FIXED_INCENTIVE, pm.Policy.DUTCH]))
def test_a_liquidatable_account_always_has_a_pair_the_vault_accepts(positions, policy):
    assert pm.health(positions).health_maint < 0
    debts = [i for i, p in enumerate(positions) if p.amount < 0]
    colls = [i for i, p in enumerate(positions) if p.amount > 0]
    outcomes = {(d, c): liquidate_model(positions, d, c, policy) for d in debts for c in colls}
    accepted = [k for k, o in outcomes.items() if isinstance(o, pm.LiquidationQuote)]
    assert accepted, outcomes


@property_settings(300, 20_000)
@given(unhealthy_accounts())
def test_when_collateral_net_of_incentives_exceeds_debt_the_heaviest_debt_has_an_improving_pair(positions):
    value = [Fraction(abs(p.amount) * p.price, 10**p.decimals) for p in positions]
    colls = [i for i, p in enumerate(positions) if p.amount > 0]
    debts = [i for i, p in enumerate(positions) if p.amount < 0]
    net = sum(value[i] / (1 + Fraction(positions[i].params.liquidation_bonus, WAD)) for i in colls)
    if net <= sum(value[j] for j in debts):
        return  # the account cannot pay every incentive: the rule lets a pair lower its health
    hf = (sum(value[i] * Fraction(positions[i].params.asset_weight_maint, WAD) for i in colls)
          / sum(value[j] * Fraction(positions[j].params.liab_weight_maint, WAD) for j in debts))
    heaviest = max(Fraction(positions[j].params.liab_weight_maint, WAD) for j in debts)
    toward = [(1 + Fraction(positions[i].params.liquidation_bonus, WAD)) * Fraction(positions[i].params.asset_weight_maint, WAD)
              / heaviest for i in colls]
    assert min(toward) < hf  # a seizure moves HF toward `toward`: up, for that collateral


def test_the_issues_account_walks_below_the_full_close_threshold_without_the_rule():
    usdc = pm.Params(90 * PERCENT, 95 * PERCENT, WAD, WAD, 2 * PERCENT, 20 * PERCENT)
    wbtc = pm.Params(75 * PERCENT, 80 * PERCENT, 110 * PERCENT, 105 * PERCENT, 7 * PERCENT)
    weth = pm.Params(80 * PERCENT, 85 * PERCENT, WAD, WAD, 5 * PERCENT)
    positions = [pm.Position(66_000 * 10**6, WAD, 6, usdc), pm.Position(7 * 10**7, 60_000 * WAD, 8, wbtc),
                 pm.Position(-40 * WAD, 2_520 * WAD, 18, weth)]
    before = pm.health(positions).health_factor
    assert liquidate_model(positions, 2, 0, pm.Policy.CLOSE_FACTOR) == "HealthFactorNotImproved"
    # What the vault did before the rule: the same quote, applied.
    q = pm.quote_liquidation(debt=40 * WAD, collateral=66_000 * 10**6, requested=pm.MAX_UINT256,
                             health=pm.health(positions), price_debt=2_520 * WAD, decimals_debt=18, price_coll=WAD,
                             decimals_coll=6, coll=usdc, debt_params=weth)
    walked = pm.health([pm.Position(66_000 * 10**6 - q.seized, WAD, 6, usdc), positions[1],
                        pm.Position(-40 * WAD + q.repaid, 2_520 * WAD, 18, weth)]).health_factor
    assert before > pm.FULL_CLOSE_HEALTH_FACTOR > walked  # 0.9554 -> 0.9417: the whole debt unlocked
    improved = liquidate_model(positions, 2, 1, pm.Policy.CLOSE_FACTOR)
    assert isinstance(improved, pm.LiquidationQuote)
