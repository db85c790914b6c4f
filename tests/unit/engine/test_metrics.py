"""Tests for engine.metrics: agreement with empyrical-reloaded, batching, JAX and edge cases."""

from __future__ import annotations

import functools
import math

import empyrical as ep
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.metrics import (
    BENCHMARK_KEYS,
    METRIC_KEYS,
    PERIODS_PER_YEAR,
    drawdown_series,
    performance_metrics,
    periods_per_year,
    simple_returns,
)

REL = 1e-9
pytestmark = pytest.mark.filterwarnings("error")  # NaN must come without RuntimeWarnings


def random_curve(seed: int, n: int, start: float = 100.0, drift: float = 4e-4) -> np.ndarray:
    """A positive equity/price curve of ``n + 1`` points with fat-ish tailed returns."""
    rng = np.random.default_rng(seed)
    returns = drift + 0.01 * rng.standard_t(df=4, size=n)
    return start * np.concatenate([[1.0], np.cumprod(1.0 + returns)])


def empyrical_reference(equity, benchmark, ppy: float, rf: float) -> dict[str, float]:
    """Every metric computed by empyrical (or numpy) on the returns of the same curves."""
    r, b = simple_returns(equity), simple_returns(benchmark)
    rf_period = rf / ppy
    alpha, beta = ep.alpha_beta(r, b, risk_free=rf_period, annualization=ppy)
    return {
        "total_return": ep.cum_returns_final(r),
        "annual_return": ep.annual_return(r, annualization=ppy),
        "volatility": ep.annual_volatility(r, annualization=ppy),
        "sharpe_ratio": ep.sharpe_ratio(r, risk_free=rf_period, annualization=ppy),
        "sortino_ratio": ep.sortino_ratio(r, required_return=rf_period, annualization=ppy),
        "max_drawdown": ep.max_drawdown(r),
        "calmar_ratio": ep.calmar_ratio(r, annualization=ppy),
        "var_95": ep.value_at_risk(r),
        "cvar_95": ep.conditional_value_at_risk(r),
        "beta": beta,
        "alpha": alpha,
        "correlation": np.corrcoef(r, b)[0, 1],
        "benchmark_total_return": ep.cum_returns_final(b),
        "benchmark_volatility": ep.annual_volatility(b, annualization=ppy),
        "benchmark_sharpe": ep.sharpe_ratio(b, risk_free=rf_period, annualization=ppy),
        "excess_return": ep.cum_returns_final(r) - ep.cum_returns_final(b),
        "tracking_error": ep.annual_volatility(r - b, annualization=ppy),
        "information_ratio": ep.excess_sharpe(r, b) * math.sqrt(ppy),
    }


def assert_matches(ours: dict, reference: dict, rel: float = REL, abs_: float = 0.0) -> None:
    """Ours equals the reference where it is finite, and is NaN where it is inf or NaN."""
    for key, ref in reference.items():
        value = float(ours[key])
        if math.isfinite(ref):
            assert value == pytest.approx(ref, rel=rel, abs=abs_), key
        else:
            assert math.isnan(value), f"{key}: {value} where empyrical gives {ref}"


# --------------------------------------------------------------------------- frequencies


def test_periods_per_year_table() -> None:
    assert periods_per_year("1d") == 252
    assert periods_per_year("1h") == 1638
    assert periods_per_year("1m") == 252 * 390
    assert periods_per_year("1w") == 52
    assert periods_per_year("1mo") == 12
    assert set(PERIODS_PER_YEAR) == {"1m", "5m", "15m", "30m", "1h", "1d", "1w", "1mo"}


@pytest.mark.parametrize("bad", ["2d", "daily", "", "1D", None])
def test_periods_per_year_unknown_frequency(bad) -> None:
    with pytest.raises(ValueError, match="1d") as info:
        periods_per_year(bad)
    assert all(freq in str(info.value) for freq in PERIODS_PER_YEAR)


# --------------------------------------------------------------------------- series


def test_simple_returns_and_drawdown_values() -> None:
    equity = np.array([100.0, 110.0, 99.0, 121.0, 108.9])
    np.testing.assert_allclose(simple_returns(equity), [0.1, -0.1, 121 / 99 - 1, -0.1])
    np.testing.assert_allclose(drawdown_series(equity), [0.0, 0.0, -0.1, 0.0, -0.1], atol=1e-15)


