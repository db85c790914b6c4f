"""Markets shared by the kernel-backed optimization tests (cached: one compile per shape)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from engine.data import synthetic_market
from engine.market import Market
from engine.spec import parse_spec
from tests.unit.engine.optimize.conftest import BASE_SPEC

SYMBOLS = ["AAA", "BBB"]
SETS = [
    {"fast_period": f, "slow_period": s, "allow_short": short}
    for f, s, short in (
        (3, 10, False),
        (5, 20, True),
        (8, 30, False),
        (5, 40, True),
        (10, 12, False),
    )
]


@functools.cache
def synthetic() -> Market:
    spec = parse_spec(BASE_SPEC)
    return synthetic_market([*SYMBOLS, "SPY"], spec.start_date, spec.end_date, seed=5)


def spec_payload(**changes) -> dict:
    return {**BASE_SPEC, "benchmark_symbol": "SPY", "slippage_basis_points": 2.0, **changes}


OSCILLATION = (0.0, 4.0, 1.0, 3.0, 2.0)


@functools.cache
def zigzag(cycles: int = 2, trend: int = 30, segments: int = 8) -> Market:
    """One symbol: a mean-reverting 5-bar oscillation, then a 30-bar trend, alternately up/down.

    Breakouts inside the oscillation reverse at once (bought high, sold low) for channels
    shorter than its 5-bar period; channels longer than that react later to each new trend.
    So the Donchian ``window`` 5 with shorting (which also earns the down-trends) is the single
    best set of the breakout strategy on this market.
    """
    osc = np.asarray(OSCILLATION)
    parts, level = [], 100.0
    for seg in range(segments):
        parts.append(level + np.tile(osc, cycles))
        up = seg % 2 == 0
        start = level + (osc.max() if up else osc.min())
        path = start + (1.0 if up else -1.0) * np.arange(1, trend + 1)
        parts.append(path)
        level = path[-1] - osc.max() if up else path[-1]
    close = np.concatenate(parts)[:, None]
    stamps = pd.date_range("2020-01-01", periods=len(close), freq="D").to_numpy()
    return Market(stamps, ("ZZ",), close, close, close, close, np.ones_like(close), source="test")
