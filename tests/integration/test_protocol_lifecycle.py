"""Whole-protocol behaviour on the Vault alone (no scenario engine): a book of lenders and borrowers lives
through interest, a crash, keeper liquidations, bad debt and everyone's exit, with the books (I1, I2, I3, I5,
the lock of I21) checked after every step; and cross margin against isolated margin on the same positions.
"""
from __future__ import annotations

import brownie
import pytest
from brownie import chain

from marginlab.model import vault as pm
from chainkit import DAY, WAD, build, check_books, deploy_protocol, params, sim_token

MAX = 2**256 - 1
PCT = WAD // 100

#: symbol, decimals, USD price, parameter overrides (the DESIGN example's markets)
MARKETS = (
    ("WETH", 18, 2000, dict(assetWeightInit=80 * PCT, assetWeightMaint=85 * PCT, liquidationBonus=5 * PCT)),
    ("WBTC", 8, 60000, dict(assetWeightInit=75 * PCT, assetWeightMaint=80 * PCT, liabWeightInit=110 * PCT,
                            liabWeightMaint=105 * PCT, liquidationBonus=7 * PCT)),
    ("USDC", 6, 1, dict(assetWeightInit=90 * PCT, assetWeightMaint=95 * PCT, liquidationBonus=2 * PCT)),
)


def _book(gov, guardian, **kwargs):
    p = deploy_protocol(gov, guardian, **kwargs)
    for symbol, decimals, price, overrides in MARKETS:
        p.add_market(symbol, sim_token(gov, symbol, decimals), price, **overrides)
    return p


@pytest.fixture(scope="module")
def book(module_isolation, gov, guardian):
    return _book(gov, guardian)


