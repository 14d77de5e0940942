"""GBM paths are deterministic, exact Decimals at the feed's precision; CSV paths load and report bad rows."""
from __future__ import annotations

from decimal import Decimal

import pytest

from marginlab.scenario.paths import PathError, csv_prices, feed_price, gbm_prices
from marginlab.scenario.model import CsvPath, GbmPath


def _gbm(**kw) -> GbmPath:
    fields = {"model": "gbm", "sigma": "0.9", "dt": 3600, "count": 50}
    fields.update(kw)
    return GbmPath.model_validate(fields)


def test_gbm_path_is_identical_for_the_same_seed():
    a = gbm_prices(Decimal(2000), _gbm(), seed=7, symbol="WETH", feed_decimals=8)
    b = gbm_prices(Decimal(2000), _gbm(), seed=7, symbol="WETH", feed_decimals=8)
    assert a == b
    assert len(a) == 50


def test_gbm_path_changes_with_the_seed_and_the_symbol():
    base = gbm_prices(Decimal(2000), _gbm(), seed=7, symbol="WETH", feed_decimals=8)
    assert gbm_prices(Decimal(2000), _gbm(), seed=8, symbol="WETH", feed_decimals=8) != base
    assert gbm_prices(Decimal(2000), _gbm(), seed=7, symbol="WBTC", feed_decimals=8) != base


def test_gbm_path_seed_field_overrides_the_scenario_seed():
    a = gbm_prices(Decimal(2000), _gbm(seed=99), seed=1, symbol="WETH", feed_decimals=8)
    b = gbm_prices(Decimal(2000), _gbm(seed=99), seed=2, symbol="WETH", feed_decimals=8)
    assert a == b


def test_gbm_prices_are_exact_decimals_at_the_feed_precision():
    prices = gbm_prices(Decimal(2000), _gbm(), seed=7, symbol="WETH", feed_decimals=8)
    for p in prices:
        assert isinstance(p, Decimal)
        assert p > 0
        assert p == p.quantize(Decimal("1e-8"))
        assert len(p.normalize().as_tuple().digits) <= 8


def test_gbm_first_prices_are_pinned():
    """Pins the generator: changing numpy's stream or the formula must be a deliberate, visible change."""
    prices = gbm_prices(Decimal(2000), _gbm(count=3), seed=7, symbol="WETH", feed_decimals=8)
    assert [str(p) for p in prices] == PINNED


PINNED = ["2030.62090000", "2055.40770000", "2047.91460000"]


def test_zero_volatility_without_drift_keeps_the_price():
    prices = gbm_prices(Decimal("1.5"), _gbm(sigma="0", count=5), seed=7, symbol="X", feed_decimals=8)
    assert prices == [Decimal("1.50000000")] * 5


def test_feed_price_never_rounds_to_zero():
    assert feed_price(Decimal("0.000000001"), 8) == Decimal("0.00000001")


def test_csv_path_reads_a_column(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("t,WETH\n0,2000\n1,1999.5\n2,1800.123456789\n")
    prices = csv_prices(f, CsvPath(model="csv", file="p.csv", column="WETH", dt=60), feed_decimals=8)
    assert prices == [Decimal("2000.0000"), Decimal("1999.5000"), Decimal("1800.1235")]


def test_csv_path_names_the_bad_row(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("t,WETH\n0,2000\n1,-3\n")
    with pytest.raises(PathError, match=r"p.csv:3: price must be greater than 0, got -3"):
        csv_prices(f, CsvPath(model="csv", file="p.csv", column="WETH", dt=60), feed_decimals=8)


def test_csv_path_names_a_missing_column(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("t,WBTC\n0,2000\n")
    with pytest.raises(PathError, match=r"no column 'WETH' \(columns: t, WBTC\)"):
        csv_prices(f, CsvPath(model="csv", file="p.csv", column="WETH", dt=60), feed_decimals=8)
