"""The batched engine against obvious per-bar references, on random markets and settings.

(a) every strategy's batched ``signal`` equals ``tests.reference.signals``; (b) the simulation on
each backend (``jax``: limits, alignment and the scan; ``numba``: the fused per-lane loop) equals
the loop limits and alignment of ``tests.reference.execution`` followed by
``accel.reference.simulate_reference``; (c) P parameter sets in one call equal P single calls.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accel.reference import simulate_reference
from engine.exits import exit_inputs
from engine.market import Market
from engine.portfolio import apply_limits
from engine.simulation import bars_for, execution_prices, execution_targets
from engine.strategies import Strategy, get_strategy
from engine.strategies import indicators as ind
from tests.reference import execution as ref_exec
from tests.reference import signals as ref
from tests.unit.engine import kernel_cases as kc

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEEDS = st.integers(0, 2**32 - 1)


def _sets(data, strategy_id: str, safe: bool = True, n: int = kc.N_SETS) -> list[dict]:
    return data.draw(st.lists(kc.param_set(strategy_id, safe), min_size=n, max_size=n))


def _reference_bars(market: Market) -> dict[str, np.ndarray]:
    return ref.reference_bars(market.timestamps, market.open, market.high, market.low, market.close)


def _check_signals(strategy_id: str, market: Market, sets: list[dict]) -> None:
    strategy = get_strategy(strategy_id)
    weights = kc.engine_signal(strategy, kc.engine_bars(market), sets)
    bars = _reference_bars(market)
    for lane, params in enumerate(sets):
        expected = ref.reference_weights(strategy_id, bars, params)
        bad = np.argwhere(weights[lane] != expected)
        assert not bad.size, (
            f"{strategy_id} {params}: weights differ at (bar, symbol) {bad[:5].tolist()}: "
            f"engine {weights[lane][tuple(bad[0])]}, reference {expected[tuple(bad[0])]}"
        )


# --- (a) signals ----------------------------------------------------------------------------


@pytest.mark.parametrize("strategy_id", kc.STRATEGY_IDS)
@SETTINGS
@given(seed=SEEDS, data=st.data())
def test_signals_match_reference(strategy_id, seed, data):
    """Isolated missing bars and windows of 3+ bars: no window is ever constant."""
    _check_signals(strategy_id, kc.make_market(seed), _sets(data, strategy_id))


@pytest.mark.parametrize("strategy_id", kc.STRATEGY_IDS)
@SETTINGS
@given(seed=SEEDS, data=st.data())
def test_signals_match_reference_over_long_gaps(strategy_id, seed, data):
    """Runs of up to 6 missing bars (flat filled prices) and any window or threshold."""
    market = kc.make_market(seed, holes="runs", hole_rate=0.15)
    _check_signals(strategy_id, market, _sets(data, strategy_id, safe=False))


@pytest.mark.slow
@pytest.mark.parametrize("shape", kc.SHAPES)
@pytest.mark.parametrize("strategy_id", kc.STRATEGY_IDS)
@SETTINGS
@given(seed=SEEDS, data=st.data())
def test_signals_match_reference_other_shapes(strategy_id, shape, seed, data):
    n_bars, n_symbols = shape
    market = kc.make_market(seed, n_bars, n_symbols, max_listing=n_bars // 2)
    _check_signals(strategy_id, market, _sets(data, strategy_id))


TINY = 8  # tiny markets are padded to this many bars, so each strategy compiles once


def _tiny_market(close, bars: int | None = None) -> Market:
    """One symbol with open = high = low = close; ``bars`` pads with missing bars at the end."""
    close = np.asarray(close, dtype=float)
    close = np.concatenate([close, np.full((bars or len(close)) - len(close), np.nan)])[:, None]
    stamps = pd.date_range("2024-01-01", periods=len(close), freq="D").to_numpy()
    return Market(stamps, ("A",), close, close, close, close, np.ones_like(close))


def _expected(strategy_id: str, market: Market, **params) -> np.ndarray:
    resolved = get_strategy(strategy_id).resolve(params)
    return ref.reference_weights(strategy_id, _reference_bars(market), resolved)[:, 0]


def _single(strategy_id: str, closes, **params) -> tuple[np.ndarray, np.ndarray]:
    """Engine (jitted, as ``run_lanes`` runs it) and reference weights of one symbol.

    The engine sees the closes padded with missing bars, which cannot change earlier signals.
    """
    strategy = get_strategy(strategy_id)
    resolved = strategy.resolve(params)
    padded = bars_for(_tiny_market(closes, TINY), np.float64)
    engine = kc.engine_signal(strategy, padded, [resolved])[0, : len(closes), 0]
    return engine, _expected(strategy_id, _tiny_market(closes), **params)


def test_reference_signals_on_hand_examples():
    """The references themselves, on cases worked out by hand."""
    market = _tiny_market([10, 12, 11, 11.5, 11.4, 11.6])
    expected = _expected("breakout", market, window=1, allow_short=True)
    np.testing.assert_array_equal(expected, [0, 1, -1, 1, -1, 1])
    expected = _expected("breakout", market, window=2)
    np.testing.assert_array_equal(expected, [0, 0, 0, 0, 0, 1])
    # SMA 1/2: fast - slow = c[t] - (c[t-1] + c[t]) / 2 has the sign of the last change.
    expected = _expected("sma_crossover", market, fast_period=1, slow_period=2, allow_short=True)
    np.testing.assert_array_equal(expected, [0, 0, -1, 1, -1, 1])
    # RSI(2): seeded at bar 2 with gains (2, 0) and losses (0, 1), then Wilder's smoothing.
    rsi = ref.wilder_rsi(np.array([10, 12, 11, 11.5, 11.4]), 2)
    np.testing.assert_array_equal(rsi[:2], [np.nan, np.nan])
    np.testing.assert_allclose(rsi[2:], [200 / 3, 75.0, 100 - 100 / (1 + 0.375 / 0.175)])
    assert np.isnan(ref.wilder_rsi(np.array([10.0, 10, 10, 11]), 2)[2])  # 0 / 0
    np.testing.assert_array_equal(ref.wilder_rsi(np.array([10.0, 10, 11]), 2), [np.nan] * 2 + [100])
    # mean reversion, window 2: z = +-1 whenever the close moves.
    expected = _expected("mean_reversion", market, window=2, entry_z=0.5, exit_z=0.5)
    np.testing.assert_array_equal(expected, [0, 0, 1, 0, 1, 0])


def test_rolling_extreme_spans_exactly_window_bars():
    """Regression: the sparse-table query once spanned window + 1 bars."""
    x = np.array([5.0, 1, 2, 3, 0, 4, 0, 6, 2])
    windows = [1, 2, 3, 4, 5]
    extreme = jax.jit(ind.rolling_extreme, static_argnums=(2, 3))
    for op, pick in ((jnp.maximum, max), (jnp.minimum, min)):
        got = np.asarray(extreme(jnp.asarray(x[:, None]), jnp.array(windows), 1000, op))
        for lane, n in enumerate(windows):
            expected = [pick(x[t - n + 1 : t + 1]) if t >= n - 1 else np.nan for t in range(9)]
            np.testing.assert_array_equal(got[lane, :, 0], expected, err_msg=f"{pick} {n}")


def test_breakout_window_one_compares_with_the_previous_bar_only():
    # close 11 at bar 2 is below bar 1's low (12): exit (not below min(10, 12)).
    engine, expected = _single("breakout", [10, 12, 11, 11.5], window=1)
    np.testing.assert_array_equal(expected, [0, 1, 0, 1])
    np.testing.assert_array_equal(engine, expected)


def test_sma_crossover_does_not_fire_on_equal_averages():
    """Regression: averages once came from float cumulative sums, so equal SMAs 'crossed'."""
    # bars 2-4 repeat the close (missing bars filled): fast == slow == 10.74, no cross.
    engine, expected = _single(
        "sma_crossover",
        [19.15, 11.27, 10.74, 10.74, 10.74],
        fast_period=1,
        slow_period=2,
    )
    np.testing.assert_array_equal(expected, [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(engine, expected)


def test_rsi_of_unchanged_closes_fires_nothing():
    """Regression: a seed of zero changes once gave an RSI of 1173 under jit."""
    # no change at all over the seed window: RSI(3) is undefined at bar 3 (0 / 0), then 0.
    closes = [54.47, 54.47, 54.47, 54.47, 26.09, 39.72, 26.9, 29.58]
    engine, expected = _single("rsi", closes, period=3, allow_short=True)
    np.testing.assert_array_equal(expected, [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(engine, expected)


def test_mean_reversion_does_not_fire_on_a_constant_window():
    """Regression: a flat window's z-score was once +-inf (a std of rounding noise)."""
    # a window of two equal closes has no deviation; entry_z=2 must not trigger.
    engine, expected = _single(
        "mean_reversion",
        [18.01, 11.99, 11.99, 11.99, 11.99],
        window=2,
        entry_z=2.0,
        exit_z=0.5,
    )
    np.testing.assert_array_equal(expected, [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(engine, expected)


def test_sma_crossover_ignores_a_flat_three_bar_window():
    # up-cross at bar 3; from bar 4 the 3-bar window is flat: SMA(1) == SMA(3) == 32.01.
    engine, expected = _single(
        "sma_crossover",
        [77.33, 20.42, 32.01, 32.01, 32.01, 32.01],
        fast_period=1,
        slow_period=3,
    )
    np.testing.assert_array_equal(expected, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(engine, expected)


def test_rsi_of_a_flat_three_bar_seed_fires_nothing():
    closes = [58.17, 58.17, 58.17, 58.17, 34.64, 24.3, 96.32]
    engine, expected = _single("rsi", closes, period=3, allow_short=True)
    np.testing.assert_array_equal(expected, [0, 0, 0, 0, 1, 1, -1])
    np.testing.assert_array_equal(engine, expected)  # engine: short at bar 3 (RSI 75.4)


def test_mean_reversion_holds_through_a_constant_window():
    # long from bar 1 (z = -1 < -0.5); bars 3-4 repeat 30.68: no z-score, nothing to exit on.
    engine, expected = _single(
        "mean_reversion",
        [83.19, 52.72, 30.68, 30.68, 30.68],
        window=2,
        entry_z=0.5,
        exit_z=0.0,
    )
    np.testing.assert_array_equal(expected, [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(engine, expected)


@SETTINGS
@given(seed=SEEDS, window=st.integers(1, 40), fill=st.sampled_from(("next_open", "close")))
def test_average_true_range_matches_reference(seed, window, fill):
    """The ATR distances of exit orders: k x ATR of the bar that decides the entry."""
    market = kc.make_market(seed, holes="runs")
    bars = _reference_bars(market)
    rules = {"stop_loss": {"atr": 2.5, "window": window}}
    inputs = exit_inputs(rules, kc.engine_bars(market), fill)
    assert list(inputs.fraction) == [0.0, np.inf, np.inf]
    for s in range(len(market.symbols)):
        atr = 2.5 * ref.average_true_range(bars["high"][:, s], bars["low"][:, s],
                                           bars["close"][:, s], window)  # fmt: skip
        expected = np.concatenate([[np.nan], atr[:-1]]) if fill == "next_open" else atr
        np.testing.assert_allclose(inputs.atr[:, 0, s], expected, rtol=0, atol=1e-7)  # 1e-8 grid
        np.testing.assert_array_equal(inputs.atr[:, 1:, s], 0.0)


def test_rolling_std_of_a_constant_window_is_zero():
    closes = jnp.asarray(np.array([83.19, 52.72, 30.68, 30.68, 30.68])[:, None])
    rolling_std = jax.jit(ind.rolling_std, static_argnums=2)
    std = np.asarray(rolling_std(closes, jnp.array([2]), 1000))[0, :, 0]
    np.testing.assert_array_equal(std[3:], [0.0, 0.0])


# --- (b) lanes and (c) batching ---------------------------------------------------------------


def _reference_exits(market: Market, inputs, fill: str) -> dict | None:
    """The reference's exit inputs: forward-filled bars, and the ATR distances the engine
    computed (held to the reference ATR in ``test_average_true_range_matches_reference``)."""
    if inputs is None:
        return None
    bars = {k: np.nan_to_num(ref.forward_fill(getattr(market, k))) for k in ("open", "high", "low")}
    fill_next = fill == "next_open"
    return {**bars, "atr": inputs.atr, "fraction": inputs.fraction, "fill_next": fill_next}


def check_lanes(
    strategy: Strategy,
    market: Market,
    sets: list[dict],
    setup: kc.Setup,
    single_calls: bool,
    backend: str,
) -> None:
    """Each backend's simulation of ``strategy``'s own weights against the loop reference."""
    bars = kc.engine_bars(market)
    acct, path = kc.run_engine(strategy, bars, sets, setup, backend)
    weights = kc.engine_signal(strategy, bars, sets)
    limits = setup.limits()
    targets = np.asarray(execution_targets(apply_limits(jnp.asarray(weights), limits), setup.fill))
    prices = execution_prices(bars, setup.fill)
    ref_prices = ref_exec.align(weights[0], market.open, market.close, setup.fill)[1:]
    for name, got, expected in zip(
        ("execute", "value", "mark", "tradable"), prices, ref_prices, strict=True
    ):
        np.testing.assert_array_equal(np.asarray(got), expected, err_msg=name)
    cash = setup.cash
    exits = _reference_exits(market, kc.engine_exits(bars, setup), setup.fill)
    for lane in range(len(sets)):
        capped = ref_exec.limit_weights(
            weights[lane],
            setup.max_position,
            setup.max_leverage,
            setup.max_sector,
            list(setup.sector_of),
        )
        lane_targets = ref_exec.align(capped, market.open, market.close, setup.fill)[0]
        np.testing.assert_allclose(targets[:, lane], lane_targets, rtol=1e-12, atol=1e-15)
        equity, shares, account = simulate_reference(
            targets[:, lane], *ref_prices, setup.costs, cash, setup.whole_shares, exits
        )
        where = f"lane {lane} {sets[lane]} {setup}"
        if exits is not None:
            exited, price = account["exits"]
            np.testing.assert_allclose(
                path.exit_shares[:, lane],
                exited,
                rtol=1e-9,
                atol=1e-9 * max(1.0, np.abs(exited).max()),
                err_msg=where,
            )
            np.testing.assert_allclose(path.exit_price[:, lane], price, rtol=1e-12, err_msg=where)
        np.testing.assert_allclose(
            path.equity[:, lane], equity, rtol=1e-9, atol=1e-9 * cash, err_msg=where
        )
        scale = max(1.0, float(np.abs(shares).max()))
        np.testing.assert_allclose(
            path.shares[:, lane], shares, rtol=1e-9, atol=1e-9 * scale, err_msg=where
        )
        np.testing.assert_allclose(acct.cash[lane], account["cash"], rtol=1e-9, atol=1e-9 * cash)
        assert (acct.orders[lane], acct.wins[lane], acct.losses[lane]) == (
            account["orders"],
            account["wins"],
            account["losses"],
        ), where
        assert acct.wins[lane] + acct.losses[lane] <= acct.orders[lane]
    # (c): a lane does not see the other lanes' parameters, and a set alone (one compiled
    # program per batch size, so only where asked) gives its lane of the batch.
    for lane, params in enumerate(sets):
        batches = [[params] * len(sets)] + ([[params]] if single_calls else [])
        for batch in batches:
            one_acct, one_path = kc.run_engine(strategy, bars, batch, setup, backend)
            for other in range(len(batch)):
                np.testing.assert_allclose(
                    one_path.equity[:, other], path.equity[:, lane], rtol=1e-12, atol=1e-12 * cash
                )
                np.testing.assert_allclose(
                    one_path.shares[:, other], path.shares[:, lane], rtol=1e-12, atol=1e-12
                )
                for name in ("orders", "wins", "losses"):
                    assert getattr(one_acct, name)[other] == getattr(acct, name)[lane], name


# Single-set calls compile a second JAX program; the fast suite makes them for the strategies
# that compile quickly, the slow suite for all. The fused loop compiles once per strategy
# (fill and whole shares are run-time flags), so it runs every combination in the fast suite.
QUICK_TO_COMPILE = ("buy_and_hold", "sma_crossover", "momentum_factor")
FAST_LANES = [
    (sid, *kc.FAST_COMBO[sid], sid in QUICK_TO_COMPILE, "jax") for sid in kc.STRATEGY_IDS
] + [(sid, fill, whole, True, "numba") for sid in kc.STRATEGY_IDS for fill, whole in kc.COMBOS]
SLOW_LANES = [
    pytest.param(sid, fill, whole, True, "jax", marks=pytest.mark.slow)
    for sid in kc.STRATEGY_IDS
    for fill, whole in kc.COMBOS
    if (fill, whole) != kc.FAST_COMBO[sid] or sid not in QUICK_TO_COMPILE
]


@pytest.mark.parametrize(
    ("strategy_id", "fill", "whole_shares", "single_calls", "backend"), FAST_LANES + SLOW_LANES
)
@SETTINGS
@given(seed=SEEDS, data=st.data())
def test_lanes_match_reference(strategy_id, fill, whole_shares, single_calls, backend, seed, data):
    """Runs of missing bars, late listings, random costs, caps and capital."""
    market = kc.make_market(seed, holes="runs", hole_rate=0.1)
    setup = data.draw(kc.setups(kc.N_SYMBOLS, fill, whole_shares))
    sets = _sets(data, strategy_id, safe=False)
    check_lanes(get_strategy(strategy_id), market, sets, setup, single_calls, backend)


@pytest.mark.slow
@pytest.mark.parametrize("backend", kc.BACKENDS)
@pytest.mark.parametrize("shape", kc.SHAPES)
@pytest.mark.parametrize("strategy_id", kc.STRATEGY_IDS)
@SETTINGS
@given(seed=SEEDS, data=st.data())
def test_lanes_match_reference_other_shapes(strategy_id, shape, backend, seed, data):
    n_bars, n_symbols = shape
    fill, whole = kc.COMBOS[n_symbols % len(kc.COMBOS)]
    market = kc.make_market(seed, n_bars, n_symbols, holes="runs", max_listing=n_bars // 2)
    setup = data.draw(kc.setups(n_symbols, fill, whole))
    check_lanes(
        get_strategy(strategy_id),
        market,
        _sets(data, strategy_id, safe=False),
        setup,
        True,
        backend,
    )
