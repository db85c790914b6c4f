"""An obvious per-bar reference for rules documents, for tests only.

Walks bars ``t = 0 .. T-1`` with plain loops over the parsed document (``RulesDoc``): each
indicator computed from bars ``<= t`` as its textbook definition (the conventions of
``tests.reference.signals``), conditions evaluated as Python comparisons (NaN compares
False), sides held from entry to exit (exit wins; an entry of the other side also exits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.strategies.rules.parse import Apply, Const, ParamRef, RulesDoc, Series
from tests.reference.signals import forward_fill, mean, std, wilder_rsi, window

NAN = math.nan
PRICE_QUANTUM = 1e-8


def grid_mean(values: np.ndarray) -> float:
    """The mean as the engine's averages define it: a constant window's mean is its value on
    the 1e-8 price grid (``engine.strategies.indicators.PRICE_QUANTUM``)."""
    if np.all(values == values[0]):
        return float(np.round(values[0] / PRICE_QUANTUM)) * PRICE_QUANTUM
    return float(np.mean(values))


def _seeded(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """``a += alpha (x - a)`` from the mean of the first complete window of ``n`` values."""
    out = np.full(len(x), NAN)
    avg = NAN
    for t in range(len(x)):
        if math.isnan(avg):
            w = window(x, t, n)
            if w is None:
                continue
            avg = grid_mean(w)
        else:
            avg += alpha * (x[t] - avg)
        out[t] = avg
    return out


def _indicator(kind: str, n: int, bars: Mapping[str, np.ndarray], s: int) -> np.ndarray:
    close, high, low = bars["close"][:, s], bars["high"][:, s], bars["low"][:, s]
    steps = len(close)
    out = np.full(steps, NAN)
    if kind == "ema":
        return _seeded(close, n, 2.0 / (n + 1))
    if kind == "rsi":
        return wilder_rsi(close, n)
    if kind == "atr":
        ranges = np.full(steps, NAN)
        for t in range(1, steps):
            prior = close[t - 1]  # none before the first close: no true range yet
            if not math.isnan(prior):
                ranges[t] = max(high[t] - low[t], abs(high[t] - prior), abs(low[t] - prior))
        return _seeded(ranges, n, 1.0 / n)
    for t in range(steps):
        if kind == "momentum":
            if t - n >= 0 and not math.isnan(close[t - n]):
                out[t] = close[t] / close[t - n] - 1.0
            continue
        source = {"highest": high, "lowest": low, "volume_sma": bars["volume"][:, s]}.get(
            kind, close
        )
        w = window(source, t, n)
        if w is None:
            continue
        if kind == "sma":
            out[t] = grid_mean(w)
        elif kind == "volume_sma":
            out[t] = float(np.mean(w))
        elif kind == "stdev":
            out[t] = std(w)
        elif kind == "zscore":
            out[t] = (close[t] - mean(w)) / std(w) if std(w) > 0 else NAN
        elif kind == "highest":
            out[t] = max(w)
        elif kind == "lowest":
            out[t] = min(w)
    return out


_OPS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "and": lambda a, b: a and b,
    "or": lambda a, b: a or b,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: float(np.float64(a) / np.float64(b)),  # IEEE: x / 0 is inf or NaN
}


class _Symbol:
    def __init__(self, bars, params, s: int) -> None:
        self.bars, self.params, self.s = bars, params, s
        self.cache: dict[tuple[str, int], np.ndarray] = {}

    def value(self, node, t: int) -> Any:
        if isinstance(node, Const):
            return node.value
        if isinstance(node, ParamRef):
            return float(self.params[node.name])
        if isinstance(node, Series):
            t -= node.lag
            if t < 0:
                return NAN
            if node.window is None:
                return float(self.bars[node.source][t, self.s])
            n = int(self.value(node.window, t))
            key = (node.source, n)
            if key not in self.cache:
                self.cache[key] = _indicator(node.source, n, self.bars, self.s)
            return float(self.cache[key][t])
        assert isinstance(node, Apply)
        if node.op == "not":
            return not self.value(node.args[0], t)
        return _OPS[node.op](*(self.value(a, t) for a in node.args))


def rules_weights(
    doc: RulesDoc, bars: Mapping[str, np.ndarray], params: Mapping[str, Any]
) -> np.ndarray:
    """``(T, S)`` target weights of one resolved parameter set (``bars`` with ``volume``)."""
    bars = {**bars, "volume": forward_fill(bars["volume"])}
    steps, n = bars["close"].shape
    sides = [(1, doc.long, doc.short), (-1, doc.short, doc.long)]
    sides = [(sign, own, other) for sign, own, other in sides if own is not None]
    out = np.zeros((steps, n))
    with np.errstate(all="ignore"):
        for s in range(n):
            sym = _Symbol(bars, params, s)
            held = [False] * len(sides)
            for t in range(steps):
                state = 0
                for i, (sign, own, other) in enumerate(sides):
                    leave = own.exit is not None and bool(sym.value(own.exit, t))
                    leave = leave or (other is not None and bool(sym.value(other.entry, t)))
                    if leave:
                        held[i] = False
                    elif sym.value(own.entry, t):
                        held[i] = True
                    state += sign * held[i]
                out[t, s] = state / n if doc.fraction is None else state * doc.fraction
    return out
