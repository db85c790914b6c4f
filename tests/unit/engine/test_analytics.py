"""Report series agree with the batched metrics they summarise."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analytics import (
    calendar_returns,
    downsample,
    monthly_table,
    rolling_statistics,
    rolling_window,
)
from engine.metrics import performance_metrics


def _curve(n=400, seed=3):
    rng = np.random.default_rng(seed)
    equity = 100.0 * np.cumprod(1 + rng.normal(0.0005, 0.01, n))
    stamps = np.datetime64("2021-01-01T00:00:00") + np.arange(n) * np.timedelta64(1, "D")
    return equity, stamps


def test_calendar_returns_compound_to_the_total():
    equity, stamps = _curve()
    total = equity[-1] / equity[0] - 1
    for period in ("M", "Y"):
        assert np.prod(1 + calendar_returns(equity, stamps, period)) - 1 == pytest.approx(total)
    table = monthly_table(equity, stamps)
    assert list(table.columns) == list(range(1, 13)) and list(table.index) == [2021, 2022]
    assert np.isnan(table.loc[2022, 12])


def test_a_window_over_the_whole_curve_is_the_backtest_sharpe():
    equity, _ = _curve()
    n = len(equity) - 1
    rolling = rolling_statistics(equity, 252.0, 0.03, n)
    metrics = performance_metrics(equity, periods_per_year=252.0, risk_free_rate=0.03)
    assert rolling["sharpe_ratio"].iloc[-1] == pytest.approx(metrics["sharpe_ratio"])
    assert rolling["volatility"].iloc[-1] == pytest.approx(metrics["volatility"])
    assert rolling["sharpe_ratio"].iloc[: n - 1].isna().all()


def test_flat_stretches_have_no_sharpe():
    rolling = rolling_statistics(np.full(10, 5.0), 252.0, 0.0, 3)
    assert rolling["sharpe_ratio"].isna().all() and (rolling["volatility"].dropna() == 0).all()


def test_window_and_downsample():
    assert rolling_window(2000, 252) == 126 and rolling_window(30, 252) == 10
    assert rolling_window(3, 252) == 2
    picked = downsample(10_001, 500)
    assert picked[0] == 0 and picked[-1] == 10_000 and len(picked) <= 500
    assert list(downsample(5, 10)) == [0, 1, 2, 3, 4]
