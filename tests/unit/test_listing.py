"""Governance: listing and its validation (I10), parameter changes, dust minimums, roles, reserves."""
import brownie
import pytest

import chainkit
from unitkit import MAX, WAD, err, market_books, open_position, set_params

P = chainkit.PARAM_ORDER


@pytest.fixture
def fresh(gov, router):
    """A token with a feed, ready to list."""
    token = brownie.SimToken.deploy("NEW", "NEW", 12, {"from": gov})
    router.setFeed(token, brownie.SettableAggregator.deploy(8, 10**8, {"from": gov}), chainkit.LONG_HEARTBEAT, {"from": gov})
    return token


def params(proto, **overrides):
    return chainkit.params(proto.irm, **overrides)


def test_list_market_records_the_market_and_emits_every_parameter(proto, vault, gov, fresh):
    n = len(vault.markets())
    p = params(proto, supplyCap=10**30, borrowCap=10**29)
    tx = vault.listMarket(fresh, p, {"from": gov})
    ev = tx.events["MarketListed"]
    assert (ev["token"], ev["decimals"], ev["index"]) == (fresh, 12, n)
    assert tuple(ev["params"]) == p
    assert vault.markets()[-1] == fresh and tuple(vault.marketParams(fresh)) == p
    s = vault.marketState(fresh)
    assert (s["depositIndex"], s["borrowIndex"], s["decimals"], s["totalDeposits"]) == (WAD, WAD, 12, 0)


