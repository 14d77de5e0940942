"""Non-standard ERC20s against the vault: each works, or its limits are documented here.

Every "works" case runs the whole life of a market — lend, borrow, accrue, repay, liquidate with the token as
debt and as collateral, everyone exits — and checks balances and pool totals to the wei, then the books
(I1–I3, I5, the lock of I21) over every sub-account that ever held a balance, and that no funds were lost:
what went in equals what came out plus what the vault still holds for reserves and rounding.

Per token, what the vault does and why:

- **Fee-on-transfer** (1 %): works. `deposit`, `repay` and `liquidate` credit the vault's balance delta (what
  arrived), never the amount argument, so the pool is never short. The fee is the user's loss, on the way in
  and on the way out (`withdraw`/`borrow` send `amount`; the receiver gets `amount` less the fee). A
  `repay(max)` pays `debt` and credits `debt − fee`, so a little debt is left: close a debt with a
  `deposit` of more than the debt (the surplus is deposited). A liquidator repaying a fee token gets
  collateral only for what arrived; when the quote took the whole deposit (capped), the part the fee did not
  pay for goes to reserves, so the deposit is closed and any remaining debt settles as bad debt (otherwise a
  shrinking remainder would keep the account from ever being settled).
- **Rebasing** (balances = shares × multiplier): *not supported; the vault cannot detect it at listing.*
  Scaled balances are fixed token amounts, so a positive rebase stays in the vault as an untracked surplus
  (nobody earns it; I2 holds with slack) and a negative rebase makes the vault short: the last depositors
  cannot withdraw (I2 breaks). Governance must list only a non-rebasing wrapper (wstETH-style). The two
  tests below pin both outcomes.
- **No return value** (USDT-style): works; SafeERC20 accepts an empty return.
- **Returns false**: works; SafeERC20 turns `false` into `SafeERC20FailedOperation`, so a failed pull never
  credits a deposit or a repay.
- **2 and 24 decimals** (SimToken): work; amounts stay in token units and values are normalised once, so
  the books are exact in both. With 2 decimals a deposit too small to buy scale reverts `ZeroAmount`
  (no silent donation, I16).
- **Transfer hook** (ERC777/677-style): works for honest holders (the hook is simply called); the
  re-entrancy attacks through the hook are in test_incidents_reentrancy.py and all revert.
- **Pausable / blocklist**: works while unpaused. While the token is paused or a holder blocked, transfers
  of it fail — deposit, withdraw, borrow and repay of that token revert in the token — but liquidation stays
  live when the token is the *collateral*: seized collateral is credited to the liquidator's sub-account, a
  book entry with no transfer. When the paused token is the *debt*, the liquidator cannot pay it in:
  liquidations of that debt wait for the unpause (documented below).
- **Revert on zero transfer**: works; the vault never transfers zero — zero amounts revert `ZeroAmount`
  before any transfer and a liquidation's protocol cut is booked to reserves, not sent.

Nothing is refused at listing except what the vault can check: a missing feed and more than 36 decimals.
"""
from __future__ import annotations

import brownie
import pytest
from brownie import chain

from marginlab.model import vault as pm
from chainkit import DAY, WAD, build, check_books, deploy_protocol, err, feed_answer, params, sim_token

MAX = 2**256 - 1
FEE_BPS = 100


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def build_proto(gov, guardian):
    """A factory: a fresh protocol with a plain 18-decimal collateral `COLL` ($1) and `token` listed as `HOST`."""

    def make(token, price=1, interest=True):
        # interest=False: a zero-rate model, for tests that compare a debt across two blocks (Ganache may let a
        # second pass between them, and a second of interest would change the exact amount).
        p = deploy_protocol(gov, guardian) if interest else deploy_protocol(gov, guardian, irm_rates=(0, 0, 0, WAD))
        p.add_market("COLL", sim_token(gov, "COLL", 18), 1)
        p.add_market("HOST", token, price)
        return p

    return make


def hostile(gov, name, *args):
    return getattr(build(), name).deploy(name, name[:4].upper(), *args, {"from": gov})


TOKENS = {
    "fee_on_transfer": ("FeeOnTransferToken", (18, FEE_BPS)),
    "no_return": ("NoReturnToken", (18,)),
    "returns_false": ("ReturnsFalseToken", (18,)),
    "hook": ("HookToken", (18,)),
    "pausable_blocklist": ("PausableBlocklistToken", (18,)),
    "revert_on_zero": ("RevertOnZeroToken", (18,)),
    "decimals_2": ("SimToken", (2,)),
    "decimals_24": ("SimToken", (24,)),
}


