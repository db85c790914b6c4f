"""The built-in strategies. Each signal is batched: ``(P,)`` parameters give ``(P, T, S)`` weights.

Event strategies hold the state set by their latest event (enter, exit, reverse), so a
position changes only when a new event fires; capital is split equally across symbols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp

from engine.strategies import indicators as ind
from engine.strategies.params import Param
from engine.strategies.registry import REBALANCE_CHOICES, Bars, Strategy, register

MAX_WINDOW = 1000
ALLOW_SHORT = Param("allow_short", "bool", False, "Take short positions on sell signals.")


def _holding(enter: jnp.ndarray, leave: jnp.ndarray) -> jnp.ndarray:
    """True where the latest ``enter`` event is more recent than the latest ``leave`` event."""
    return ind.last_event(enter) > ind.last_event(leave)


def _long_short(up: jnp.ndarray, down: jnp.ndarray, allow_short: jnp.ndarray) -> jnp.ndarray:
    """+1 after an ``up`` event, -1 (or flat when shorting is off) after a ``down`` event."""
    last_up, last_down = ind.last_event(up), ind.last_event(down)
    short = (last_down > last_up) & (allow_short[:, None, None] > 0)
    return (last_up > last_down).astype(jnp.int8) - short.astype(jnp.int8)


def _split(state: jnp.ndarray) -> jnp.ndarray:
    """Equal capital per symbol: a state of +-1 becomes a weight of +-1/S."""
    return state.astype(jnp.float64) / state.shape[-1]


def _windows(params: Mapping[str, jnp.ndarray], name: str) -> jnp.ndarray:
    return params[name].astype(jnp.int32)


def buy_and_hold(bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    listed = jax.lax.cummax(bars.valid.astype(bars.close.dtype), axis=0)
    n_sets = params["_sets"].shape[0]
    return jnp.broadcast_to(_split(listed)[None], (n_sets, *listed.shape))


def sma_crossover(bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    fast = ind.rolling_mean(bars.close, _windows(params, "fast_period"))
    slow = ind.rolling_mean(bars.close, _windows(params, "slow_period"))
    fast_prev, slow_prev = ind.previous(fast), ind.previous(slow)
    up = (fast_prev < slow_prev) & (fast > slow)
    down = (fast_prev > slow_prev) & (fast < slow)
    return _split(_long_short(up, down, params["allow_short"]))


def mean_reversion(bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    window = _windows(params, "window")
    mean, std = (
        ind.rolling_mean(bars.close, window),
        ind.rolling_std(bars.close, window, MAX_WINDOW),
    )
    z = (ind.quantized(bars.close)[None] - mean) / std
    entry = params["entry_z"][:, None, None]
    exit_ = params["exit_z"][:, None, None]
    long = _holding(z < -entry, z >= -exit_)
    short = _holding(z > entry, z <= exit_) & (params["allow_short"][:, None, None] > 0)
    return _split(long.astype(jnp.int8) - short.astype(jnp.int8))


def rsi(bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    value = relative_strength_index(bars.close, _windows(params, "period"))
    oversold = value < params["lower"][:, None, None]
    overbought = value > params["upper"][:, None, None]
    return _split(_long_short(oversold, overbought, params["allow_short"]))


def relative_strength_index(close: jnp.ndarray, period: jnp.ndarray) -> jnp.ndarray:
    """Wilder's RSI (0..100), seeded with the simple average of the first ``period`` changes."""
    change = jnp.concatenate([jnp.full_like(close[:1], jnp.nan), jnp.diff(close, axis=0)])
    gains = ind.wilder_average(
        jnp.where(jnp.isnan(change), jnp.nan, jnp.maximum(change, 0)), period
    )
    losses = ind.wilder_average(
        jnp.where(jnp.isnan(change), jnp.nan, jnp.maximum(-change, 0)), period
    )
    tiny = jnp.finfo(close.dtype).tiny  # subnormal averages are zero: devices flush them
    gains = jnp.where(gains < tiny, 0.0, gains)
    losses = jnp.where(losses < tiny, 0.0, losses)
    return 100.0 - 100.0 / (1.0 + gains / losses)


