"""The oracle models of ``oracles:`` (issue 17) in isolation: a push feed's deviation, heartbeat and delay, and a
pool TWAP over scenario seconds. Chain-free; the replays that use them are in tests/integration/test_friction.py."""
from __future__ import annotations

from decimal import Decimal

from marginlab.scenario.friction import PushOracle
from marginlab.sim.oracle_models import PushModel
from marginlab.sim.pools import amount_out, twap

D = Decimal


def push(**kw: object) -> PushModel:
    spec = PushOracle.model_validate({"model": "push", "deviation": "0.01", "heartbeat": 3600, **kw})
    return PushModel(spec, D(2000))


def test_push_posts_only_beyond_the_deviation():
    model = push()
    assert model.update(0, 0, D(2019)) is None  # 0.95 %: not enough
    assert model.update(1, 0, D(2021)) == D(2021)  # 1.05 % from the last answer
    assert model.update(2, 0, D(2030)) is None  # 0.45 % from 2021
    assert model.update(3, 0, D(1990)) == D(1990)


def test_push_posts_on_the_heartbeat_even_without_a_move():
    model = push()
    assert model.update(0, 3599, D(2000)) is None
    assert model.update(1, 3600, D(2001)) == D(2001)
    assert model.update(2, 7199, D(2001)) is None
    assert model.update(3, 7200, D(2001)) == D(2001)


def test_push_delay_in_steps_posts_the_triggering_price_later():
    model = push(delay=2)
    assert model.update(0, 0, D(1800)) is None  # triggered, due at step 2
    assert model.update(1, 0, D(1700)) is None  # triggered again (5.6 % below 1800), due at step 3
    assert model.update(2, 0, D(1700)) == D(1800)
    assert model.update(3, 0, D(1700)) == D(1700)
    assert model.update(4, 0, D(1700)) is None


def test_push_delay_in_seconds_counts_scenario_time_not_steps():
    model = push(delay_seconds=600)
    assert model.update(0, 100, D(1800)) is None
    assert model.update(1, 100, D(1800)) is None  # another step, no time: still due at 700
    assert model.update(2, 699, D(1800)) is None
    assert model.update(3, 700, D(1800)) == D(1800)


def test_twap_weighs_each_price_by_the_scenario_seconds_it_held():
    series = [(0, D(2000)), (600, D(1900))]
    # [-600, 600): 2000 (the first sample holds before it too), [600, 1200): 1900
    assert twap(series, 1200, 1800).quantize(D("1e-12")) == D("1966.666666666667")
    assert twap(series, 1200, 1800) * 1800 == D(2000) * 1200 + D(1900) * 600
    assert twap(series, 600, 600) == D(2000)  # the new price has held for no time yet
    assert twap(series, 2400, 600) == D(1900)


def test_twap_does_not_move_without_time():
    assert twap([(0, D(2000))], 0, 1800) == D(2000)
    assert twap([(0, D(2000)), (1, D(1000))], 1, 1800) == D(2000)


def test_twap_ignores_samples_after_now_window_start():
    series = [(0, D(1000)), (100, D(2000)), (200, D(3000))]
    assert twap(series, 300, 100) == D(3000)
    assert twap(series, 300, 200) == D(2500)


def test_amount_out_is_uniswaps_get_amount_out():
    # 1 WETH into a 100 WETH / 200,000 USDC pool: 997 * 200000e6 / (100000 + 997) (in 1e-3 WETH units)
    assert amount_out(10**18, 100 * 10**18, 200_000 * 10**6) == 997 * 10**18 * 200_000 * 10**6 // \
        (100 * 10**18 * 1000 + 997 * 10**18)
    assert amount_out(0, 1, 1) == 0
