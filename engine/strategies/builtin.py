"""The built-in strategies, each defined once as a ``Plan`` (indicators and a rule).

Event strategies hold the state set by their latest event (enter, exit, reverse), so a
position changes only when a new event fires; capital is split equally across symbols.
Every backend runs these definitions: see ``engine.strategies.plan``.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.strategies.params import Param
from engine.strategies.plan import FALSE, Indicator, Inputs, Leg, Plan, TopK, long_short
from engine.strategies.registry import REBALANCE_CHOICES, Strategy, register

MAX_WINDOW = 1000
ALLOW_SHORT = Param("allow_short", "bool", False, "Take short positions on sell signals.")


def _buy_and_hold(x: Inputs):
    return (Leg(1, x.price("valid"), FALSE),)


def _sma_crossover(x: Inputs):
    fast, slow = x.ind("fast"), x.ind("slow")
    up = (fast.prev < slow.prev) & (fast > slow)
    down = (fast.prev > slow.prev) & (fast < slow)
    return long_short(up, down)


def _mean_reversion(x: Inputs):
    z, entry, exit_ = x.ind("z"), x.param("entry_z"), x.param("exit_z")
    return (
        Leg(1, z < -entry, z >= -exit_),
        Leg(-1, z > entry, z <= exit_, "allow_short"),
    )


def _rsi(x: Inputs):
    value = x.ind("rsi")
    return long_short(value < x.param("lower"), value > x.param("upper"))


def _breakout(x: Inputs):
    close = x.price("close")
    return long_short(close > x.ind("upper").prev, close < x.ind("lower").prev)


def _momentum_factor(x: Inputs):
    momentum = x.ind("momentum")
    eligible = momentum > x.param("momentum_threshold")
    return TopK(momentum, eligible, "top_k", "rebalance_frequency")


PLANS = {
    "buy_and_hold": Plan({}, _buy_and_hold),
    "sma_crossover": Plan(
        {"fast": Indicator("sma", "fast_period"), "slow": Indicator("sma", "slow_period")},
        _sma_crossover,
    ),
    "mean_reversion": Plan({"z": Indicator("zscore", "window")}, _mean_reversion),
    "rsi": Plan({"rsi": Indicator("rsi", "period")}, _rsi),
    "breakout": Plan(
        {"upper": Indicator("highest", "window"), "lower": Indicator("lowest", "window")},
        _breakout,
    ),
    "momentum_factor": Plan(
        {"momentum": Indicator("momentum", "lookback_period")}, _momentum_factor
    ),  # fmt: skip
}


def _window(name: str, default: int, low: int, description: str) -> Param:
    return Param(name, "int", default, description, low=low, high=MAX_WINDOW)


def _builtins() -> Sequence[Strategy]:
    return (
        Strategy(
            "buy_and_hold",
            "1.0",
            "Equal weight in every symbol from its first bar.",
            (),
            PLANS["buy_and_hold"],
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
            PLANS["sma_crossover"],
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
            PLANS["momentum_factor"],
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
            PLANS["mean_reversion"],
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
            PLANS["rsi"],
            ((lambda p: p["lower"] < p["upper"], "lower", "must be smaller than upper"),),
        ),
        Strategy(
            "breakout",
            "1.0",
            "Donchian breakout: long above the prior window's high, exit (or short) below its low.",
            (_window("window", 20, 1, "Bars in the Donchian channel."), ALLOW_SHORT),
            PLANS["breakout"],
        ),
    )


for _strategy in _builtins():
    register(_strategy)