def received(token, amount: int) -> int:
    """What a receiver gets when `amount` of `token` is sent."""
    return token.received(amount) if hasattr(token, "received") else amount


def as_deposit(amount: int, deposit_index: int) -> int:
    """The claim a credit of `amount` becomes: scale rounded down, then the claim rounded down."""
    return pm.deposit_amount_down(pm.to_scale_down(amount, deposit_index), deposit_index)


def units(token, whole) -> int:
    return int(whole * 10 ** token.decimals())


# ------------------------------------------------------------------ the whole life of a market
@pytest.mark.parametrize("kind", list(TOKENS))
def test_hostile_token_survives_the_whole_life_of_a_market(kind, gov, build_proto, lp, alice, bob, carol, liquidator):
    name, args = TOKENS[kind]
    token = hostile(gov, name, *args)
    p = build_proto(token)
    v, host, coll = p.vault, p["HOST"].token, p["COLL"].token
    everyone = [lp, alice, bob, carol, liquidator]
    minted = {}

    def fund(who, sym, amount):
        p.fund(sym, who, amount)
        minted[(str(who), sym)] = minted.get((str(who), sym), 0) + amount

    # lp lends 10,000 HOST: credited exactly what arrived.
    fund(lp, "HOST", units(host, 10_000))
    before = host.balanceOf(v)
    tx = v.deposit(lp, 0, host, units(host, 10_000), {"from": lp})
    credited = tx.return_value
    assert credited == received(host, units(host, 10_000)) == host.balanceOf(v) - before
    assert v.balanceOf(lp, 0, host) == credited
    assert v.marketState(host)[6] == credited  # totalDeposits

    # alice posts 10,000 COLL and borrows 5,000 HOST; the receiver gets what the token delivers.
    fund(alice, "COLL", units(coll, 10_000))
    v.deposit(alice, 0, coll, units(coll, 10_000), {"from": alice})
    borrow = units(host, 5_000)
    v.borrow(0, host, borrow, alice, {"from": alice})
    assert host.balanceOf(alice) == received(host, borrow)
    assert v.balanceOf(alice, 0, host) == -borrow
    assert host.balanceOf(v) == credited - borrow

    chain.sleep(30 * DAY)
    chain.mine()
    v.accrue(host, {"from": gov})
    debt = -v.balanceOf(alice, 0, host)
    assert debt > borrow  # interest accrued

    # alice closes the debt with a deposit larger than it (the only way to close exactly with a fee token).
    fund(alice, "HOST", units(host, 6_000))
    bal_before = host.balanceOf(v)
    tx = v.deposit(alice, 0, host, units(host, 6_000), {"from": alice})
    arrived = host.balanceOf(v) - bal_before
    assert tx.return_value == arrived
    repaid_debt = tx.events["Deposit"]["debtRepaid"]
    assert repaid_debt >= debt  # a second or two more of interest since the read
    index = v.marketState(host)[2]
    assert v.balanceOf(alice, 0, host) == as_deposit(arrived - repaid_debt, index)
    v.withdraw(0, host, MAX, alice, {"from": alice})
    v.withdraw(0, coll, MAX, alice, {"from": alice})
    assert v.accountState(alice, 0)[0] == ()

    # HOST as debt: bob borrows against COLL, COLL drops, the liquidator repays HOST.
    fund(bob, "COLL", units(coll, 1_000))
    v.deposit(bob, 0, coll, units(coll, 1_000), {"from": bob})
    v.borrow(0, host, units(host, 790), bob, {"from": bob})
    p.set_price("COLL", "0.9")
    fund(liquidator, "HOST", units(host, 1_000))
    tx = v.liquidate(bob, 0, host, coll, units(host, 100), 0, {"from": liquidator})
    repaid, seized = tx.return_value
    assert repaid == received(host, units(host, 100))  # seized only for what arrived
    ev = tx.events["Liquidated"]
    assert ev["toLiquidator"] + ev["protocolCut"] == seized
    assert v.balanceOf(liquidator, 0, coll) == as_deposit(ev["toLiquidator"], v.marketState(coll)[2])
    p.set_price("COLL", 1)

    # HOST as collateral: carol deposits HOST, borrows COLL, HOST drops, the liquidator repays COLL and is
    # credited HOST inside the vault (no HOST transfer).
    fund(lp, "COLL", units(coll, 10_000))
    v.deposit(lp, 1, coll, units(coll, 10_000), {"from": lp})
    fund(carol, "HOST", units(host, 1_000))
    got = v.deposit(carol, 0, host, units(host, 1_000), {"from": carol}).return_value
    v.borrow(0, coll, units(coll, 700), carol, {"from": carol})
    p.set_price("HOST", "0.8")
    fund(liquidator, "COLL", units(coll, 1_000))
    host_in_vault = host.balanceOf(v)
    carol_scale = v.scaledBalanceOf(carol, 0, host)
    tx = v.liquidate(carol, 0, coll, host, MAX, 1, {"from": liquidator})
    assert host.balanceOf(v) == host_in_vault
    index = v.marketState(host)[2]
    assert v.balanceOf(liquidator, 1, host) == as_deposit(tx.events["Liquidated"]["toLiquidator"], index)
    assert v.scaledBalanceOf(carol, 0, host) == carol_scale - pm.to_scale_up(tx.return_value[1], index)
    p.set_price("HOST", 1)

    owners = [a for a in everyone for _ in (0, 1)]
    subs = [0, 1] * len(everyone)
    check_books(p, owners, subs)

    # Everyone exits: debts repaid by deposit, deposits withdrawn as far as liquidity allows.
    for who in everyone:
        for sub in (0, 1):
            for sym, tok in (("HOST", host), ("COLL", coll)):
                bal = v.balanceOf(who, sub, tok)
                if bal < 0:
                    extra = -bal * 2 + units(tok, 1)
                    fund(who, sym, extra)
                    v.deposit(who, sub, tok, extra, {"from": who})
    for who in everyone:
        for sub in (0, 1):
            for tok in (host, coll):
                if v.balanceOf(who, sub, tok) > 0:
                    v.withdraw(sub, tok, MAX, who, {"from": who})
    books = check_books(p, owners, subs)
    for tok, sym in ((host, "HOST"), (coll, "COLL")):
        b = books[str(tok)]
        assert b.totalDepositScale == b.totalBorrowScale == 0
        # No funds lost: the vault keeps only reserves and rounding dust in its own favour (each accrual
        # floors the depositors' share, leaving < totalDepositScale / 1e18 units behind, I18); everything
        # else went back out.
        total_minted = sum(a for (w, s), a in minted.items() if s == sym)
        assert b.vaultBalance >= b.reserves
        # (one token unit per rounded operation for coarse tokens: about 20 operations here)
        assert b.vaultBalance - b.reserves <= total_minted // 10**9 + 20
        held = sum(tok.balanceOf(w) for w in everyone)
        burned = total_minted - held - b.vaultBalance
        assert burned >= 0
        if not hasattr(tok, "received"):
            assert burned == 0


