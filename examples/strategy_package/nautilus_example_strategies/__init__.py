"""Example strategy package: strategies written against the engine's plan interface.

Installed beside the service, it registers through the ``nautilus_backtest.strategies`` entry
point (see ``pyproject.toml``); workers and the API load it at start, ``GET /strategies`` lists
it, and results record ``nautilus-example-strategies`` and its version.
"""

from __future__ import annotations

from engine.strategies.params import Param
from engine.strategies.plan import Indicator, Inputs, Plan, long_short
from engine.strategies.registry import Strategy

ALLOW_SHORT = Param("allow_short", "bool", False, "Take short positions on sell signals.")


def _window(name: str, default: int, description: str) -> Param:
    return Param(name, "int", default, description, low=1, high=1000)


def _ema_crossover(x: Inputs):
    fast, slow = x.ind("fast"), x.ind("slow")
    up = (fast.prev < slow.prev) & (fast > slow)
    down = (fast.prev > slow.prev) & (fast < slow)
    return long_short(up, down)


def _atr_channel(x: Inputs):
    """Long above the EMA plus k ATRs, exit (or short) below the EMA minus k ATRs."""
    close, middle, atr, k = x.price("close"), x.ind("middle"), x.ind("atr"), x.param("k")
    return long_short(close > middle + k * atr, close < middle - k * atr)


def strategies() -> list[Strategy]:
    """The entry point: this package's strategies."""
    return [
        Strategy(
            "ema_crossover",
            "1.0",
            "Long when the fast EMA crosses above the slow EMA; flat (or short) on the cross down.",
            (
                _window("fast_period", 12, "Bars in the fast exponential moving average."),
                _window("slow_period", 26, "Bars in the slow exponential moving average."),
                ALLOW_SHORT,
            ),
            Plan(
                {"fast": Indicator("ema", "fast_period"), "slow": Indicator("ema", "slow_period")},
                _ema_crossover,
            ),
            (
                (
                    lambda p: p["fast_period"] < p["slow_period"],
                    "fast_period",
                    "must be smaller than slow_period",
                ),
            ),
        ),
        Strategy(
            "atr_channel",
            "1.0",
            "Keltner-style breakout: the close beyond the EMA by k average true ranges.",
            (
                _window("window", 20, "Bars in the EMA and the ATR."),
                Param("k", "float", 2.0, "Channel half-width in ATRs.", low=0.0, high=10.0),
                ALLOW_SHORT,
            ),
            Plan(
                {"middle": Indicator("ema", "window"), "atr": Indicator("atr", "window")},
                _atr_channel,
            ),
        ),
    ]
