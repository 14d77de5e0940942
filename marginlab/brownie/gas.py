"""Gas of every vault operation, measured on a fresh deployment through brownie.

One function, :func:`measure_gas`, serves both the committed snapshot (`make gas`, written to `bench/gas.json`)
and the regression test in `make test` (`tests/integration/test_gas_snapshot.py`), so the two can never measure
different things. Gas is deterministic for a given chain and bytecode, so the snapshot holds one table per chain
(Ganache runs the istanbul schedule, Anvil a modern one) and the test compares the active chain to its own table.

Liquidation is measured for sub-accounts holding 2..8 assets (k − 1 collaterals and one debt; a sub-account with
one asset cannot be liquidated: with only debt there is nothing to seize, with only a deposit nothing to repay)
and for the 3-collateral / 2-debt sub-account the performance target names; then, on the 1 + 1 and 3 + 2 shapes,
under each other liquidation policy (fixed-incentive, Dutch, absorb with the keeper's buyCollateral after it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WAD = 10**18
# Decimals of the eight markets: a mix of the 6/8/18-decimal tokens the protocol must handle.
DECIMALS = (18, 8, 6, 18, 8, 6, 18, 18)
PRICES_USD = (2000, 60000, 1, 150, 30, 1, 5, 10)
FEED_DECIMALS = 8
HEARTBEAT = 30 * 24 * 3600
SNAPSHOT = Path(__file__).resolve().parents[2] / "bench" / "gas.json"  # the repository root
ELAPSED = 3600  # seconds of chain time before every measured transaction
TOLERANCE = 0.02  # the test fails when an operation costs more than 2 % above its committed figure


def _timed(chain: Any, tx_fn: Any, *args: Any) -> int:
    chain.sleep(ELAPSED)
    return tx_fn(*args).gas_used


@dataclass
class Deployment:
    vault: Any
    router: Any
    tokens: list[Any]
    feeds: list[Any]


def _params(irm: Any) -> tuple:
    # assetWeightInit, assetWeightMaint, liabWeightInit, liabWeightMaint, bonus, protocolShare, reserveFactor,
    # supplyCap, borrowCap, irm
    return (
        int(0.80 * WAD), int(0.85 * WAD), WAD, WAD, int(0.05 * WAD), int(0.10 * WAD), int(0.10 * WAD), 0, 0, irm
    )


def deploy(project: Any, gov: Any) -> Deployment:
    """A vault with eight listed markets, funded by a lender in every one."""
    tx = {"from": gov}
    router = project.OracleRouter.deploy(gov, tx)
    irm = project.InterestRateModel.deploy(int(0.01 * WAD), int(0.08 * WAD), WAD, int(0.8 * WAD), tx)
    modules = (project.VaultLiquidation.deploy(router, tx), project.VaultGovernance.deploy(router, tx))
    vault = project.Vault.deploy(gov, gov, router, *modules, tx)
    tokens, feeds = [], []
    for i, (dec, price) in enumerate(zip(DECIMALS, PRICES_USD, strict=False)):
        token = project.SimToken.deploy(f"Token{i}", f"T{i}", dec, tx)
        feed = project.SettableAggregator.deploy(FEED_DECIMALS, price * 10**FEED_DECIMALS, tx)
        router.setFeed(token, feed, HEARTBEAT, tx)
        vault.listMarket(token, _params(irm), tx)
        tokens.append(token)
        feeds.append(feed)
    return Deployment(vault, router, tokens, feeds)


def _units(dep: Deployment, i: int, usd: int) -> int:
    """Token units of market i worth `usd` dollars."""
    return usd * 10 ** DECIMALS[i] // PRICES_USD[i]


def _fund(dep: Deployment, who: Any, i: int, amount: int) -> None:
    dep.tokens[i].mint(who, amount, {"from": dep.tokens[i].minter()})
    dep.tokens[i].approve(dep.vault, 2**256 - 1, {"from": who})


def _open(dep: Deployment, who: Any, sub: int, collaterals: list[int], debts: list[int], usd_each: int,
          debt_usd_each: int) -> None:
    for i in collaterals:
        amount = _units(dep, i, usd_each)
        _fund(dep, who, i, amount)
        dep.vault.deposit(who, sub, dep.tokens[i], amount, {"from": who})
    for i in debts:
        dep.vault.borrow(sub, dep.tokens[i], _units(dep, i, debt_usd_each), who, {"from": who})


def _crash(dep: Deployment, markets: list[int], factor_pct: int, gov: Any) -> None:
    for i in markets:
        dep.feeds[i].setAnswer(PRICES_USD[i] * 10**FEED_DECIMALS * factor_pct // 100, {"from": gov})


def measure_gas(project: Any, accounts: Any, chain: Any) -> dict[str, int]:
    """Gas used by each operation on a fresh deployment; keys are stable names, values gas units.

    Every measured transaction follows an hour of chain time, so each one accrues interest the way a real
    transaction does. Without that, whether an operation shares a timestamp with the previous accrual (and
    skips the index writes) would depend on wall-clock timing, and the gas would not repeat.
    """
    gov, lender, user, keeper = accounts[0], accounts[1], accounts[2], accounts[3]
    return _measure(project, chain, gov, lender, user, keeper)


def _measure(project: Any, chain: Any, gov: Any, lender: Any, user: Any, keeper: Any) -> dict[str, int]:
    dep = deploy(project, gov)
    v, t = dep.vault, dep.tokens
    gas: dict[str, int] = {}
    for i in range(len(t)):
        amount = _units(dep, i, 10_000_000)
        _fund(dep, lender, i, amount)
        dep.vault.deposit(lender, 0, t[i], amount, {"from": lender})

    # Simple operations on a one-collateral account.
    _fund(dep, user, 0, _units(dep, 0, 100_000))
    gas["deposit (first, new market for the account)"] = _timed(chain, v.deposit, user, 0, t[0], _units(dep, 0, 50_000),
                                                                    {"from": user})
    gas["deposit (existing balance)"] = _timed(chain, v.deposit, user, 0, t[0], _units(dep, 0, 10_000), {"from": user})
    gas["borrow (first debt, 1 collateral)"] = _timed(chain, v.borrow, 0, t[2], _units(dep, 2, 10_000), user,
                                                        {"from": user})
    gas["borrow (existing debt)"] = _timed(chain, v.borrow, 0, t[2], _units(dep, 2, 1_000), user, {"from": user})
    _fund(dep, user, 2, _units(dep, 2, 100_000))
    gas["repay (partial)"] = _timed(chain, v.repay, user, 0, t[2], _units(dep, 2, 1_000), {"from": user})
    gas["withdraw (partial, with debt: health check)"] = _timed(chain, v.withdraw, 0, t[0], _units(dep, 0, 1_000), user,
                                                                    {"from": user})
    gas["transfer between sub-accounts"] = _timed(chain, v.transfer, 0, 1, t[0], _units(dep, 0, 1_000), {"from": user})
    gas["repay (all)"] = _timed(chain, v.repay, user, 0, t[2], 2**256 - 1, {"from": user})
    gas["withdraw (all, no debt)"] = _timed(chain, v.withdraw, 0, t[0], 2**256 - 1, user, {"from": user})
    gas["accrue (one market)"] = _timed(chain, v.accrue, t[2], {"from": user})

    # Liquidation of sub-accounts holding k assets: k - 1 collaterals (markets 0..k-2) and debt in market 7.
    for k in range(2, 9):
        sub = 10 + k
        collaterals = list(range(k - 1))
        _open(dep, user, sub, collaterals, [7], usd_each=10_000, debt_usd_each=int(7_500 * (k - 1)))
        name = f"liquidate ({k} assets: {k - 1} collateral, 1 debt)"
        gas[name] = _liquidate(dep, chain, user, sub, 7, 0, keeper, gov, collaterals)
    # The target case: 3 collaterals (0, 1, 2) and 2 debts (6, 7).
    _open(dep, user, 30, [0, 1, 2], [6, 7], usd_each=10_000, debt_usd_each=11_000)
    gas["liquidate (5 assets: 3 collateral, 2 debt)"] = _liquidate(dep, chain, user, 30, 7, 0, keeper, gov, [0, 1, 2])
    gas.update(_policies(dep, chain, gov, user, keeper))
    return gas


# IVaultBase.LiquidationPolicy; close-factor (0, the default) is measured above.
FIXED_INCENTIVE, DUTCH, ABSORB = 1, 2, 3


def _policies(dep: Deployment, chain: Any, gov: Any, user: Any, keeper: Any) -> dict[str, int]:
    """Each other policy's liquidation on the shapes above (1 collateral + 1 debt; 3 collaterals + 2 debts):
    fixed-incentive and Dutch liquidate; absorb takes the account whole, and a keeper then buys the collateral."""
    v = dep.vault
    gas: dict[str, int] = {}
    for policy, name in ((FIXED_INCENTIVE, "fixed-incentive"), (DUTCH, "dutch")):
        v.setLiquidationPolicy(policy, {"from": gov})
        sub = 40 + policy * 2
        _open(dep, user, sub, [0], [7], usd_each=10_000, debt_usd_each=7_500)
        gas[f"liquidate, {name} (2 assets: 1 collateral, 1 debt)"] = _liquidate(dep, chain, user, sub, 7, 0, keeper,
                                                                                 gov, [0])
        _open(dep, user, sub + 1, [0, 1, 2], [6, 7], usd_each=10_000, debt_usd_each=11_000)
        gas[f"liquidate, {name} (5 assets: 3 collateral, 2 debt)"] = _liquidate(dep, chain, user, sub + 1, 7, 0,
                                                                                 keeper, gov, [0, 1, 2])
    v.setLiquidationPolicy(ABSORB, {"from": gov})
    _open(dep, user, 50, [0], [7], usd_each=10_000, debt_usd_each=7_500)
    gas["absorb (2 assets: 1 collateral, 1 debt)"] = _absorb(dep, chain, user, 50, gov, [0], keeper)
    _open(dep, user, 51, [0, 1, 2], [6, 7], usd_each=10_000, debt_usd_each=11_000)
    gas["absorb (5 assets: 3 collateral, 2 debt)"] = _absorb(dep, chain, user, 51, gov, [0, 1, 2], keeper)
    # The keeper buys part of the absorbed WETH-like collateral (market 0) with market 7's token.
    pay = _units(dep, 7, 1_000)
    _fund(dep, keeper, 7, pay)
    gas["buyCollateral (absorbed collateral)"] = _timed(chain, v.buyCollateral, dep.tokens[0], dep.tokens[7], pay, 0,
                                                        0, {"from": keeper})
    v.setLiquidationPolicy(0, {"from": gov})
    return gas


def _absorb(dep: Deployment, chain: Any, user: Any, sub: int, gov: Any, crashed: list[int], keeper: Any) -> int:
    _crash(dep, crashed, 85, gov)
    assert dep.vault.accountState(user, sub)["healthMaint"] < 0, "gas bench set-up: the account should be absorbable"
    used = _timed(chain, dep.vault.absorb, user, sub, {"from": keeper})
    _crash(dep, crashed, 100, gov)
    return used


def _liquidate(dep: Deployment, chain: Any, user: Any, sub: int, debt: int, coll: int, keeper: Any, gov: Any,
               crashed: list[int]) -> int:
    v = dep.vault
    _crash(dep, crashed, 85, gov)
    state = v.accountState(user, sub)
    assert state["healthMaint"] < 0, "gas bench set-up: the account should be liquidatable"
    repay = _units(dep, debt, 1_000)
    _fund(dep, keeper, debt, repay)
    used = _timed(chain, v.liquidate, user, sub, dep.tokens[debt], dep.tokens[coll], repay, 0, {"from": keeper})
    _crash(dep, crashed, 100, gov)
    return used


def load_snapshot(path: Path = SNAPSHOT) -> dict[str, dict[str, int]]:
    return json.loads(path.read_text()) if path.exists() else {}


def write_snapshot(chain_name: str, gas: dict[str, int], path: Path = SNAPSHOT) -> None:
    data = load_snapshot(path)
    data[chain_name] = dict(sorted(gas.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def regressions(measured: dict[str, int], committed: dict[str, int], tolerance: float = TOLERANCE) -> list[str]:
    """Operations whose gas rose more than `tolerance` above the committed figure, or that are new/missing."""
    problems = []
    for name in sorted(set(measured) | set(committed)):
        if name not in committed:
            problems.append(f"{name}: not in the snapshot (measured {measured[name]}); run `make gas`")
        elif name not in measured:
            problems.append(f"{name}: in the snapshot but no longer measured; run `make gas`")
        elif measured[name] > committed[name] * (1 + tolerance):
            rise = measured[name] / committed[name] - 1
            problems.append(f"{name}: {measured[name]} gas, {rise:+.1%} over the committed {committed[name]}")
    return problems


def table(snapshot: dict[str, dict[str, int]]) -> str:
    chains = sorted(snapshot)
    names = sorted({n for c in chains for n in snapshot[c]})
    lines = ["| operation | " + " | ".join(chains) + " |", "|---|" + "---:|" * len(chains)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{snapshot[c].get(n, '')}" for c in chains) + " |")
    return "\n".join(lines)