def test_drawdown_series_matches_empyrical() -> None:
    equity = random_curve(3, 400)
    ours = drawdown_series(equity)
    assert ours[0] == 0.0
    reference = ep.stats.drawdown_series(simple_returns(equity))
    np.testing.assert_allclose(ours[1:], reference, atol=1e-12)


# --------------------------------------------------------------------------- vs empyrical


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("frequency", ["1d", "1h", "1w"])
@pytest.mark.parametrize("rf", [0.0, 0.04])
def test_matches_empyrical(seed: int, frequency: str, rf: float) -> None:
    n = [30, 252, 757, 1500, 61][seed]
    equity = random_curve(seed, n, drift=[4e-4, -3e-4, 1e-3, 0.0, 2e-4][seed])
    benchmark = random_curve(seed + 100, n, start=3000.0, drift=2e-4)
    ppy = periods_per_year(frequency)
    ours = performance_metrics(equity, benchmark, periods_per_year=ppy, risk_free_rate=rf)
    assert set(ours) == set(METRIC_KEYS) | set(BENCHMARK_KEYS)
    assert_matches(ours, empyrical_reference(equity, benchmark, ppy, rf))


def test_benchmark_keys_omitted_without_benchmark() -> None:
    ours = performance_metrics(random_curve(0, 100), periods_per_year=252)
    assert tuple(ours) == METRIC_KEYS


def test_documented_relations() -> None:
    """Relations stated in docs/metrics.md between our keys and empyrical's functions."""
    equity, benchmark = random_curve(7, 500), random_curve(8, 500)
    ppy, rf = 252.0, 0.05
    ours = performance_metrics(equity, benchmark, periods_per_year=ppy, risk_free_rate=rf)
    r, b = simple_returns(equity), simple_returns(benchmark)
    active = r - b
    ir = np.mean(active) * ppy / (np.std(active, ddof=1) * np.sqrt(ppy))
    assert float(ours["information_ratio"]) == pytest.approx(ir, rel=REL)
    assert float(ours["calmar_ratio"]) == pytest.approx(
        float(ours["annual_return"]) / abs(float(ours["max_drawdown"])), rel=REL
    )
    # The annual risk-free rate enters as rf / ppy per period, and beta ignores a constant rf.
    beta0 = performance_metrics(equity, benchmark, periods_per_year=ppy)["beta"]
    assert float(ours["beta"]) == pytest.approx(float(beta0), rel=1e-9)
    mean_alpha = np.mean((r - rf / ppy) - float(ours["beta"]) * (b - rf / ppy))
    assert float(ours["alpha"]) == pytest.approx((1 + mean_alpha) ** ppy - 1, rel=REL)


# --------------------------------------------------------------------------- CVaR convention


def test_cvar_is_mean_of_returns_at_or_below_var_without_ties() -> None:
    r = simple_returns(random_curve(11, 333))
    ours = performance_metrics(random_curve(11, 333), periods_per_year=252)
    var = np.percentile(r, 5)
    assert float(ours["var_95"]) == var
    assert float(ours["cvar_95"]) == pytest.approx(np.mean(r[r <= var]), rel=REL)


def test_cvar_with_ties_uses_empyrical_tail_count() -> None:
    """With ties at VaR, CVaR averages the k worst returns, not every return <= VaR."""
    returns = np.array([-0.02] + [0.0] * 38 + [0.01])  # 40 returns, VaR = 0
    equity = np.concatenate([[1.0], np.cumprod(1 + returns)])
    ours = performance_metrics(equity, periods_per_year=252)
    r = simple_returns(equity)
    assert float(ours["var_95"]) == pytest.approx(0.0, abs=1e-15)
    assert float(ours["cvar_95"]) == pytest.approx(ep.conditional_value_at_risk(r), rel=REL)
    assert float(ours["cvar_95"]) == pytest.approx(np.mean(np.sort(r)[:2]), rel=REL)
    assert float(ours["cvar_95"]) < np.mean(r[r <= ours["var_95"]])


# --------------------------------------------------------------------------- properties


returns_strategy = arrays(
    np.float64,
    st.integers(3, 200),
    elements=st.integers(-3000, 3000).map(lambda bp: bp / 1e4),  # basis points, |r| <= 30%
)


