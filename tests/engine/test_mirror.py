"""The mirror's valuation (marginlab/mirror.py) equals the integer model of VaultBase._accountState, which the
unit tests hold equal to the vault to the wei; the chain-level proof (timelines byte-identical under --reads
chain and --reads mirror, a missed balance change stopping the replay) is tests/integration/test_mirror_reads.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marginlab.protocols.marginlab.mirror import PriceUnavailable, Quote, underlying, value_account

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from marginlab.model import vault as pm  # noqa: E402
from proptest import property_settings  # noqa: E402

WAD = 10**18

weights = st.tuples(st.integers(WAD // 100, WAD * 95 // 100), st.integers(WAD, 2 * WAD))


@st.composite
def market(draw):
    aw_init, lw_maint = draw(weights)
    aw_maint = draw(st.integers(aw_init, WAD - 1))
    lw_init = draw(st.integers(lw_maint, 2 * WAD))
    return Quote(decimals=draw(st.sampled_from([0, 6, 8, 18, 24])),
                 deposit_index=draw(st.integers(WAD // 2, 50 * WAD)), borrow_index=draw(st.integers(WAD, 50 * WAD)),
                 asset_weight_init=aw_init, asset_weight_maint=aw_maint, liab_weight_init=lw_init,
                 liab_weight_maint=lw_maint, price=draw(st.integers(1, 10**30)))


@property_settings(400, deep_examples=20_000)
@given(st.lists(st.tuples(market(), st.integers(-10**30, 10**30) | st.integers(-3, 3)), min_size=1, max_size=8))
def test_the_mirror_values_a_sub_account_exactly_like_the_integer_model(held):
    quotes = [q for q, _ in held]
    scaled = [s for _, s in held]
    symbols = [f"T{i}" for i in range(len(held))]
    got = value_account(scaled, quotes, symbols)
    positions = [pm.Position(pm.underlying(s, q.deposit_index, q.borrow_index), q.price, q.decimals,
                             pm.Params(q.asset_weight_init, q.asset_weight_maint, q.liab_weight_init,
                                       q.liab_weight_maint)) for q, s in held if s != 0]
    want = pm.health(positions)
    assert got.balances == {sym: underlying(s, q.deposit_index, q.borrow_index)
                            for sym, (q, s) in zip(symbols, held) if s != 0}
    assert (got.health_init, got.health_maint, got.collateral_value, got.debt_value) == (
        want.health_init, want.health_maint, want.collateral_value, want.debt_value)
    assert got.health_factor == (None if want.debt_maint == 0 else want.health_factor)


def test_a_held_market_without_a_price_fails_like_the_vault_even_for_a_zero_amount():
    base = dict(decimals=18, deposit_index=WAD, borrow_index=WAD, asset_weight_init=WAD // 2,
                asset_weight_maint=WAD * 6 // 10, liab_weight_init=WAD, liab_weight_maint=WAD)
    ok, broken = Quote(price=2000 * WAD, **base), Quote(price=0, price_error=b"\x01\x02", **base)
    assert value_account([10**18, 0], [ok, broken], ["A", "B"]).collateral_value == 2000 * WAD  # B not held
    with pytest.raises(PriceUnavailable) as exc:
        value_account([10**18, 1], [ok, Quote(**{**base, "deposit_index": WAD // 2}, price=0,
                                                price_error=b"\x01\x02")], ["A", "B"])  # 1 scale = 0 units
    assert exc.value.data == b"\x01\x02"
    assert value_account([0, 0], [ok, broken], ["A", "B"]).health_factor is None