def breakout(bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    window = _windows(params, "window")
    upper = ind.previous(ind.rolling_extreme(bars.high, window, MAX_WINDOW, jnp.maximum))
    lower = ind.previous(ind.rolling_extreme(bars.low, window, MAX_WINDOW, jnp.minimum))
    up = bars.close[None] > upper
    down = bars.close[None] < lower
    return _split(_long_short(up, down, params["allow_short"]))


def momentum_factor(bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    """Hold the ``top_k`` symbols whose lookback return beats the threshold, 1/top_k each."""
    steps, n_symbols = bars.close.shape
    lag = jnp.arange(steps)[None, :] - _windows(params, "lookback_period")[:, None]
    past = jnp.take(bars.close, jnp.clip(lag, 0, steps - 1), axis=0)
    momentum = jnp.where((lag >= 0)[:, :, None], bars.close[None] / past - 1.0, jnp.nan)
    eligible = momentum > params["momentum_threshold"][:, None, None]
    score = jnp.where(eligible, momentum, -jnp.inf)
    rank = jnp.argsort(jnp.argsort(-score, axis=-1), axis=-1)
    top_k = jnp.minimum(params["top_k"], n_symbols)[:, None, None]
    weights = jnp.where(eligible & (rank < top_k), 1.0 / top_k, 0.0)
    return hold_between_rebalances(weights, bars, params["rebalance_frequency"])


def hold_between_rebalances(weights, bars: Bars, frequency: jnp.ndarray) -> jnp.ndarray:
    """Targets only change on the first bar of each rebalance period; held in between."""
    starts = jnp.take(bars.period_starts, frequency.astype(jnp.int32), axis=0)  # (P, T)
    latest = jnp.clip(ind.last_event(starts), 0, None)
    return jnp.take_along_axis(weights, latest[:, :, None], axis=1)


def _window(name: str, default: int, low: int, description: str) -> Param:
    return Param(name, "int", default, description, low=low, high=MAX_WINDOW)


def _builtins() -> Sequence[Strategy]:
    return (
        Strategy(
            "buy_and_hold",
            "1.0",
            "Equal weight in every symbol from its first bar.",
            (),
            buy_and_hold,
        ),
        Strategy(
            "sma_crossover",
            "1.0",
            "Long when the fast SMA crosses above the slow SMA; flat (or short) on the cross down.",
            (
                _window("fast_period", 10, 1, "Bars in the fast simple moving average."),
                _window("slow_period", 20, 2, "Bars in the slow simple moving average."),
                ALLOW_SHORT,
            ),
            sma_crossover,
            (
                (
                    lambda p: p["fast_period"] < p["slow_period"],
                    "fast_period",
                    "must be smaller than slow_period",
                ),
            ),
        ),
        Strategy(
            "momentum_factor",
            "2.1",
            "Cross-sectional momentum: the top_k symbols by lookback return above a threshold.",
            (
                _window("lookback_period", 20, 1, "Bars in the momentum lookback."),
                Param(
                    "momentum_threshold",
                    "float",
                    0.0,
                    "Minimum lookback return (fraction) to hold a symbol.",
                    low=-1.0,
                    high=10.0,
                ),
                Param(
                    "rebalance_frequency",
                    "choice",
                    "weekly",
                    "How often the holdings may change.",
                    choices=REBALANCE_CHOICES,
                ),
                Param("top_k", "int", 3, "How many symbols to hold at most.", low=1, high=5000),
            ),
            momentum_factor,
            aliases=("momentum_factor_v2.1", "momentum_factor_v2"),
        ),
        Strategy(
            "mean_reversion",
            "1.0",
            "Bollinger mean reversion: enter beyond entry_z deviations, exit inside exit_z.",
            (
                _window("window", 20, 2, "Bars in the Bollinger mean and standard deviation."),
                Param(
                    "entry_z",
                    "float",
                    2.0,
                    "Entry distance in standard deviations.",
                    low=0.0,
                    high=10.0,
                ),
                Param(
                    "exit_z",
                    "float",
                    0.5,
                    "Exit distance in standard deviations.",
                    low=0.0,
                    high=10.0,
                ),
                ALLOW_SHORT,
            ),
            mean_reversion,
            ((lambda p: p["exit_z"] <= p["entry_z"], "exit_z", "must not exceed entry_z"),),
        ),
        Strategy(
            "rsi",
            "1.0",
            "Wilder RSI: long when oversold (below lower), exit (or short) above upper.",
            (
                _window("period", 14, 2, "Bars in Wilder's RSI."),
                Param("lower", "float", 30.0, "Oversold level.", low=0.0, high=100.0),
                Param("upper", "float", 70.0, "Overbought level.", low=0.0, high=100.0),
                ALLOW_SHORT,
            ),
            rsi,
            ((lambda p: p["lower"] < p["upper"], "lower", "must be smaller than upper"),),
        ),
        Strategy(
            "breakout",
            "1.0",
            "Donchian breakout: long above the prior window's high, exit (or short) below its low.",
            (_window("window", 20, 1, "Bars in the Donchian channel."), ALLOW_SHORT),
            breakout,
        ),
    )


for _strategy in _builtins():
    register(_strategy)