@settings(max_examples=150, deadline=None)
@given(r=returns_strategy, b_seed=st.integers(0, 2**16), rf=st.sampled_from([0.0, 0.03]))
def test_property_matches_empyrical(r: np.ndarray, b_seed: int, rf: float) -> None:
    # Ratios of a near-zero std are ill-conditioned in any implementation; skip those.
    assume(np.std(r) > 1e-6)
    equity = 100 * np.concatenate([[1.0], np.cumprod(1 + r)])
    benchmark = random_curve(b_seed, len(r), start=50.0)
    ours = performance_metrics(equity, benchmark, periods_per_year=252.0, risk_free_rate=rf)
    # abs 1e-12: values that are ~0 (e.g. total return) carry rounding from E_T / E_0 - 1.
    assert_matches(ours, empyrical_reference(equity, benchmark, 252.0, rf), abs_=1e-12)


@settings(max_examples=100, deadline=None)
@given(r=returns_strategy, scale=st.floats(1e-3, 1e6))
def test_property_invariants(r: np.ndarray, scale: float) -> None:
    assume(np.std(r) > 1e-6)  # near-constant returns make the ratios ill-conditioned
    equity = np.concatenate([[1.0], np.cumprod(1 + r)])
    ours = performance_metrics(equity, periods_per_year=252.0)
    scaled = performance_metrics(scale * equity, periods_per_year=252.0)
    for key in METRIC_KEYS:  # metrics depend on returns only, not on account size
        np.testing.assert_allclose(scaled[key], ours[key], rtol=1e-9, atol=1e-12, err_msg=key)
    dd = drawdown_series(equity)
    assert np.all(dd <= 0) and dd[0] == 0
    assert -1 <= ours["max_drawdown"] <= 0
    assert ours["cvar_95"] <= ours["var_95"] + 1e-15
    assert ours["volatility"] >= 0
    mean = np.mean(simple_returns(equity))
    if not np.isnan(ours["sharpe_ratio"]) and abs(mean) > 1e-12:
        assert np.sign(ours["sharpe_ratio"]) == np.sign(mean)


@settings(max_examples=100, deadline=None)
@given(r=arrays(np.float64, st.integers(2, 60), elements=st.floats(-0.25, 0.25, width=32)))
def test_property_never_inf_never_raises(r: np.ndarray) -> None:
    equity = np.concatenate([[1.0], np.cumprod(1 + r)])
    benchmark = np.concatenate([[1.0], np.cumprod(1 + r[::-1])])
    out = performance_metrics(equity, benchmark, periods_per_year=252 * 390.0)
    assert not any(np.isinf(v).any() for v in out.values())


# --------------------------------------------------------------------------- batching


@pytest.mark.parametrize("bench_batched", [False, True])
def test_batched_rows_equal_single_calls(bench_batched: bool) -> None:
    n, rows = 300, 5
    equity = np.stack([random_curve(s, n, drift=1e-4 * s) for s in range(rows)])
    if bench_batched:
        benchmark = np.stack([random_curve(50 + s, n) for s in range(rows)])
    else:
        benchmark = random_curve(99, n)
    kw = {"periods_per_year": 252.0, "risk_free_rate": 0.02}
    batched = performance_metrics(equity, benchmark, **kw)
    for i in range(rows):
        bench = benchmark[i] if bench_batched else benchmark
        single = performance_metrics(equity[i], bench, **kw)
        for key in single:
            assert batched[key].shape == (rows,), key
            assert batched[key][i] == pytest.approx(float(single[key]), rel=1e-12), key


def test_three_dimensional_batch() -> None:
    equity = np.stack([random_curve(s, 120) for s in range(6)]).reshape(2, 3, 121)
    out = performance_metrics(equity, random_curve(9, 120), periods_per_year=52.0)
    single = performance_metrics(equity[1, 2], random_curve(9, 120), periods_per_year=52.0)
    for key, value in out.items():
        assert value.shape == (2, 3)
        assert value[1, 2] == pytest.approx(float(single[key]), rel=1e-12), key


# --------------------------------------------------------------------------- JAX


