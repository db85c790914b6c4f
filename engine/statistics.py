"""Statistics of one backtest beyond the batched metrics: drawdown periods, exposure, trades.

Pure numpy on a single path. Values are fractions (0.12, not 12 %) and durations are calendar
days. The definitions follow backtesting.py 0.6.6's ``_stats.py`` where they agree (tested on
its GOOG data); ``docs/reports.md`` lists where and why they differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.metrics import drawdown_series

DAY = np.timedelta64(86_400, "s")


@dataclass(frozen=True)
class DrawdownPeriod:
    """From a peak (``start``) through its lowest point (``trough``) to a new peak or the end."""

    start: int
    trough: int
    end: int
    depth: float  # the lowest drawdown, <= 0
    recovered: bool
    duration_days: float


def drawdown_periods(equity: np.ndarray, timestamps: np.ndarray) -> list[DrawdownPeriod]:
    """Every drawdown of ``equity`` in time order; the last one may still be open."""
    dd = drawdown_series(np.asarray(equity, dtype=np.float64))
    bounds = np.unique(np.r_[np.flatnonzero(dd == 0), len(dd) - 1])
    periods = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        if end <= start + 1:
            continue
        trough = int(start + np.argmin(dd[start : end + 1]))
        days = (timestamps[end] - timestamps[start]) / DAY
        periods.append(
            DrawdownPeriod(int(start), trough, int(end), float(dd[trough]), dd[end] == 0, days)
        )
    return periods


def worst_drawdowns(periods: Sequence[DrawdownPeriod], n: int = 5) -> list[DrawdownPeriod]:
    """The ``n`` deepest drawdown periods, deepest first."""
    return sorted(periods, key=lambda p: p.depth)[:n]


def drawdown_statistics(periods: Sequence[DrawdownPeriod]) -> dict[str, float]:
    """Mean depth and the longest and mean durations of the drawdown periods (NaN if none)."""
    if not periods:
        return dict.fromkeys(
            ("average_drawdown", "max_drawdown_duration", "average_drawdown_duration"), np.nan
        )
    days = np.array([p.duration_days for p in periods])
    return {
        "average_drawdown": float(np.mean([p.depth for p in periods])),
        "max_drawdown_duration": float(days.max()),
        "average_drawdown_duration": float(days.mean()),
    }


def exposure_time(shares: np.ndarray) -> float:
    """Share of bars that close holding a position in any symbol."""
    held = np.any(np.asarray(shares).reshape(len(shares), -1) != 0, axis=1)
    return float(held.mean()) if held.size else np.nan


def buy_and_hold_return(closes: np.ndarray) -> float:
    """Equal-weight buy-and-hold of the columns of ``closes`` ``(T, S)`` from the first bar's
    close to the last (missing bars carry the last close, as the simulation values them)."""
    closes = np.asarray(closes, dtype=np.float64).reshape(len(closes), -1)
    return float(np.mean(closes[-1] / closes[0] - 1.0)) if len(closes) >= 2 else np.nan


def geometric_mean_return(returns: np.ndarray) -> float:
    """``(prod(1 + r)) ** (1 / n) - 1``; 0 when a return loses everything (as backtesting.py)."""
    growth = 1.0 + np.asarray(returns, dtype=np.float64)
    if not growth.size:
        return np.nan
    if np.any(growth <= 0):
        return 0.0
    return float(np.exp(np.log(growth).mean()) - 1.0)


def trade_quality(pnl: np.ndarray, returns: np.ndarray, days: np.ndarray) -> dict[str, float]:
    """Expectancy, SQN, Kelly, best/worst/average trade and duration of round trips.

    ``returns`` are fractions of the entry notional, ``days`` each trade's calendar duration.
    SQN is ``sqrt(n) * mean(pnl) / std(pnl)`` (sample std); Kelly is ``W - (1 - W) / R`` with
    ``W`` the share of winning trades and ``R`` the mean win over the mean loss.
    """
    pnl, returns = np.asarray(pnl, dtype=np.float64), np.asarray(returns, dtype=np.float64)
    if not pnl.size:
        keys = ("expectancy", "sqn", "kelly_criterion", "best_trade", "worst_trade")
        return dict.fromkeys((*keys, "average_trade", "average_trade_duration"), np.nan)
    with np.errstate(all="ignore"):
        spread = pnl.std(ddof=1) if pnl.size > 1 else np.nan
        win = float(np.mean(pnl > 0))
        payoff = np.mean(pnl[pnl > 0]) / -np.mean(pnl[pnl < 0]) if win not in (0.0, 1.0) else np.nan
        return {
            "expectancy": float(returns.mean()),
            "sqn": float(np.sqrt(pnl.size) * pnl.mean() / spread) if spread else np.nan,
            "kelly_criterion": float(win - (1.0 - win) / payoff),
            "best_trade": float(returns.max()),
            "worst_trade": float(returns.min()),
            "average_trade": geometric_mean_return(returns),
            "average_trade_duration": float(np.mean(days)),
        }
