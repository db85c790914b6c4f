"""Batched indicators: price arrays ``(T, S)`` and per-set parameters ``(P,)`` give ``(P, T, S)``.

Windows differ per parameter set, so rolling sums come from one cumulative sum gathered at
per-set offsets, rolling extremes from a sparse table of power-of-two windows, and Wilder
averages from an associative scan. Every value at ``t`` uses bars ``<= t`` only; values that
need more history than exists are NaN.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

PRICE_QUANTUM = 1e-8
"""Averages are computed on prices rounded to this grid, in exact integer sums: a window of
equal prices then has exactly that price as its mean (no spurious crossings of equal averages,
no z-score from rounding noise), and the result does not depend on the series' history."""


def _ticks(x: jnp.ndarray) -> jnp.ndarray:
    """Prices as int64 multiples of ``PRICE_QUANTUM`` (0 where NaN)."""
    return jnp.round(jnp.nan_to_num(x) / PRICE_QUANTUM).astype(jnp.int64)


def quantized(x: jnp.ndarray) -> jnp.ndarray:
    """Prices rounded to the grid the averages use (NaN stays NaN)."""
    return jnp.where(jnp.isnan(x), jnp.nan, _ticks(x) * PRICE_QUANTUM)


def _window_sums(
    a: jnp.ndarray, finite: jnp.ndarray, window: jnp.ndarray
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Sum of ``a`` over the last ``window`` bars per set ``(P, T, S)``, and where it is complete.

    ``finite`` may be False only before each symbol's first value (forward-filled prices and
    their changes); a window is complete when it starts at or after that first value.
    """
    steps = a.shape[0]
    first = jnp.where(finite.any(axis=0), jnp.argmax(finite, axis=0), steps)  # (S,)
    sums = jnp.concatenate([jnp.zeros_like(a[:1]), jnp.cumsum(jnp.where(finite, a, 0), axis=0)])
    w = window.astype(jnp.int32)
    start = jnp.arange(1, steps + 1, dtype=jnp.int32)[None, :] - w[:, None]  # (P, T)
    total = sums[None, 1:] - jnp.take(sums, jnp.clip(start, 0, steps), axis=0)
    complete = start[:, :, None] >= first[None, None, :]
    return total, complete


def _centred_ticks(x: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Ticks minus a per-symbol offset (keeps sums small), and that offset."""
    ticks = _ticks(x)
    offset = jnp.max(ticks, axis=0, keepdims=True)
    return ticks - offset, offset


def rolling_mean(x: jnp.ndarray, window: jnp.ndarray) -> jnp.ndarray:
    """Simple moving average over the last ``window`` bars, per parameter set.

    The integer part of the mean comes from integer division, so a window of equal prices
    gives exactly that price even where the compiler turns a division into a multiplication.
    """
    centred, offset = _centred_ticks(x)
    total, complete = _window_sums(centred, jnp.isfinite(x), window)
    w = window.astype(jnp.int64)[:, None, None]
    whole = total // w
    fraction = (total - whole * w).astype(x.dtype) / w.astype(x.dtype)
    mean_ticks = (whole + offset).astype(x.dtype) + fraction
    return jnp.where(complete, mean_ticks * PRICE_QUANTUM, jnp.nan)


def rolling_std(x: jnp.ndarray, window: jnp.ndarray, max_window: int) -> jnp.ndarray:
    """Population standard deviation over the last ``window`` bars (Bollinger convention).

    A window of equal prices has exactly zero spread (its rounding noise would otherwise
    give it a z-score).
    """
    centred, _ = _centred_ticks(x)
    finite = jnp.isfinite(x)
    total, complete = _window_sums(centred, finite, window)
    as_float = centred.astype(x.dtype)
    total_sq, _ = _window_sums(as_float * as_float, finite, window)
    w = window[:, None, None].astype(x.dtype)
    mean = total.astype(x.dtype) / w
    var = jnp.maximum(total_sq / w - mean * mean, 0.0)
    ticks = quantized(x)
    flat = rolling_extreme(ticks, window, max_window, jnp.maximum) == rolling_extreme(
        ticks, window, max_window, jnp.minimum
    )
    return jnp.where(complete, jnp.where(flat, 0.0, jnp.sqrt(var) * PRICE_QUANTUM), jnp.nan)


def _sparse_table(x: jnp.ndarray, levels: int, op) -> list[jnp.ndarray]:
    """``table[k][t] = op(x[t - 2**k + 1 .. t])`` (NaN where the window is incomplete)."""
    tables = [x]
    for k in range(1, levels):
        half = 2 ** (k - 1)
        prev = tables[-1]
        shifted = jnp.concatenate([jnp.full_like(prev[:half], jnp.nan), prev[:-half]])
        tables.append(op(prev, shifted))
    return tables


def rolling_extreme(x: jnp.ndarray, window: jnp.ndarray, max_window: int, op) -> jnp.ndarray:
    """Rolling max or min (``op`` is ``jnp.maximum``/``jnp.minimum``) over ``window`` bars."""
    levels = max(1, int(max_window).bit_length())
    table = jnp.stack(_sparse_table(x, levels, op))  # (K, T, S)
    k = jnp.floor(jnp.log2(window.astype(x.dtype))).astype(jnp.int32)  # (P,)
    steps = x.shape[0]
    t = jnp.arange(steps)[None, :]
    later = jnp.take(table, k, axis=0)  # (P, T, S): window ending at t
    start = t - window[:, None].astype(jnp.int32) + (2**k)[:, None]
    earlier = jnp.take_along_axis(later, jnp.clip(start, 0, steps - 1)[:, :, None], axis=1)
    ok = (t - window[:, None].astype(jnp.int32) + 1 >= 0)[:, :, None]
    return jnp.where(ok, op(later, earlier), jnp.nan)