def test_list_market_accepts_the_boundary_values(proto, vault, gov, fresh):
    # init == maint weights, liability weights exactly 1, maint × (1 + bonus) exactly 1, share 100 %
    vault.listMarket(fresh, params(proto, assetWeightInit=WAD * 8 // 10, assetWeightMaint=WAD * 8 // 10,
                                   liquidationBonus=WAD // 4, protocolShare=WAD), {"from": gov})


@pytest.mark.parametrize("overrides,error", [
    (dict(assetWeightInit=0), "InvalidAssetWeights"),
    (dict(assetWeightInit=86 * WAD // 100), "InvalidAssetWeights"),
    (dict(assetWeightInit=WAD // 2, assetWeightMaint=WAD), "InvalidAssetWeights"),
    (dict(liabWeightMaint=WAD - 1, liabWeightInit=WAD), "InvalidLiabilityWeights"),
    (dict(liabWeightMaint=12 * WAD // 10, liabWeightInit=11 * WAD // 10), "InvalidLiabilityWeights"),
    (dict(liquidationBonus=0), "ZeroLiquidationBonus"),
    (dict(liquidationBonus=20 * WAD // 100), "BonusTooLargeForWeight"),
    (dict(protocolShare=WAD + 1), "ProtocolShareAboveOne"),
    (dict(reserveFactor=WAD), "ReserveFactorTooHigh"),
], ids=lambda x: str(x) if isinstance(x, str) else ",".join(x))
def test_list_market_rejects_invalid_parameters(proto, vault, gov, fresh, overrides, error):
    with brownie.reverts(revert_pattern=err(error)):
        vault.listMarket(fresh, params(proto, **overrides), {"from": gov})
    with brownie.reverts(revert_pattern=err(error)):
        vault.setMarketParams(proto["WETH"].token, params(proto, **overrides), {"from": gov})


def test_list_market_rejects_a_zero_rate_model(proto, vault, gov, fresh):
    p = list(params(proto))
    p[-1] = brownie.ZERO_ADDRESS
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        vault.listMarket(fresh, p, {"from": gov})


def test_list_market_rejects_the_zero_token_a_listed_token_and_a_token_without_feed(proto, vault, gov, weth):
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        vault.listMarket(brownie.ZERO_ADDRESS, params(proto), {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketAlreadyListed")):
        vault.listMarket(weth, params(proto), {"from": gov})
    unpriced = brownie.SimToken.deploy("U", "U", 18, {"from": gov})
    with brownie.reverts(revert_pattern=err("MissingFeed")):
        vault.listMarket(unpriced, params(proto), {"from": gov})


def test_list_market_rejects_more_than_36_decimals(proto, vault, gov, router):
    token = brownie.SimToken.deploy("D", "D", 37, {"from": gov})
    router.setFeed(token, brownie.SettableAggregator.deploy(8, 10**8, {"from": gov}), 3600, {"from": gov})
    with brownie.reverts(revert_pattern=err("DecimalsOutOfRange")):
        vault.listMarket(token, params(proto), {"from": gov})


def test_list_market_stops_at_16_markets(proto, vault, gov, router):
    f = brownie.SettableAggregator.deploy(8, 10**8, {"from": gov})
    for i in range(16 - len(vault.markets())):
        token = brownie.SimToken.deploy("T", "T", 18, {"from": gov})
        router.setFeed(token, f, 3600, {"from": gov})
        vault.listMarket(token, params(proto), {"from": gov})
    token = brownie.SimToken.deploy("T", "T", 18, {"from": gov})
    router.setFeed(token, f, 3600, {"from": gov})
    with brownie.reverts(revert_pattern=err("TooManyMarkets")):
        vault.listMarket(token, params(proto), {"from": gov})


def test_governance_functions_are_governor_only(proto, vault, rando, weth, fresh):
    for call in (
        lambda: vault.listMarket(fresh, params(proto), {"from": rando}),
        lambda: vault.setMarketParams(weth, params(proto), {"from": rando}),
        lambda: vault.setDustMinimums(0, 0, {"from": rando}),
        lambda: vault.setLiquidationPolicy(1, {"from": rando}),
        lambda: vault.setLiquidationParams(vault.liquidationParams(), {"from": rando}),
        lambda: vault.setGovernor(rando, {"from": rando}),
        lambda: vault.setGuardian(rando, {"from": rando}),
        lambda: vault.withdrawReserves(weth, 1, rando, {"from": rando}),
        lambda: vault.setLiquidationGracePeriod(0, {"from": rando}),
    ):
        with brownie.reverts(revert_pattern=err("NotGovernor")):
            call()


def test_set_market_params_replaces_them_and_emits_them(proto, vault, gov, weth):
    p = params(proto, assetWeightInit=WAD // 2, borrowCap=5)
    tx = vault.setMarketParams(weth, p, {"from": gov})
    assert tuple(tx.events["MarketParamsSet"]["params"]) == p and tuple(vault.marketParams(weth)) == p


def test_set_market_params_reverts_for_an_unlisted_token(proto, vault, gov, fresh):
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.setMarketParams(fresh, params(proto), {"from": gov})
    with brownie.reverts(revert_pattern=err("MarketNotListed")):
        vault.marketParams(fresh)


def test_roles_can_be_handed_over(vault, gov, guardian, rando):
    tx = vault.setGuardian(rando, {"from": gov})
    assert tx.events["GuardianSet"]["previous"] == guardian and vault.guardian() == rando
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        vault.setGovernor(brownie.ZERO_ADDRESS, {"from": gov})
    tx = vault.setGovernor(rando, {"from": gov})
    assert tx.events["GovernorProposed"]["pendingGovernor"] == rando and vault.pendingGovernor() == rando
    assert vault.governor() == gov  # two steps: nothing moves until the governor-elect accepts
    tx = vault.acceptGovernance({"from": rando})
    assert tx.events["GovernorSet"]["governor"] == rando and vault.governor() == rando
    assert vault.pendingGovernor() == brownie.ZERO_ADDRESS
    with brownie.reverts(revert_pattern=err("NotGovernor")):
        vault.setDustMinimums(0, 0, {"from": gov})


def test_vault_constructor_rejects_a_zero_governor_or_router(gov, guardian, router):
    modules = [getattr(brownie, name).deploy(router, {"from": gov}) for name in ("VaultLiquidation", "VaultGovernance")]
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        brownie.Vault.deploy(brownie.ZERO_ADDRESS, guardian, router, *modules, {"from": gov})
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        brownie.Vault.deploy(gov, guardian, brownie.ZERO_ADDRESS, *modules, {"from": gov})


def test_withdraw_reserves_sends_them_and_lowers_the_books(proto, vault, gov, usdc, rando):
    reserves = market_books(proto, "USDC")["reserves"]
    assert reserves > 0
    tx = vault.withdrawReserves(usdc, reserves, rando, {"from": gov})
    assert usdc.balanceOf(rando) == reserves
    assert market_books(proto, "USDC")["reserves"] == 0
    assert (tx.events["ReservesWithdrawn"]["amount"], tx.events["ReservesWithdrawn"]["to"]) == (reserves, rando)


def test_withdraw_reserves_reverts_above_the_reserves_zero_and_to_nobody(proto, vault, gov, usdc):
    reserves = market_books(proto, "USDC")["reserves"]
    with brownie.reverts(revert_pattern=err("InsufficientReserves")):
        vault.withdrawReserves(usdc, reserves + 1, gov, {"from": gov})
    with brownie.reverts(revert_pattern=err("ZeroAmount")):
        vault.withdrawReserves(usdc, 0, gov, {"from": gov})
    with brownie.reverts(revert_pattern=err("ZeroAddress")):
        vault.withdrawReserves(usdc, 1, brownie.ZERO_ADDRESS, {"from": gov})


def test_withdraw_reserves_reverts_when_they_are_lent_out(proto, vault, gov, wbtc, alice):
    # alice borrows all the WBTC liquidity; a year at ~100 % utilisation charges borrowers more than the
    # depositors are credited, the difference is reserves, and those reserves exist only as debt.
    books = market_books(proto, "WBTC")
    open_position(proto, alice, 0, {"USDC": 10_000_000})
    vault.borrow(0, wbtc, books["totalDeposits"] - books["totalBorrows"] - 1, alice, {"from": alice})
    set_params(proto, "WBTC", irm=proto.irm)
    brownie.chain.sleep(chainkit.YEAR)
    vault.accrue(wbtc, {"from": gov})
    after = market_books(proto, "WBTC")
    assert after["totalBorrows"] > after["totalDeposits"]
    with brownie.reverts(revert_pattern=err("InsufficientLiquidity")):
        vault.withdrawReserves(wbtc, after["reserves"], gov, {"from": gov})
