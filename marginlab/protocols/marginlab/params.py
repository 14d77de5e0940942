"""The vault's own encoding of a scenario market: the ``MarketParams`` tuple ``Vault.listMarket`` takes."""
from __future__ import annotations

from marginlab.numbers import to_units, wad
from marginlab.scenario.model import Market


def market_params(m: Market, irm: str) -> tuple:
    """The Vault's MarketParams tuple for a scenario market."""
    cap = lambda c: 0 if c is None else to_units(c, m.decimals)  # noqa: E731
    return (wad(m.asset_weight.init), wad(m.asset_weight.maint), wad(m.liab_weight.init),
            wad(m.liab_weight.maint), wad(m.liquidation_bonus), wad(m.protocol_share), wad(m.reserve_factor),
            cap(m.supply_cap), cap(m.borrow_cap), irm)
