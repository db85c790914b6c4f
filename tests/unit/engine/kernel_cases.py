"""Random markets, parameter sets and account settings for the kernel tests, plus engine runs.

Shapes are fixed (``N_BARS`` x ``N_SYMBOLS``, ``N_SETS`` lanes) so JAX compiles each strategy
once per (fill, whole_shares) and every hypothesis example reuses the program. Shorter
histories and fewer symbols come from late listings; ``SHAPES`` lists a few other shapes for
the slow tests.

Holes ``isolated`` never leave two missing bars in a row, so no window of 3 or more closes is
constant; ``runs`` leaves runs of up to 6 missing bars (constant windows, flat RSI seeds).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
import pandas as pd
from hypothesis import strategies as st

from accel.kernel import Costs
from engine.exits import exit_inputs
from engine.market import Market
from engine.portfolio import Limits
from engine.simulation import bars_for, simulate_lanes
from engine.strategies import Strategy, get_strategy

N_BARS, N_SYMBOLS, N_SETS = 120, 3, 3
BACKENDS = ("jax", "numba")
STRATEGY_IDS = (
    "buy_and_hold",
    "sma_crossover",
    "momentum_factor",
    "mean_reversion",
    "rsi",
    "breakout",
)
COMBOS = (("next_open", False), ("close", True), ("next_open", True), ("close", False))
# The (fill, whole_shares) each strategy runs with in the fast suite: every combination is
# covered by some strategy; the slow suite runs all of them for every strategy.
FAST_COMBO = {sid: COMBOS[i % len(COMBOS)] for i, sid in enumerate(STRATEGY_IDS)}
SHAPES = ((40, 1), (77, 2))
GAP_HOURS = (1, 6, 24, 24, 24, 24, 72, 168)  # intraday steps, weekends, whole weeks


def make_market(
    seed: int,
    n_bars: int = N_BARS,
    n_symbols: int = N_SYMBOLS,
    holes: str = "isolated",
    hole_rate: float = 0.1,
    max_listing: int = 80,
) -> Market:
    """A random-walk OHLC market with late listings and missing bars (NaN in every field)."""
    rng = np.random.default_rng(seed)
    gaps = rng.choice(GAP_HOURS, size=n_bars) * np.timedelta64(1, "h")
    start = np.datetime64("2021-01-04T00:00") + rng.integers(0, 24 * 60) * np.timedelta64(1, "h")
    stamps = (start + np.cumsum(gaps)).astype("datetime64[ns]")
    vol = rng.uniform(0.005, 0.05, n_symbols)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0, vol, (n_bars, n_symbols)), axis=0))
    prior = np.vstack([close[:1], close[:-1]])
    open_ = prior * np.exp(rng.normal(0, vol / 3, (n_bars, n_symbols)))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, vol / 2, (n_bars, n_symbols))))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, vol / 2, (n_bars, n_symbols))))
    missing = np.zeros((n_bars, n_symbols), dtype=bool)
    for s in range(n_symbols):
        listing = int(rng.integers(0, max_listing + 1)) if s else int(rng.integers(0, 4))
        missing[:listing, s] = True
        t = listing + 1
        while t < n_bars:
            if rng.random() < hole_rate:
                run = 1 if holes == "isolated" else int(rng.integers(1, 7))
                missing[t : t + run, s] = True
                t += run + 1
            else:
                t += 1
    arrays = {"open": open_, "high": high, "low": low, "close": close}
    arrays = {k: np.where(missing, np.nan, v) for k, v in arrays.items()}
    symbols = tuple(f"S{i}" for i in range(n_symbols))
    return Market(stamps, symbols, volume=np.ones((n_bars, n_symbols)), **arrays)


def perturb_after(
    market: Market, t: int, seed: int, keep_open: bool = False, keep_range: bool = False
) -> Market:
    """The same market with every bar after ``t`` redrawn (prices and which bars exist).

    ``keep_open`` keeps bar t+1's open and whether it exists (what a fill at t+1 may see);
    ``keep_range`` its high and low too (what an exit order during bar t+1 may see).
    """
    other = make_market(seed, market.n_bars, len(market.symbols), holes="runs", hole_rate=0.2)
    arrays = {}
    for name in ("open", "high", "low", "close"):
        new = np.array(getattr(market, name), copy=True)
        new[t + 1 :] = getattr(other, name)[t + 1 :] * 1.37
        arrays[name] = new
    if keep_open and t + 1 < market.n_bars:
        exists = np.isfinite(market.open[t + 1])
        arrays["open"][t + 1] = market.open[t + 1]
        for name in ("high", "low", "close"):
            redrawn = np.where(np.isfinite(arrays[name][t + 1]), arrays[name][t + 1], 77.0)
            arrays[name][t + 1] = np.where(exists, redrawn, np.nan)
        if keep_range:
            for name in ("high", "low"):
                arrays[name][t + 1] = getattr(market, name)[t + 1]
    return Market(market.timestamps, market.symbols, volume=market.volume, **arrays)


# --- parameters and settings --------------------------------------------------------------


TIE_OFFSET = 1e-7
"""Moves z-score levels off the values a window of two price levels (a forward-filled gap)
gives exactly, sqrt(k / (n - k)): 1 for [a, a, b, b], 2 for [a, a, a, a, b]. A level equal to
one of them is a tie that rounding decides, differently in rolling and direct sums."""


def _z(low: float, high: float):
    """Finite levels; no subnormals (devices treat them as zero)."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _window(low: int, typical: int):
    """Mostly windows that fit the history; now and then any up to the schema's 1000."""
    return st.one_of(*[st.integers(low, typical)] * 3, st.integers(low, 1000))