@pytest.fixture(scope="module")
def jnp():
    """jax.numpy with 64-bit floats enabled for this module only."""
    jax = pytest.importorskip("jax")
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield jax.numpy
    jax.config.update("jax_enable_x64", previous)


@pytest.mark.filterwarnings("default")  # jax may warn about unrelated platform details
def test_jax_jit_equals_numpy(jnp) -> None:
    import jax

    equity = np.stack([random_curve(s, 500, drift=2e-4 * (s - 2)) for s in range(6)])
    equity[3] = 100.0  # a flat curve in the batch: NaN ratios must stay NaN under jit
    benchmark = random_curve(77, 500)
    kw = {"periods_per_year": 1638.0, "risk_free_rate": 0.03}
    jitted = jax.jit(functools.partial(performance_metrics, xp=jnp, **kw))
    ours_jax = jitted(jnp.asarray(equity), jnp.asarray(benchmark))
    ours_np = performance_metrics(equity, benchmark, **kw)
    assert set(ours_jax) == set(ours_np)
    for key, value in ours_np.items():
        got = np.asarray(ours_jax[key])
        assert got.dtype == np.float64, key
        np.testing.assert_allclose(got, value, rtol=1e-9, atol=0, equal_nan=True, err_msg=key)
    np.testing.assert_allclose(
        np.asarray(jax.jit(functools.partial(drawdown_series, xp=jnp))(equity)),
        drawdown_series(equity),
        rtol=1e-12,
    )


@pytest.mark.filterwarnings("default")
def test_jax_traced_periods_per_year(jnp) -> None:
    import jax

    equity = random_curve(5, 200)
    fn = jax.jit(lambda e, ppy: performance_metrics(e, periods_per_year=ppy, xp=jnp))
    got = fn(jnp.asarray(equity), 252.0)
    want = performance_metrics(equity, periods_per_year=252.0)
    for key, value in want.items():
        np.testing.assert_allclose(np.asarray(got[key]), value, rtol=1e-9, err_msg=key)


# --------------------------------------------------------------------------- undefined values


def test_flat_equity_gives_nan_not_exception() -> None:
    flat = np.full(50, 1000.0)
    out = performance_metrics(flat, flat, periods_per_year=252.0)
    for key in ("total_return", "annual_return", "volatility", "max_drawdown", "var_95"):
        assert out[key] == 0.0, key
    for key in ("sharpe_ratio", "sortino_ratio", "calmar_ratio", "beta", "alpha"):
        assert np.isnan(out[key]), key
    for key in ("correlation", "benchmark_sharpe", "information_ratio"):
        assert np.isnan(out[key]), key
    assert out["tracking_error"] == 0.0


def test_zero_dispersion_gives_nan_where_empyrical_gives_inf() -> None:
    equity = 2.0 ** np.arange(20)  # every return is exactly +100%
    out = performance_metrics(equity, periods_per_year=252.0)
    r = simple_returns(equity)
    assert np.isinf(ep.sharpe_ratio(r)) and np.isnan(out["sharpe_ratio"])
    assert np.isinf(ep.sortino_ratio(r)) and np.isnan(out["sortino_ratio"])
    assert out["volatility"] == 0.0


@pytest.mark.parametrize("length", [0, 1, 2])
def test_short_curves(length: int) -> None:
    equity = np.linspace(100.0, 120.0, length)
    out = performance_metrics(equity, equity * 2, periods_per_year=252.0)
    assert set(out) == set(METRIC_KEYS) | set(BENCHMARK_KEYS)
    needs_two_returns = ("volatility", "sharpe_ratio", "sortino_ratio", "beta", "alpha")
    for key in needs_two_returns + ("correlation", "tracking_error", "information_ratio"):
        assert np.isnan(out[key]), key
    if length == 2:
        assert out["total_return"] == pytest.approx(0.2)
        assert out["max_drawdown"] == 0.0
    else:
        assert all(np.isnan(v) for v in out.values())


def test_overflow_is_nan() -> None:
    equity = np.array([1.0, 2.0, 4.0, 8.0])  # 3 one-minute bars of +100%: CAGR overflows
    out = performance_metrics(equity, periods_per_year=periods_per_year("1m"))
    assert np.isnan(out["annual_return"]) and np.isnan(out["calmar_ratio"])
    assert out["total_return"] == 7.0
