"""Time series a report draws from an equity curve: calendar returns and rolling statistics.

Pure pandas on one curve. Returns are fractions; rolling statistics use the conventions of
``engine.metrics`` (sample std, per-period risk-free rate ``rf / ppy``, annualised by
``sqrt(ppy)``) so a rolling Sharpe over the whole curve equals the backtest's Sharpe.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _curve(equity: np.ndarray, timestamps: np.ndarray) -> pd.Series:
    index = pd.DatetimeIndex(pd.to_datetime(timestamps, utc=True))
    return pd.Series(np.asarray(equity, dtype=np.float64), index=index)


def calendar_returns(equity: np.ndarray, timestamps: np.ndarray, period: str) -> pd.Series:
    """Compounded return of each calendar month (``"M"``) or year (``"Y"``), from the last
    value of the period before (the first period starts from the first value)."""
    curve = _curve(equity, timestamps)
    keys = curve.index.tz_convert(None).to_period(period)
    last = curve.groupby(keys).last()
    previous = last.shift(1)
    previous.iloc[0] = curve.iloc[0]
    return last / previous - 1.0


def monthly_table(equity: np.ndarray, timestamps: np.ndarray) -> pd.DataFrame:
    """Monthly returns as a year x month (1..12) table, NaN where a month has no bars."""
    monthly = calendar_returns(equity, timestamps, "M")
    frame = pd.DataFrame(
        {"year": monthly.index.year, "month": monthly.index.month, "value": monthly.values}
    )
    table = frame.pivot(index="year", columns="month", values="value")
    return table.reindex(columns=range(1, 13))


def rolling_window(n_bars: int, periods_per_year: float) -> int:
    """Six months of bars, but at most a third of the curve and at least 2."""
    return int(max(2, min(round(periods_per_year / 2), n_bars // 3)))


def rolling_statistics(
    equity: np.ndarray, periods_per_year: float, risk_free_rate: float, window: int
) -> pd.DataFrame:
    """Rolling annualised Sharpe ratio and volatility over ``window`` returns (NaN before
    the window fills, and where the returns do not vary)."""
    returns = pd.Series(np.asarray(equity, dtype=np.float64)).pct_change().iloc[1:]
    excess = returns - risk_free_rate / periods_per_year
    spread = excess.rolling(window).std(ddof=1)
    spread = spread.where(spread > 1e-15)
    annual = np.sqrt(periods_per_year)
    sharpe = excess.rolling(window).mean() / spread * annual
    volatility = returns.rolling(window).std(ddof=1) * annual
    return pd.DataFrame({"sharpe_ratio": sharpe.values, "volatility": volatility.values})


def downsample(n: int, limit: int) -> np.ndarray:
    """At most ``limit`` evenly spaced indices of ``range(n)``, always with the first and last."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))
