"""The vault's own encoding of a scenario market (the ``MarketParams`` tuple ``Vault.listMarket`` takes) and of the
scenario's ``liquidation:`` section (policy, ``LiquidationParams``, dust minimums)."""
from __future__ import annotations

from dataclasses import replace

from marginlab.model.vault import (
    DEFAULT_LIQUIDATION_PARAMS,
    DEFAULT_MIN_COLLATERAL_LEFT_VALUE,
    DEFAULT_MIN_DEBT_LEFT_VALUE,
    LiquidationParams,
    Policy,
)
from marginlab.numbers import to_units, wad
from marginlab.scenario.model import Liquidation, Market


def market_params(m: Market, irm: str) -> tuple:
    """The Vault's MarketParams tuple for a scenario market."""
    cap = lambda c: 0 if c is None else to_units(c, m.decimals)  # noqa: E731
    return (wad(m.asset_weight.init), wad(m.asset_weight.maint), wad(m.liab_weight.init),
            wad(m.liab_weight.maint), wad(m.liquidation_bonus), wad(m.protocol_share), wad(m.reserve_factor),
            cap(m.supply_cap), cap(m.borrow_cap), irm)


#: The scenario's policy names → the vault's IVaultBase.LiquidationPolicy.
POLICIES = {"close-factor": Policy.CLOSE_FACTOR, "fixed-incentive": Policy.FIXED_INCENTIVE, "dutch": Policy.DUTCH,
            "absorb": Policy.ABSORB}


def liquidation_policy(section: Liquidation) -> Policy:
    return POLICIES[section.policy]


def liquidation_params(section: Liquidation) -> LiquidationParams:
    """The vault's LiquidationParams: the section's parameters (WAD), the vault's defaults for the rest."""
    given = {f: wad(getattr(section, f)) for f in (
        "close_factor", "full_close_health_factor", "incentive_cursor", "max_incentive", "max_discount",
        "target_health_factor", "store_front_factor") if getattr(section, f) is not None}
    return replace(DEFAULT_LIQUIDATION_PARAMS, **given)


def dust_minimums(section: Liquidation) -> tuple[int, int]:
    """(minDebtLeftValue, minCollateralLeftValue), USD WAD: the section's, the vault's defaults for the rest."""
    debt = wad(section.min_debt_left) if section.min_debt_left is not None else DEFAULT_MIN_DEBT_LEFT_VALUE
    coll = wad(section.min_collateral_left) if section.min_collateral_left is not None \
        else DEFAULT_MIN_COLLATERAL_LEFT_VALUE
    return debt, coll