@pytest.fixture(scope="module")
def frozen_book(module_isolation, gov, guardian):
    """Zero interest: balances between transactions do not depend on how many seconds Ganache let pass."""
    return _book(gov, guardian, irm_rates=(0, 0, 0, 80 * WAD // 100))


class Ledger:
    """Every sub-account that ever held a balance, and every token that went in or out of the vault."""

    def __init__(self, p):
        self.p = p
        self.accounts: list[tuple] = []
        self.net_in = {s: 0 for s in p.markets}

    def touch(self, owner, sub):
        if (owner, sub) not in self.accounts:
            self.accounts.append((owner, sub))

    def check(self):
        owners, subs = zip(*self.accounts)
        return check_books(self.p, list(owners), list(subs))

    def deposit(self, owner, sub, symbol, amount):
        self.touch(owner, sub)
        self.p.vault.deposit(owner, sub, self.p[symbol].token, amount, {"from": owner})
        self.net_in[symbol] += amount

    def borrow(self, owner, sub, symbol, amount):
        self.touch(owner, sub)
        self.p.vault.borrow(sub, self.p[symbol].token, amount, owner, {"from": owner})
        self.net_in[symbol] -= amount


def test_a_book_survives_interest_a_crash_liquidations_and_everyone_exits(book, accounts, gov, liquidator):
    p, v = book, book.vault
    ledger = Ledger(p)
    lenders, borrowers = accounts[10:13], accounts[13:18]
    for who in list(lenders) + list(borrowers) + [liquidator]:
        for symbol in p.markets:
            p.fund(symbol, who, p[symbol].unit(10_000_000))
    for i, who in enumerate(lenders):
        ledger.deposit(who, 0, "WETH", p["WETH"].unit(300 + 100 * i))
        ledger.deposit(who, 0, "WBTC", p["WBTC"].unit(10 + i))
        ledger.deposit(who, 0, "USDC", p["USDC"].unit(1_000_000 * (i + 1)))
    # Borrowers: long WETH against USDC at 70 %..94 % of their borrowing power; the last one also short WBTC.
    for i, who in enumerate(borrowers):
        weth = 10 + 5 * i
        ledger.deposit(who, 0, "WETH", p["WETH"].unit(weth))
        ledger.borrow(who, 0, "USDC", p["USDC"].unit(weth * 2000 * 80 * (70 + 6 * i) // 10_000))
    ledger.deposit(borrowers[-1], 1, "USDC", p["USDC"].unit(50_000))
    ledger.borrow(borrowers[-1], 1, "WBTC", p["WBTC"].unit("0.5"))
    ledger.check()

    chain.sleep(90 * DAY)
    for symbol in p.markets:
        v.accrue(p[symbol].token, {"from": gov})
    ledger.check()
    # Freeze interest from here on: the health factor read just before a liquidation must equal the one the
    # liquidation sees, and Ganache may let a second pass between the two.
    zero = build().InterestRateModel.deploy(0, 0, 0, 80 * WAD // 100, {"from": gov})
    for symbol, _, _, overrides in MARKETS:
        v.setMarketParams(p[symbol].token, params(zero, **overrides), {"from": gov})

    # A 30 % WETH crash: the keeper liquidates until nothing is liquidatable.
    p.set_price("WETH", 1400)
    ledger.touch(liquidator, 0)
    liquidations = 0
    while True:
        owners, subs = zip(*ledger.accounts)
        flags = v.liquidatable(list(owners), list(subs))
        targets = [acct for acct, flag in zip(ledger.accounts, flags) if flag]
        if not targets:
            break
        for owner, sub in targets:
            hf_before = v.accountState(owner, sub)["healthFactor"]
            tx = v.liquidate(owner, sub, p["USDC"].token, p["WETH"].token, MAX, 0, {"from": liquidator})
            ev = tx.events["Liquidated"]
            ledger.net_in["USDC"] += ev["repaid"]
            assert ev["healthFactorBefore"] == hf_before
            liquidations += 1
            ledger.check()
        assert liquidations < 50
    assert liquidations >= 2

    # Everyone leaves: borrowers repay all and withdraw all; the liquidator and lenders withdraw.
    for who in borrowers:
        for sub in (0, 1):
            for symbol in p.markets:
                token = p[symbol].token
                if v.balanceOf(who, sub, token) < 0:
                    ledger.net_in[symbol] += v.repay(who, sub, token, MAX, {"from": who}).return_value
    ledger.check()
    for owner, sub in ledger.accounts:
        for symbol in p.markets:
            token = p[symbol].token
            if v.balanceOf(owner, sub, token) > 0:
                ledger.net_in[symbol] -= v.withdraw(sub, token, MAX, owner, {"from": owner}).return_value
        assert v.accountState(owner, sub)["tokens"] == []
    books = ledger.check()
    for symbol in p.markets:
        token = p[symbol].token
        b = books[str(token)]
        # What stayed in the vault is what went in net: the reserves plus rounding dust, never less (I2, I4).
        assert token.balanceOf(v) == ledger.net_in[symbol]
        assert b.totalDeposits == 0 and b.totalBorrows == 0
        assert ledger.net_in[symbol] >= b.reserves
        if b.reserves:
            v.withdrawReserves(token, b.reserves, gov, {"from": gov})
        assert token.balanceOf(v) <= 10  # a few wei of rounding in the vault's favour


def test_cross_margin_hedge_survives_a_move_that_liquidates_the_isolated_long(frozen_book, alice, bob, lp):
    """DESIGN's alice: long ETH and short BTC. Cross margin: both in sub-account 0. Isolated: one each."""
    p, v = frozen_book, frozen_book.vault
    for symbol in p.markets:
        for who in (alice, bob, lp):
            p.fund(symbol, who, p[symbol].unit(10_000_000))
        v.deposit(lp, 0, p[symbol].token, p[symbol].unit({"WETH": 500, "WBTC": 20, "USDC": 1_000_000}[symbol]), {"from": lp})
    weth, wbtc, usdc = (p[s].token for s in ("WETH", "WBTC", "USDC"))
    for who, short_sub in ((alice, 0), (bob, 1)):
        v.deposit(who, 0, weth, 10 * WAD, {"from": who})
        v.borrow(0, usdc, 12_000 * 10**6, who, {"from": who})
        v.deposit(who, short_sub, usdc, 20_000 * 10**6, {"from": who})
        v.borrow(short_sub, wbtc, 25_000_000, who, {"from": who})
    # In cross margin the USDC nets: the 20,000 deposit repays the 12,000 debt first.
    assert v.balanceOf(alice, 0, usdc) == 8_000 * 10**6

    p.set_price("WETH", 1400)   # -30 %
    p.set_price("WBTC", 45000)  # -25 %: the short gains
    flags = v.liquidatable([alice, bob, bob], [0, 0, 1])
    assert list(flags) == [False, True, False]
    cross = v.accountState(alice, 0)
    assert cross["healthMaint"] > 0
    model = pm.health([
        pm.Position(int(b), int(p.router.price(t)), p.markets[s].decimals, pm.Params.from_chain(v.marketParams(t)))
        for t, b in zip(cross["tokens"], cross["balances"])
        for s in [next(k for k, m in p.markets.items() if m.token == t)]
    ])
    assert (cross["healthInit"], cross["healthMaint"], cross["healthFactor"]) == (
        model.health_init, model.health_maint, model.health_factor)