# ------------------------------------------------------------------ token-specific behaviour
def test_fee_on_transfer_repay_max_credits_only_what_arrived(gov, build_proto, lp, alice):
    token = hostile(gov, "FeeOnTransferToken", 18, FEE_BPS)
    p = build_proto(token, interest=False)
    v = p.vault
    p.fund("HOST", lp, 10**22)
    v.deposit(lp, 0, token, 10**22, {"from": lp})
    p.fund("COLL", alice, 10**22)
    v.deposit(alice, 0, p["COLL"].token, 10**22, {"from": alice})
    v.borrow(0, token, 10**21, alice, {"from": alice})
    p.fund("HOST", alice, 10**21)
    tx = v.repay(alice, 0, token, MAX, {"from": alice})
    assert tx.return_value == token.received(10**21)
    assert v.balanceOf(alice, 0, token) == -(10**21 - token.received(10**21))


def test_fee_on_transfer_debt_liquidation_of_an_insolvent_account_takes_all_collateral_and_settles(
        gov, build_proto, lp, bob, liquidator):
    """The capped quote takes bob's whole deposit; 1 % of the repay does not arrive, so the liquidator is paid
    for 99 % of it and the rest of the deposit goes to reserves. Left with bob, that rest would shrink by the
    fee at every liquidation and never reach zero, and his debt could never be settled as bad debt."""
    token = hostile(gov, "FeeOnTransferToken", 18, FEE_BPS)
    p = build_proto(token, interest=False)
    v, coll = p.vault, p["COLL"].token
    p.fund("HOST", lp, 10**22)
    v.deposit(lp, 0, token, 10**22, {"from": lp})
    p.fund("COLL", bob, 10**21)
    v.deposit(bob, 0, coll, 10**21, {"from": bob})
    v.borrow(0, token, 790 * 10**18, bob, {"from": bob})
    p.set_price("COLL", "0.5")  # 1,000 COLL now worth $500 against a $790 debt: insolvent
    held = v.balanceOf(bob, 0, coll)
    reserves = v.marketState(coll)[8]
    p.fund("HOST", liquidator, 10**21)
    paid = token.balanceOf(liquidator)
    tx = v.liquidate(bob, 0, token, coll, MAX, 0, {"from": liquidator})
    paid -= token.balanceOf(liquidator)
    ev = tx.events["Liquidated"]
    pair = pm.Pair(WAD, 18, WAD // 2, 18, v.marketParams(coll)["liquidationBonus"])
    assert ev["repaid"] == token.received(paid)
    paid_for = pm.seize_for_repay_down(ev["repaid"], pair)  # what the liquidator's repay buys, bonus included
    to_liq, cut = pm.split_seized(paid_for, pair.bonus, v.marketParams(coll)["protocolShare"])
    assert ev["seizedTotal"] == held > paid_for
    assert (ev["toLiquidator"], ev["protocolCut"]) == (to_liq, cut + held - paid_for)
    assert v.balanceOf(bob, 0, coll) == 0
    assert v.balanceOf(liquidator, 0, coll) == as_deposit(to_liq, v.marketState(coll)[2])
    assert v.marketState(coll)[8] == reserves + cut + held - paid_for
    assert "BadDebtSettled" in tx.events and v.balanceOf(bob, 0, token) == 0


def test_returns_false_token_pull_failure_credits_nothing(gov, build_proto, lp, alice):
    token = hostile(gov, "ReturnsFalseToken", 18)
    p = build_proto(token)
    v = p.vault
    p.fund("HOST", alice, 10**18)
    with brownie.reverts(revert_pattern=err("SafeERC20FailedOperation")):
        v.deposit(alice, 0, token, 2 * 10**18, {"from": alice})
    assert v.balanceOf(alice, 0, token) == 0
    assert token.balanceOf(v) == 0


def test_no_return_token_cannot_be_moved_without_safe_erc20_but_the_vault_moves_it(gov, build_proto, lp):
    token = hostile(gov, "NoReturnToken", 6)
    p = build_proto(token)
    p.fund("HOST", lp, 10**9)
    assert p.vault.deposit(lp, 0, token, 10**9, {"from": lp}).return_value == 10**9
    p.vault.withdraw(0, token, 10**9, lp, {"from": lp})
    assert token.balanceOf(lp) == 10**9


def test_two_decimal_token_round_trips_one_unit_exactly_at_index_one(gov, build_proto, lp):
    token = sim_token(gov, "TWO", 2)
    p = build_proto(token)
    v = p.vault
    p.fund("HOST", lp, 10**6)
    v.deposit(lp, 0, token, 1, {"from": lp})
    v.withdraw(0, token, MAX, lp, {"from": lp})
    assert token.balanceOf(lp) == 10**6


def test_two_decimal_deposit_too_small_for_scale_reverts_instead_of_donating(gov, build_proto, lp, alice):
    token = sim_token(gov, "TWO", 2)
    p = build_proto(token)
    v = p.vault
    p.fund("HOST", lp, 10**8)
    v.deposit(lp, 0, token, 10**6, {"from": lp})
    p.fund("COLL", alice, 10**24)
    v.deposit(alice, 0, p["COLL"].token, 10**24, {"from": alice})
    v.borrow(0, token, 5 * 10**5, alice, {"from": alice})
    chain.sleep(365 * DAY)
    v.accrue(token, {"from": gov})
    assert v.marketState(token)[2] > WAD  # deposit index above 1: one unit buys no scale
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        v.deposit(lp, 1, token, 1, {"from": lp})


def test_rebasing_token_positive_rebase_stays_in_the_vault_as_untracked_surplus(gov, build_proto, lp, alice):
    token = hostile(gov, "RebasingToken", 18)
    p = build_proto(token)
    v = p.vault
    p.fund("HOST", lp, 1000 * WAD)
    v.deposit(lp, 0, token, 1000 * WAD, {"from": lp})
    token.setMultiplier(11 * WAD // 10, {"from": gov})
    assert token.balanceOf(v) == 1100 * WAD
    assert v.balanceOf(lp, 0, token) == 1000 * WAD  # the depositor is not credited the rebase
    v.withdraw(0, token, MAX, lp, {"from": lp})
    # The surplus is stranded in the vault (less one wei: share rounding, the stETH corner case).
    assert 100 * WAD - 1 <= token.balanceOf(v) <= 100 * WAD
    check_books(p, [lp], [0])


def test_rebasing_token_negative_rebase_leaves_the_last_withdrawer_short(gov, build_proto, lp, alice):
    token = hostile(gov, "RebasingToken", 18)
    p = build_proto(token)
    v = p.vault
    for who in (lp, alice):
        p.fund("HOST", who, 500 * WAD)
        v.deposit(who, 0, token, 500 * WAD, {"from": who})
    token.setMultiplier(9 * WAD // 10, {"from": gov})
    v.withdraw(0, token, MAX, lp, {"from": lp})  # the first out is paid in full
    assert 400 * WAD - 1 <= token.balanceOf(v) <= 400 * WAD
    with brownie.reverts(revert_pattern=err("InsufficientShares")):
        v.withdraw(0, token, MAX, alice, {"from": alice})  # the last is 100 short: why rebasing is unsupported


def test_paused_collateral_can_still_be_liquidated_because_seizure_is_a_book_entry(gov, build_proto, lp, alice, liquidator):
    token = hostile(gov, "PausableBlocklistToken", 18)
    p = build_proto(token)
    v, coll = p.vault, p["COLL"].token
    p.fund("COLL", lp, 10**22)
    v.deposit(lp, 0, coll, 10**22, {"from": lp})
    p.fund("HOST", alice, 1000 * WAD)
    v.deposit(alice, 0, token, 1000 * WAD, {"from": alice})
    v.borrow(0, coll, 790 * WAD, alice, {"from": alice})
    token.pause({"from": gov})
    token.setBlocked(alice, True, {"from": gov})
    p.set_price("HOST", "0.9")
    p.fund("COLL", liquidator, 10**21)
    tx = v.liquidate(alice, 0, coll, token, MAX, 0, {"from": liquidator})
    assert tx.return_value[0] > 0
    assert v.balanceOf(liquidator, 0, token) == tx.events["Liquidated"]["toLiquidator"]
    with brownie.reverts(revert_pattern=err("EnforcedPause")):
        v.withdraw(0, token, MAX, liquidator, {"from": liquidator})


def test_paused_debt_token_blocks_its_liquidation_until_unpaused(gov, build_proto, lp, alice, liquidator):
    token = hostile(gov, "PausableBlocklistToken", 18)
    p = build_proto(token)
    v, coll = p.vault, p["COLL"].token
    p.fund("HOST", lp, 10**22)
    v.deposit(lp, 0, token, 10**22, {"from": lp})
    p.fund("COLL", alice, 1000 * WAD)
    v.deposit(alice, 0, coll, 1000 * WAD, {"from": alice})
    v.borrow(0, token, 790 * WAD, alice, {"from": alice})
    p.set_price("COLL", "0.9")
    p.fund("HOST", liquidator, 10**21)
    token.pause({"from": gov})
    with brownie.reverts(revert_pattern=err("EnforcedPause")):
        v.liquidate(alice, 0, token, coll, MAX, 0, {"from": liquidator})
    token.unpause({"from": gov})
    v.liquidate(alice, 0, token, coll, MAX, 0, {"from": liquidator})


def test_blocked_borrower_debt_can_be_repaid_by_anyone(gov, build_proto, lp, alice, bob):
    token = hostile(gov, "PausableBlocklistToken", 18)
    p = build_proto(token)
    v, coll = p.vault, p["COLL"].token
    p.fund("HOST", lp, 10**22)
    v.deposit(lp, 0, token, 10**22, {"from": lp})
    p.fund("COLL", alice, 1000 * WAD)
    v.deposit(alice, 0, coll, 1000 * WAD, {"from": alice})
    v.borrow(0, token, 100 * WAD, alice, {"from": alice})
    token.setBlocked(alice, True, {"from": gov})
    p.fund("HOST", bob, 200 * WAD)
    v.repay(alice, 0, token, MAX, {"from": bob})
    assert v.balanceOf(alice, 0, token) == 0


def test_revert_on_zero_token_is_never_sent_a_zero_amount(gov, build_proto, lp):
    token = hostile(gov, "RevertOnZeroToken", 18)
    p = build_proto(token)
    v = p.vault
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        v.deposit(lp, 0, token, 0, {"from": lp})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        v.withdraw(0, token, MAX, lp, {"from": lp})


def test_listing_refuses_a_token_with_more_than_36_decimals(gov, guardian):
    p = deploy_protocol(gov, guardian)
    token = sim_token(gov, "BIG", 37)
    feed = build().SettableAggregator.deploy(8, feed_answer(1, 8), {"from": gov})
    p.router.setFeed(token, feed, 3600, {"from": gov})
    with brownie.reverts(revert_pattern=err("DecimalsOutOfRange")):
        p.vault.listMarket(token, params(p.irm), {"from": gov})
