"""Obvious per-bar reference signals of the built-in strategies, for tests only.

Every function walks the bars ``t = 0 .. T-1`` with plain Python loops and reads bars ``<= t``
only. Prices are forward-filled over missing bars first (as ``Market.filled`` does); a window
is usable only when it lies inside the series and holds no NaN. Event strategies keep a state
(+1 long, -1 short, 0 flat) that only an event changes; the weight is ``state / S``.

Constant windows are treated exactly: their mean is their value and their deviation is zero
(a z-score or an RSI of 0/0 is undefined, so it triggers nothing).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

REBALANCE = ("daily", "weekly", "monthly")


def forward_fill(x: np.ndarray) -> np.ndarray:
    """``(T, S)`` with each NaN replaced by the symbol's last known value (NaN before any)."""
    out = np.array(x, dtype=float, copy=True)
    for s in range(out.shape[1]):
        last = math.nan
        for t in range(out.shape[0]):
            if math.isnan(out[t, s]):
                out[t, s] = last
            else:
                last = out[t, s]
    return out


def window(x: np.ndarray, t: int, n: int) -> np.ndarray | None:
    """The ``n`` values ``x[t-n+1 .. t]``, or None when they start before 0 or hold a NaN."""
    if n < 1 or t - n + 1 < 0:
        return None
    values = x[t - n + 1 : t + 1]
    return None if np.isnan(values).any() else values


def mean(values: np.ndarray) -> float:
    """``np.mean``, exact for a constant window."""
    return float(values[0]) if np.all(values == values[0]) else float(np.mean(values))


def std(values: np.ndarray) -> float:
    """Population standard deviation (``np.std``), exactly zero for a constant window."""
    return 0.0 if np.all(values == values[0]) else float(np.std(values))


def _events_to_state(up: bool, down: bool, state: float, allow_short: bool) -> float:
    if up:
        return 1.0
    if down:
        return -1.0 if allow_short else 0.0
    return state


# --- strategies, one symbol column at a time -----------------------------------------------


