"""The fused CPU backend against the JAX path: every sweep score, shared indicator rows."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import fused
from engine.optimize.evaluate import BlockStats
from engine.portfolio import limits_for
from engine.strategies import get_strategy
from engine.strategies.indicators import rolling_mean
from engine.sweep import SweepRules, sweep
from tests.unit.engine import kernel_cases as kc

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rules(setup: kc.Setup, rf: float) -> SweepRules:
    return SweepRules(setup.costs, setup.cash, setup.limits(), 252.0, rf, setup.fill,
                      setup.whole_shares, setup.exits)  # fmt: skip


def _assert_same_scores(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for key, value in expected.items():
        value, mine = np.asarray(value, float), np.asarray(got[key], float)
        assert mine.shape == value.shape, key
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(value), err_msg=key)
        np.testing.assert_allclose(mine, value, rtol=1e-9, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("strategy_id", kc.STRATEGY_IDS)
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_sweep_scores_equal_the_jax_path_with_a_benchmark_and_blocks(strategy_id, seed, data):
    market = kc.make_market(seed, holes="runs", hole_rate=0.1)
    fill, whole = kc.FAST_COMBO[strategy_id]
    setup = data.draw(kc.setups(kc.N_SYMBOLS, fill, whole))
    strategy = get_strategy(strategy_id)
    sets = data.draw(st.lists(kc.param_set(strategy_id), min_size=kc.N_SETS, max_size=kc.N_SETS))
    rf = data.draw(st.sampled_from((0.0, 0.03)))
    benchmark = np.nan_to_num(kc.engine_bars(market).close[:, 0]) + 1.0
    run = dict(benchmark=benchmark, tail_risk=True, extra=BlockStats(3, rf / 252.0))
    args = (strategy, kc.engine_bars(market), strategy.encode(sets), _rules(setup, rf))
    _assert_same_scores(sweep(*args, backend="numba", **run), sweep(*args, backend="jax", **run))


def _exits_that_never_fire(_exits):
    """``fused.exit_arrays`` for exit orders whose levels are infinitely far: none fires, but
    the lanes take the generic loop (``simulate_lane``)."""
    return np.zeros((3, kc.N_SYMBOLS, kc.N_BARS)), np.full(3, np.inf), True


@pytest.mark.parametrize("strategy_id", kc.STRATEGY_IDS)
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), combo=st.sampled_from(kc.COMBOS), data=st.data())
def test_single_symbol_lanes_equal_the_generic_loop(strategy_id, seed, combo, data):
    """Lanes of one symbol without exit orders take the loop with the position in scalars
    (``simulate_one``); held to the generic loop (itself held to the reference) with random
    costs, caps and capital."""
    market = kc.make_market(seed, holes="runs", hole_rate=0.1)
    setup = data.draw(kc.setups(1, *combo))
    strategy = get_strategy(strategy_id)
    sets = data.draw(st.lists(kc.param_set(strategy_id), min_size=kc.N_SETS, max_size=kc.N_SETS))
    rules = _rules(setup, 0.03)._replace(exits={})
    args = (strategy, kc.engine_bars(market), strategy.encode(sets), rules)
    run = dict(per_symbol=True, tail_risk=True, extra=BlockStats(3, 0.03 / 252.0), backend="numba")
    scalar = sweep(*args, **run)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fused, "exit_arrays", _exits_that_never_fire)
        _assert_same_scores(scalar, sweep(*args, **run))


@pytest.mark.parametrize(
    "exits", [{}, {"stop_loss": {"atr": 1.5, "window": 5}, "take_profit": {"fraction": 0.05}}]
)
def test_per_symbol_sweeps_score_each_symbol_as_its_own_account(monkeypatch, exits):
    """Also with exit orders, whose ATR distances are cut per symbol (group) like the bars."""
    market = kc.make_market(5, holes="runs")
    strategy = get_strategy("sma_crossover")
    sets = [strategy.resolve({"fast_period": f, "slow_period": s}) for f, s in ((3, 9), (5, 30))]
    setup = kc.Setup(kc.Costs(0.001, 0.0, 0.0), 1e4, 1.0, 1.0, np.inf, (None,), "next_open", True,
                     exits)  # fmt: skip
    rules = _rules(setup, 0.0)._replace(limits=limits_for(market.symbols[:1], 1, 1, {}, {}))
    args = (strategy, kc.engine_bars(market), strategy.encode(sets), rules)
    got = sweep(*args, per_symbol=True, backend="numba")
    assert got["final_equity"].shape == (2, kc.N_SYMBOLS)
    _assert_same_scores(got, sweep(*args, per_symbol=True, backend="jax"))
    monkeypatch.setattr(fused, "INDICATOR_BUDGET", 1)  # one symbol per group
    assert fused._symbols_per_group(strategy.plan, args[2], kc.N_BARS) == 1
    _assert_same_scores(sweep(*args, per_symbol=True, backend="numba"), got)


def test_indicators_are_computed_once_per_distinct_window():
    """The GOOG grid's 4,851 sets read 99 SMA rows (fast 2..99, slow 3..100)."""
    strategy = get_strategy("sma_crossover")
    grid = [{"fast_period": f, "slow_period": s} for f in range(2, 101) for s in range(f + 1, 101)]
    params = strategy.encode([strategy.resolve(p) for p in grid])
    bars = kc.engine_bars(kc.make_market(1))
    ind, rows = fused.indicator_rows(strategy.plan, bars, params)
    assert len(grid) == 4851 and ind.shape[0] == 98 + 98
    assert len(np.unique(rows)) == ind.shape[0]
    for i in (0, 1000, 4850):
        for k, name in enumerate(("fast_period", "slow_period")):
            own = rolling_mean(bars.close, jnp.asarray(params[name][i : i + 1]))[0]
            np.testing.assert_array_equal(ind[rows[i, k]], own.T)  # rows are (S, T)
