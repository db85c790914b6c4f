"""Monte Carlo kernels: closed forms, sampling properties, numpy references, kernel checks.

Shapes are shared between tests (``P`` paths, ``H`` days) so the suite compiles few programs.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import accel.montecarlo as mc

P, H = 4 * mc.BLOCK, 21
BIG = 1 << 30
Z = NormalDist()


def _book(exposures, cash=0.0, start=None, dtype=np.float64):
    exposures = np.asarray(exposures, dtype)
    start = float(cash + exposures.sum()) if start is None else start
    return mc.Book(jnp.asarray(exposures), jnp.asarray(cash, dtype), jnp.asarray(start, dtype))


def _model(drift, cov, dof=5.0, history=None, dtype=np.float64):
    cov = np.atleast_2d(cov)
    history = np.zeros((1, len(cov))) if history is None else history
    return mc.Model(
        jnp.asarray(np.broadcast_to(drift, len(cov)), dtype),
        jnp.asarray(np.linalg.cholesky(cov), dtype),
        jnp.asarray(dof, dtype),
        jnp.asarray(history, dtype),
    )


def _run(model, book, method="parametric_normal", n=P, horizon=H, seed=7, **kw):
    kw.setdefault("budget", BIG)
    return mc.simulate(model, book, n_paths=n, horizon=horizon, method=method, seed=seed, **kw)


def test_var_and_cvar_of_a_lognormal_book_match_the_closed_form():
    """One asset under GBM: R = exp(X) - 1 with X ~ N(H m, H s^2), so both have closed forms."""
    m, s, n = 3e-4, 0.02, 64 * mc.BLOCK
    stats = _run(_model(m, s**2), _book([1e6]), n=n)
    summary = mc.summarize_jit(stats, n, (0.5,), (0.05, 0.01), 20)
    mu, sd = H * m, s * math.sqrt(H)
    for i, tail in enumerate((0.05, 0.01)):
        z = Z.inv_cdf(tail)
        var = math.exp(mu + sd * z) - 1
        cvar = math.exp(mu + sd**2 / 2) * Z.cdf(z - sd) / tail - 1
        # standard errors of a sample quantile and of a tail mean, in return units
        se_var = math.sqrt(tail * (1 - tail) / n) / Z.pdf(z) * sd * math.exp(mu + sd * z)
        in_tail = np.sort(np.asarray(stats.final_return))[: int(tail * n)]
        se_cvar = in_tail.std() / math.sqrt(len(in_tail)) + tail * se_var
        assert abs(float(summary.var[i]) - var) < 4 * se_var
        assert abs(float(summary.cvar[i]) - cvar) < 4 * se_cvar


def test_simulated_daily_returns_have_the_input_correlation_and_variance():
    sd = np.array([0.01, 0.02, 0.015])
    corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    cov = corr * np.outer(sd, sd)
    model = _model(0.0, cov)
    draws = mc.normal_log_returns(jax.random.key(1), P, H, model.drift, model.chol)
    sample = np.asarray(draws).reshape(-1, 3)
    n = len(sample)
    assert np.abs(np.corrcoef(sample.T) - corr).max() < 4 / math.sqrt(n)
    assert np.allclose(sample.std(axis=0) / sd, 1, atol=4 / math.sqrt(2 * n))


def test_student_t_keeps_the_covariance_and_fattens_the_tails():
    cov = np.array([[1e-4, 5e-5], [5e-5, 4e-4]])
    model = _model(0.0, cov, dof=5.0)
    draws = mc.student_t_log_returns(jax.random.key(2), P, H, model.drift, model.chol, model.dof)
    sample = np.asarray(draws).reshape(-1, 2)
    assert np.allclose(np.cov(sample.T), cov, rtol=0.1)
    z = sample[:, 0] / sample[:, 0].std()
    assert np.mean(z**4) > 3.5  # a normal's kurtosis is 3, a t(5)'s is 9


def test_block_bootstrap_preserves_the_mean_within_its_standard_error():
    rng = np.random.default_rng(3)
    history = rng.standard_t(4, size=(250, 2)) * 0.01 + np.array([5e-4, -2e-4])
    draws = np.asarray(mc.block_bootstrap(jax.random.key(3), jnp.asarray(history), P, H, 5))
    path_means = draws.mean(axis=1)  # (P, 2)
    se = path_means.std(axis=0, ddof=1) / math.sqrt(P)
    assert np.all(np.abs(path_means.mean(axis=0) - history.mean(axis=0)) < 4 * se)


def test_block_bootstrap_draws_whole_rows_in_consecutive_circular_blocks():
    history = np.arange(40.0).reshape(20, 2)
    draws = np.asarray(mc.block_bootstrap(jax.random.key(4), jnp.asarray(history), 8, 12, 4))
    assert np.all(draws[..., 1] == draws[..., 0] + 1)  # rows stay whole
    rows = (draws[..., 0] / 2).astype(int)
    steps = (np.diff(rows, axis=1) % 20)[:, [0, 1, 2, 4, 5, 6, 8, 9, 10]]
    assert np.all(steps == 1)  # consecutive within each block of 4, wrapping at the end


def test_book_values_and_path_stats_match_a_numpy_loop():
    rng = np.random.default_rng(5)
    log_r = rng.normal(0, 0.05, size=(6, 9, 2))
    book = _book([600.0, -200.0], cash=600.0)
    values = np.asarray(mc.book_values(jnp.asarray(log_r), book))
    stats = mc.path_stats(jnp.asarray(values), 1000.0)
    for p in range(6):
        price = np.exp(np.cumsum(log_r[p], axis=0))
        expect = 600.0 + price @ np.array([600.0, -200.0])
        assert np.allclose(values[p], expect)
        peak, worst = 1000.0, 0.0
        for v in expect:
            peak = max(peak, v)
            worst = min(worst, v / peak - 1)
        assert stats.max_drawdown[p] == pytest.approx(worst)
        assert stats.final_return[p] == pytest.approx(expect[-1] / 1000.0 - 1)


def test_summarize_matches_numpy_and_the_metrics_cvar_convention():
    rng = np.random.default_rng(6)
    stats = mc.PathStats(
        jnp.asarray(rng.normal(0, 0.1, 999)), jnp.asarray(-rng.gamma(2, 0.05, 999))
    )
    s = mc.summarize_jit(stats, 999, (0.01, 0.5, 0.9), (0.05, 0.01), 10)
    final = np.asarray(stats.final_return)
    assert np.allclose(s.return_quantiles, np.quantile(final, [0.01, 0.5, 0.9]))
    assert np.allclose(s.drawdown_quantiles, np.quantile(stats.max_drawdown, [0.01, 0.5, 0.9]))
    k = math.floor((len(final) - 1) * 0.05) + 1  # engine.metrics' CVaR: a tail count
    assert float(s.var[0]) == pytest.approx(np.percentile(final, 5))
    assert float(s.cvar[0]) == pytest.approx(np.sort(final)[:k].mean())
    counts, edges = np.histogram(final, bins=10)
    assert np.array_equal(s.histogram_counts, counts) and np.allclose(s.histogram_edges, edges)
    assert float(s.probability_of_loss) == pytest.approx(np.mean(final < 0))


def test_same_seed_same_numbers_other_seed_or_stream_other_numbers():
    model, book = _model(1e-4, 1e-4), _book([1e5])
    a, b = _run(model, book, seed=11), _run(model, book, seed=11)
    assert np.array_equal(a.final_return, b.final_return)
    assert not np.array_equal(a.final_return, _run(model, book, seed=12).final_return)
    assert not np.array_equal(a.final_return, _run(model, book, seed=11, stream=1).final_return)


def test_chunking_by_memory_does_not_change_the_numbers():
    model, book = _model(1e-4, 1e-4), _book([1e5])
    n = 3 * mc.BLOCK + 17
    whole = _run(model, book, n=n)
    tiny_budget = mc.VALUES_PER_PATH_STEP_ASSET * 8 * H * mc.BLOCK  # one block per chunk
    chunked = _run(model, book, n=n, budget=tiny_budget)
    assert mc.chunk_blocks(n, H, 1, 8, tiny_budget) == 1
    assert whole.final_return.shape == chunked.final_return.shape == (4 * mc.BLOCK,)
    assert np.array_equal(whole.final_return, chunked.final_return)
    assert np.array_equal(whole.max_drawdown, chunked.max_drawdown)
    short = mc.summarize_jit(whole, n, (0.5,), (0.05,), 4)
    assert int(short.histogram_counts.sum()) == n  # the padding paths are left out


def test_the_fused_summary_equals_simulate_then_summarize_in_one_chunk_or_many():
    model, book = _model(1e-4, 1e-4), _book([1e5])
    n, levels = 2 * mc.BLOCK + 5, dict(quantiles=(0.1, 0.9), tails=(0.05,), bins=4)
    one_block = mc.VALUES_PER_PATH_STEP_ASSET * 8 * H * mc.BLOCK
    split = _run(model, book, n=n, budget=one_block)
    expect = mc.summarize_jit(split, n, levels["quantiles"], levels["tails"], levels["bins"])
    for budget in (BIG, one_block):
        fused = mc.simulate_summary(
            model, book, n_paths=n, horizon=H, method="parametric_normal", seed=7, budget=budget,
            backend="jax", **levels,
        )  # fmt: skip
        for got, want in zip(fused, expect, strict=True):
            assert np.allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", mc.METHODS)
def test_kernel_outputs_are_finite_with_shapes_and_dtypes_and_compile_once(method, dtype):
    history = np.random.default_rng(7).normal(0, 0.01, (60, 3))
    model = _model(0.0, np.diag([1e-4, 2e-4, 3e-4]), history=history, dtype=dtype)
    book = _book([1e4, 2e4, -5e3], cash=1e3, dtype=dtype)
    first = _run(model, book, method=method, seed=1, block=5)
    compiled = mc._chunk_stats._cache_size()
    second = _run(model, book, method=method, seed=2, block=5)
    assert mc._chunk_stats._cache_size() == compiled  # no recompilation on the second call
    for stats in (first, second):
        for x in stats:
            assert x.shape == (P,) and x.dtype == dtype
            assert bool(jnp.all(jnp.isfinite(x)))
        assert bool(jnp.all(stats.max_drawdown <= 0))
    summary = mc.summarize_jit(first, P, (0.5,), (0.05,), 8)
    assert summary.var.dtype == dtype and np.isfinite(np.asarray(summary.cvar)).all()


def test_unknown_method_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="parametric_normal"):
        _run(_model(0.0, 1e-4), _book([1.0]), method="garch")