def buy_and_hold(bars: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> np.ndarray:
    """1/S in every symbol from its first bar on."""
    valid = bars["valid"]
    steps, n = valid.shape
    out = np.zeros((steps, n))
    for s in range(n):
        listed = False
        for t in range(steps):
            listed = listed or bool(valid[t, s])
            out[t, s] = 1.0 / n if listed else 0.0
    return out


def sma_crossover(bars: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> np.ndarray:
    """+1 after the fast SMA crosses above the slow one, -1 (or 0) after it crosses below."""
    close = bars["close"]
    steps, n = close.shape
    fast_n, slow_n = int(params["fast_period"]), int(params["slow_period"])
    out = np.zeros((steps, n))
    for s in range(n):
        c = close[:, s]
        state = 0.0
        for t in range(steps):
            up = down = False
            if t >= 1:
                windows = [window(c, t - 1, fast_n), window(c, t - 1, slow_n)]
                windows += [window(c, t, fast_n), window(c, t, slow_n)]
                if all(w is not None for w in windows):
                    fast_prev, slow_prev, fast, slow = (mean(w) for w in windows)
                    up = fast_prev < slow_prev and fast > slow
                    down = fast_prev > slow_prev and fast < slow
            state = _events_to_state(up, down, state, params["allow_short"])
            out[t, s] = state / n
    return out


def mean_reversion(bars: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> np.ndarray:
    """Bollinger z-score: long below -entry_z until z >= -exit_z; short above entry_z until
    z <= exit_z (when shorting is allowed)."""
    close = bars["close"]
    steps, n = close.shape
    size = int(params["window"])
    entry, exit_ = float(params["entry_z"]), float(params["exit_z"])
    out = np.zeros((steps, n))
    for s in range(n):
        c = close[:, s]
        long = short = False
        for t in range(steps):
            w = window(c, t, size)
            if w is not None and std(w) > 0:
                z = (c[t] - mean(w)) / std(w)
                if z >= -exit_:
                    long = False
                elif z < -entry:
                    long = True
                if z <= exit_:
                    short = False
                elif z > entry:
                    short = True
            out[t, s] = (float(long) - float(short and params["allow_short"])) / n
    return out


def _normal_or_zero(x: float) -> float:
    """Averages below the smallest normal float are zero (devices flush subnormals)."""
    return 0.0 if abs(x) < sys.float_info.min else x


def wilder_rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI of one symbol, seeded with the simple mean of the first ``period`` changes
    (as TA-Lib); NaN before the seed and where average gain and loss are both zero."""
    steps = len(close)
    change = np.full(steps, math.nan)
    for t in range(1, steps):
        change[t] = close[t] - close[t - 1]
    rsi = np.full(steps, math.nan)
    gain = loss = math.nan
    for t in range(steps):
        if math.isnan(gain):
            w = window(change, t, period)
            if w is None:
                continue
            gain = mean(np.maximum(w, 0.0))
            loss = mean(np.maximum(-w, 0.0))
        else:
            gain += (max(change[t], 0.0) - gain) / period
            loss += (max(-change[t], 0.0) - loss) / period
        gain, loss = _normal_or_zero(gain), _normal_or_zero(loss)
        if loss > 0:
            rsi[t] = 100.0 - 100.0 / (1.0 + gain / loss)
        elif gain > 0:
            rsi[t] = 100.0
    return rsi


def average_true_range(high, low, close, period: int) -> np.ndarray:
    """Wilder's ATR of one symbol: the true range ``max(h - l, |h - c[t-1]|, |l - c[t-1]|)``
    from the second bar, seeded with the mean of its first ``period`` values, then smoothed."""
    steps = len(close)
    true_range = np.full(steps, math.nan)
    for t in range(1, steps):
        prior = close[t - 1]
        if not math.isnan(prior):  # no true range without the previous close
            true_range[t] = max(high[t] - low[t], abs(high[t] - prior), abs(low[t] - prior))
    atr = np.full(steps, math.nan)
    for t in range(steps):
        if t and not math.isnan(atr[t - 1]):
            atr[t] = atr[t - 1] + (true_range[t] - atr[t - 1]) / period
            continue
        w = window(true_range, t, period)
        if w is not None:
            atr[t] = mean(w)
    return atr


def rsi(bars: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> np.ndarray:
    """+1 after RSI < lower, -1 (or 0) after RSI > upper."""
    close = bars["close"]
    steps, n = close.shape
    out = np.zeros((steps, n))
    for s in range(n):
        value = wilder_rsi(close[:, s], int(params["period"]))
        state = 0.0
        for t in range(steps):
            up = bool(value[t] < params["lower"])
            down = bool(value[t] > params["upper"])
            state = _events_to_state(up, down, state, params["allow_short"])
            out[t, s] = state / n
    return out


def breakout(bars: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> np.ndarray:
    """+1 when the close beats the highest high of the previous ``window`` bars, -1 (or 0)
    when it falls below their lowest low."""
    close, high, low = bars["close"], bars["high"], bars["low"]
    steps, n = close.shape
    size = int(params["window"])
    out = np.zeros((steps, n))
    for s in range(n):
        state = 0.0
        for t in range(steps):
            up = down = False
            highs, lows = window(high[:, s], t - 1, size), window(low[:, s], t - 1, size)
            if highs is not None and lows is not None:
                up = bool(close[t, s] > max(highs))
                down = bool(close[t, s] < min(lows))
            state = _events_to_state(up, down, state, params["allow_short"])
            out[t, s] = state / n
    return out


def period_starts(timestamps: Sequence[Any]) -> dict[str, list[bool]]:
    """Per rebalance frequency, whether bar t is the first of its day, ISO week or month."""
    stamps = [dt.datetime.fromisoformat(str(np.datetime_as_string(t, "s"))) for t in timestamps]
    keys = {
        "daily": [s.date() for s in stamps],
        "weekly": [s.isocalendar()[:2] for s in stamps],
        "monthly": [(s.year, s.month) for s in stamps],
    }
    return {
        name: [t == 0 or key[t] != key[t - 1] for t in range(len(key))]
        for name, key in keys.items()
    }


def momentum_factor(bars: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> np.ndarray:
    """On each rebalance bar: the top_k symbols by ``c[t]/c[t-L] - 1`` above the threshold
    (ties in symbol order), 1/top_k each; held unchanged until the next rebalance bar."""
    close = bars["close"]
    steps, n = close.shape
    lag, k = int(params["lookback_period"]), min(int(params["top_k"]), n)
    starts = period_starts(bars["timestamps"])[params["rebalance_frequency"]]
    out = np.zeros((steps, n))
    held = np.zeros(n)
    for t in range(steps):
        if starts[t]:
            held = np.zeros(n)
            momentum = {}
            for s in range(n):
                if t - lag >= 0 and not np.isnan(close[t, s]) and not np.isnan(close[t - lag, s]):
                    value = close[t, s] / close[t - lag, s] - 1.0
                    if value > params["momentum_threshold"]:
                        momentum[s] = value
            for s in sorted(momentum, key=lambda s: (-momentum[s], s))[:k]:
                held[s] = 1.0 / k
        out[t] = held
    return out


STRATEGIES = {
    "buy_and_hold": buy_and_hold,
    "sma_crossover": sma_crossover,
    "momentum_factor": momentum_factor,
    "mean_reversion": mean_reversion,
    "rsi": rsi,
    "breakout": breakout,
}


def reference_bars(
    timestamps: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
) -> dict[str, np.ndarray]:
    """Raw bars (NaN where a bar is missing) as the reference strategies read them."""
    return {
        "timestamps": np.asarray(timestamps),
        "valid": np.isfinite(open_) & np.isfinite(close),
        "open": forward_fill(open_),
        "high": forward_fill(high),
        "low": forward_fill(low),
        "close": forward_fill(close),
    }


def reference_weights(
    strategy_id: str, bars: Mapping[str, np.ndarray], params: Mapping[str, Any]
) -> np.ndarray:
    """``(T, S)`` target weights of one parameter set (resolved: every parameter present)."""
    return STRATEGIES[strategy_id](bars, params)
