"""No look-ahead: bars after t change no signal at or before t and no fill that precedes them.

A decision at the close of t fills at the close of t (``close``) or at the open of t+1
(``next_open``); that fill may see the open of t+1 and whether bar t+1 exists, nothing later.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.market import Market
from engine.simulation import bars_for
from engine.strategies import get_strategy
from engine.strategies import indicators as ind
from tests.unit.engine import kernel_cases as kc

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**32 - 1)


def _paths_equal(a, b, upto: int) -> None:
    for name in ("equity", "cash", "shares"):
        np.testing.assert_array_equal(
            getattr(a, name)[:upto], getattr(b, name)[:upto], err_msg=f"{name} before {upto}"
        )


@pytest.mark.parametrize("backend", kc.BACKENDS)
@pytest.mark.parametrize("strategy_id", kc.STRATEGY_IDS)
@SETTINGS
@given(seed=SEEDS, other=SEEDS, t=st.integers(0, kc.N_BARS - 2), data=st.data())
def test_later_bars_change_no_earlier_signal_or_fill(strategy_id, backend, seed, other, t, data):
    strategy = get_strategy(strategy_id)
    fill, whole_shares = kc.FAST_COMBO[strategy_id]  # the programs the kernel tests compiled
    setup = data.draw(kc.setups(kc.N_SYMBOLS, fill, whole_shares))
    sets = data.draw(st.lists(kc.param_set(strategy_id), min_size=kc.N_SETS, max_size=kc.N_SETS))
    market = kc.make_market(seed)
    later = kc.perturb_after(market, t, other)
    assert not np.array_equal(
        np.nan_to_num(later.close[t + 1 :]), np.nan_to_num(market.close[t + 1 :])
    )

    before = kc.engine_signal(strategy, kc.engine_bars(market), sets)
    after = kc.engine_signal(strategy, kc.engine_bars(later), sets)
    np.testing.assert_array_equal(after[:, : t + 1], before[:, : t + 1])

    _, path = kc.run_engine(strategy, kc.engine_bars(market), sets, setup, backend)
    _, changed = kc.run_engine(strategy, kc.engine_bars(later), sets, setup, backend)
    _paths_equal(changed, path, t + 1)
    if fill == "next_open":
        # exit orders during t+1 rightly read that bar's high and low, so those stay too
        kept_open = kc.perturb_after(market, t, other, keep_open=True, keep_range=bool(setup.exits))
        _, opened = kc.run_engine(strategy, kc.engine_bars(kept_open), sets, setup, backend)
        np.testing.assert_array_equal(opened.shares[: t + 2], path.shares[: t + 2])
        np.testing.assert_array_equal(opened.cash[: t + 2], path.cash[: t + 2])


@pytest.mark.parametrize("backend", kc.BACKENDS)
def test_a_fill_at_the_next_open_sees_that_open(backend):
    """The check above can fail: the fill at t+1 moves with the open of t+1."""
    strategy = get_strategy("buy_and_hold")
    market = kc.make_market(3, hole_rate=0.0)
    fill_bar = int(np.argmax(market.valid[:, 0])) + 1  # bought at the open after its first close
    setup = kc.Setup(
        kc.Costs(0.0, 0.0, 0.0), 10_000.0, 1.0, 1.0, np.inf, (None,) * 3, "next_open", False
    )
    _, path = kc.run_engine(strategy, kc.engine_bars(market), [{}] * kc.N_SETS, setup, backend)
    opens = np.array(market.open, copy=True)
    opens[fill_bar:] *= 1.1
    moved = Market(
        market.timestamps,
        market.symbols,
        opens,
        market.high,
        market.low,
        market.close,
        market.volume,
    )
    _, other = kc.run_engine(strategy, kc.engine_bars(moved), [{}] * kc.N_SETS, setup, backend)
    _paths_equal(other, path, fill_bar)
    assert path.shares[fill_bar, 0, 0] > 0
    assert not np.array_equal(other.shares[fill_bar], path.shares[fill_bar])


def _closes(values, bars: int = 8) -> Market:
    """One symbol padded with missing bars to ``bars`` (one compiled shape for all)."""
    close = np.asarray(values, dtype=float)
    close = np.concatenate([close, np.full(bars - len(close), np.nan)])[:, None]
    stamps = pd.date_range("2024-01-01", periods=len(close), freq="D").to_numpy()
    return Market(stamps, ("A",), close, close, close, close, np.ones_like(close))


FLAT = [18.01, 11.99, 11.99, 11.99, 11.99]  # bars 1-4 repeat 11.99 (missing bars, filled)


def test_moving_average_at_t_ignores_later_bars():
    """Regression: prices were once centred on their max over all bars, later ones included."""
    mean = jax.jit(ind.rolling_mean)
    windows = jnp.array([1, 2, 3, 4])
    short = mean(bars_for(_closes(FLAT), np.float64).close, windows)
    longer = mean(bars_for(_closes([*FLAT, 30.0]), np.float64).close, windows)
    np.testing.assert_array_equal(np.asarray(longer)[:, :5], np.asarray(short)[:, :5])


def test_crossover_at_t_ignores_later_bars():
    """Regression: equal averages once 'crossed' depending on a later bar's price.

    SMA(1) == SMA(2) from bar 2, so no cross; a bar at 30.0 after them once made the engine
    go long at bar 2.
    """
    strategy = get_strategy("sma_crossover")
    params = [strategy.resolve({"fast_period": 1, "slow_period": 2})]
    short = kc.engine_signal(strategy, bars_for(_closes(FLAT), np.float64), params)
    longer = kc.engine_signal(strategy, bars_for(_closes([*FLAT, 30.0]), np.float64), params)
    np.testing.assert_array_equal(longer[0, :5, 0], short[0, :5, 0])
    np.testing.assert_array_equal(short[0, :5, 0], 0.0)