@st.composite
def param_set(draw, strategy_id: str, safe: bool = True) -> dict[str, Any]:
    """One valid parameter set. ``safe`` keeps windows that a constant run could fill out
    and RSI levels off 0 and 100."""
    shorts = st.booleans()
    if strategy_id == "sma_crossover":
        slow = draw(_window(3 if safe else 2, 60))
        fast = draw(st.integers(1, min(slow - 1, 60)) | st.integers(1, slow - 1))
        p = {"fast_period": fast, "slow_period": slow, "allow_short": draw(shorts)}
    elif strategy_id == "mean_reversion":
        entry = draw(_z(0.0, 3.0) | _z(0.0, 10.0 - TIE_OFFSET)) + TIE_OFFSET
        p = {
            "window": draw(_window(3, 40)),
            "entry_z": entry,
            "exit_z": draw(_z(0.0, entry - TIE_OFFSET)) + TIE_OFFSET,
            "allow_short": draw(shorts),
        }
    elif strategy_id == "rsi":
        lower = draw(_z(1.0, 60.0) if safe else _z(0.0, 60.0))
        p = {
            "period": draw(_window(2, 30)),
            "lower": lower,
            "upper": draw(_z(lower + 1.0, 99.0) if safe else _z(lower + 1.0, 100.0)),
            "allow_short": draw(shorts),
        }
    elif strategy_id == "breakout":
        p = {"window": draw(_window(1, 40)), "allow_short": draw(shorts)}
    elif strategy_id == "momentum_factor":
        p = {
            "lookback_period": draw(_window(1, 40)),
            "momentum_threshold": draw(_z(-0.2, 0.2) | _z(-1.0, 10.0)),
            "rebalance_frequency": draw(st.sampled_from(("daily", "weekly", "monthly"))),
            "top_k": draw(st.integers(1, 5) | st.integers(1, 5000)),
        }
    else:
        p = {}
    return get_strategy(strategy_id).resolve(p)


@dataclass(frozen=True)
class Setup:
    """Account settings of one run."""

    costs: Costs
    cash: float
    max_position: float
    max_leverage: float
    max_sector: float
    sector_of: tuple[int | None, ...]
    fill: str
    whole_shares: bool
    exits: dict = dataclasses.field(default_factory=dict)

    def limits(self) -> Limits:
        sector_map = np.array([[g == k for g in self.sector_of] for k in range(2)], dtype=float)
        return Limits(self.max_position, self.max_leverage, self.max_sector, sector_map)


@st.composite
def exit_rules(draw) -> dict:
    """Exit orders as a request's ``exits``: none, or some kinds as fractions or ATR multiples."""
    out = {}
    for kind, high in (("stop_loss", 0.2), ("take_profit", 0.3), ("trailing_stop", 0.2)):
        choice = draw(st.sampled_from(("off", "off", "fraction", "atr")))
        if choice == "fraction":
            out[kind] = {"fraction": draw(_z(0.001, high))}
        elif choice == "atr":
            out[kind] = {"atr": draw(_z(0.1, 4.0)), "window": draw(st.integers(1, 30))}
    return out


@st.composite
def setups(draw, n_symbols: int, fill: str, whole_shares: bool) -> Setup:
    """Random costs (commission 0-1 %, slippage 0-20 bps, fee 0-5), caps, capital and exits."""
    return Setup(
        costs=Costs(
            float(draw(_z(0.0, 0.01))), float(draw(_z(0.0, 0.002))), float(draw(_z(0.0, 5.0)))
        ),
        cash=float(draw(st.sampled_from((1_000.0, 10_000.0, 1e6)))),
        max_position=float(draw(st.sampled_from((1.0, 0.6, 0.25)) | _z(0.05, 1.5))),
        max_leverage=float(draw(st.sampled_from((1.0, 2.0)) | _z(0.1, 2.0))),
        max_sector=float(draw(st.sampled_from((np.inf, 0.5)) | _z(0.05, 1.0))),
        sector_of=tuple(draw(st.sampled_from((0, 1, None))) for _ in range(n_symbols)),
        fill=fill,
        whole_shares=whole_shares,
        exits=draw(exit_rules()),
    )


# --- the engine ---------------------------------------------------------------------------


@functools.cache
def _jitted_signal(strategy: Strategy):
    return jax.jit(strategy.signal)


def engine_bars(market: Market):
    return bars_for(market, np.float64)


def engine_signal(strategy: Strategy, bars, param_sets: list[dict]) -> np.ndarray:
    """``(P, T, S)`` weights from the strategy's batched signal function."""
    return np.asarray(_jitted_signal(strategy)(bars, strategy.encode(param_sets)))


def engine_exits(bars, setup: Setup):
    """The kernels' exit inputs of ``setup`` (None without exits)."""
    return exit_inputs(setup.exits, bars, setup.fill)


def run_engine(strategy: Strategy, bars, param_sets: list[dict], setup: Setup, backend: str):
    """The simulation on ``backend`` with recording on: (final accounts, per-bar path)."""
    return simulate_lanes(
        bars,
        strategy.encode(param_sets),
        setup.costs,
        setup.cash,
        setup.limits(),
        strategy=strategy,
        fill=setup.fill,
        whole_shares=setup.whole_shares,
        backend=backend,
        exits=engine_exits(bars, setup),
    )


def as_frame(market: Market) -> pd.DataFrame:
    """A readable dump of a market for failure messages."""
    cols = {f"{s}.close": market.close[:, i] for i, s in enumerate(market.symbols)}
    return pd.DataFrame(cols, index=pd.DatetimeIndex(market.timestamps))
