"""The market's array helpers against pandas, which they replace on the per-backtest path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.market import Market, forward_filled
from engine.simulation import period_starts
from engine.strategies.registry import REBALANCE_CHOICES

prices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=12),
    elements=st.one_of(st.just(np.nan), st.just(np.inf), st.floats(-1e6, 1e6)),
)


@given(prices)
def test_forward_fill_is_pandas_ffill(values):
    expected = pd.DataFrame(values).ffill().to_numpy()
    np.testing.assert_array_equal(forward_filled(values), expected)


def _pandas_period_starts(timestamps: np.ndarray) -> np.ndarray:
    """The calendar rule written with pandas: a new day, ISO week (from Monday) or month."""
    ts = pd.DatetimeIndex(timestamps)
    keys = {
        "daily": ts.normalize().asi8,
        "weekly": (ts.normalize() - pd.to_timedelta(ts.day_of_week, unit="D")).asi8,
        "monthly": (ts.year * 12 + ts.month).to_numpy(),
    }
    return np.stack(
        [np.concatenate([[True], keys[n][1:] != keys[n][:-1]]) for n in REBALANCE_CHOICES]
    )


@settings(max_examples=200)
@given(
    st.lists(st.integers(-80 * 365 * 86_400, 80 * 365 * 86_400), min_size=1, max_size=40),
    st.sampled_from([3_600, 86_400, 5 * 86_400]),
)
def test_period_starts_follow_the_calendar(offsets, step):
    """Sorted times on both sides of 1970 (whose first day was a Thursday), hourly to weekly."""
    seconds = np.sort(np.asarray(offsets, np.int64))
    seconds = np.concatenate([seconds, seconds[-1] + step * np.arange(1, 20)])
    stamps = seconds.astype("datetime64[s]").astype("datetime64[ns]")
    np.testing.assert_array_equal(period_starts(stamps), _pandas_period_starts(stamps))


def _market(stamps: list[str]) -> Market:
    n = len(stamps)
    ones = np.ones((n, 1))
    return Market(np.array(stamps, "datetime64[ns]"), ("X",), ones, ones, ones, ones, ones)


@pytest.mark.parametrize(
    ("start", "end", "kept"),
    [
        (pd.Timestamp("2024-01-02", tz="UTC"), None, 2),
        (None, pd.Timestamp("2024-01-02", tz="UTC"), 2),
        (pd.Timestamp("2024-01-02 05:00", tz="US/Eastern"), None, 1),  # 10:00 UTC
        (pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-02"), 1),  # naive: UTC
    ],
)
def test_between_compares_in_utc(start, end, kept):
    market = _market(["2024-01-01", "2024-01-02", "2024-01-03T09:00"])
    assert market.between(start, end).n_bars == kept