def wilder_average(x: jnp.ndarray, period: jnp.ndarray) -> jnp.ndarray:
    """Wilder's smoothing ``a_t = a_{t-1} + (x_t - a_{t-1}) / period`` (as TA-Lib's RSI).

    Seeded with the simple average of the first complete window; NaN before it.
    """
    return seeded_average(x, period, 1.0 / period.astype(x.dtype))


def exponential_average(x: jnp.ndarray, period: jnp.ndarray) -> jnp.ndarray:
    """EMA with ``alpha = 2 / (period + 1)``, seeded with the simple average of the first
    complete window (TA-Lib's convention); NaN before it."""
    return seeded_average(x, period, 2.0 / (period.astype(x.dtype) + 1.0))


def seeded_average(x: jnp.ndarray, period: jnp.ndarray, alpha: jnp.ndarray) -> jnp.ndarray:
    """``a_t = a_{t-1} + alpha (x_t - a_{t-1})`` per set, from the first complete SMA on."""
    seed = rolling_mean(x, period)
    complete = jnp.isfinite(seed)
    first = jnp.where(complete.any(axis=1), jnp.argmax(complete, axis=1), x.shape[0])
    t = jnp.arange(x.shape[0])[None, :, None]
    at_seed = t == first[:, None, :]
    alpha = alpha[:, None, None]
    decay = jnp.where(at_seed, 0.0, 1.0 - alpha)
    drive = jnp.where(at_seed, jnp.nan_to_num(seed), alpha * jnp.nan_to_num(x)[None])

    def combine(a, b):
        return a[0] * b[0], a[1] * b[0] + b[1]

    _, avg = jax.lax.associative_scan(combine, (decay, drive), axis=1)
    return jnp.where(t >= first[:, None, :], avg, jnp.nan)


def true_range(high: jnp.ndarray, low: jnp.ndarray, close: jnp.ndarray) -> jnp.ndarray:
    """``max(high - low, |high - close[t-1]|, |low - close[t-1]|)``; NaN on the first bar."""
    prior = jnp.concatenate([jnp.full_like(close[:1], jnp.nan), close[:-1]])
    return jnp.maximum(high - low, jnp.maximum(jnp.abs(high - prior), jnp.abs(low - prior)))


def average_true_range(bars_high, bars_low, bars_close, period: jnp.ndarray) -> jnp.ndarray:
    """Wilder's ATR (TA-Lib): the Wilder average of the true range from the second bar on."""
    return wilder_average(true_range(bars_high, bars_low, bars_close), period)


def rolling_float_mean(x: jnp.ndarray, window: jnp.ndarray) -> jnp.ndarray:
    """Mean over the last ``window`` bars in floating point (for volumes, which do not fit the
    price grid's integer sums); NaN until a complete window."""
    total, complete = _window_sums(x, jnp.isfinite(x), window)
    return jnp.where(complete, total / window.astype(x.dtype)[:, None, None], jnp.nan)


def last_event(mask: jnp.ndarray) -> jnp.ndarray:
    """Index of the latest True at or before each ``t`` along axis 1, or -1 if none yet."""
    t = jnp.arange(mask.shape[1], dtype=jnp.int32).reshape(1, -1, *([1] * (mask.ndim - 2)))
    return jax.lax.cummax(jnp.where(mask, t, jnp.int32(-1)), axis=1)


def previous(x: jnp.ndarray) -> jnp.ndarray:
    """The value one bar earlier along axis 1 (NaN at the first bar)."""
    return jnp.concatenate([jnp.full_like(x[:, :1], jnp.nan), x[:, :-1]], axis=1)


def relative_strength_index(close: jnp.ndarray, period: jnp.ndarray) -> jnp.ndarray:
    """Wilder's RSI (0..100), seeded with the simple average of the first ``period`` changes."""
    change = jnp.concatenate([jnp.full_like(close[:1], jnp.nan), jnp.diff(close, axis=0)])
    gains = wilder_average(jnp.where(jnp.isnan(change), jnp.nan, jnp.maximum(change, 0)), period)
    losses = wilder_average(jnp.where(jnp.isnan(change), jnp.nan, jnp.maximum(-change, 0)), period)
    tiny = jnp.finfo(close.dtype).tiny  # subnormal averages are zero: devices flush them
    gains = jnp.where(gains < tiny, 0.0, gains)
    losses = jnp.where(losses < tiny, 0.0, losses)
    return 100.0 - 100.0 / (1.0 + gains / losses)


def momentum(close: jnp.ndarray, lookback: jnp.ndarray) -> jnp.ndarray:
    """``close[t] / close[t - lookback] - 1`` per set, NaN before ``lookback`` bars exist."""
    steps = close.shape[0]
    lag = jnp.arange(steps)[None, :] - lookback.astype(jnp.int32)[:, None]
    past = jnp.take(close, jnp.clip(lag, 0, steps - 1), axis=0)
    return jnp.where((lag >= 0)[:, :, None], close[None] / past - 1.0, jnp.nan)
