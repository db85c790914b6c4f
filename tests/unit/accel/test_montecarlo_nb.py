"""The CPU Monte Carlo kernel: counter-based draws (chunking and seeds), moments, antithetics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from accel import montecarlo as mc

N = 20_000


def _model(drift, cov, dof=5.0, history=None):
    cov = np.atleast_2d(cov)
    history = np.zeros((1, len(cov))) if history is None else history
    return mc.Model(np.broadcast_to(drift, len(cov)).astype(float), np.linalg.cholesky(cov),
                    np.asarray(dof), np.asarray(history, float))  # fmt: skip


def _book(exposures, cash=0.0):
    exposures = np.asarray(exposures, float)
    return mc.Book(exposures, np.asarray(cash), np.asarray(cash + exposures.sum()))


def _paths(model, book, n=N, horizon=1, method="parametric_normal", **kw):
    kw.setdefault("seed", 7)
    return mc.fused_path_stats(model, book, n_paths=n, horizon=horizon, method=method, **kw)


@pytest.mark.parametrize("method", mc.METHODS)
def test_a_path_is_the_same_however_the_run_is_split(method):
    history = np.random.default_rng(1).normal(0, 0.01, (40, 2))
    model, book = _model(1e-4, np.diag([1e-4, 4e-4]), history=history), _book([6e5, 4e5])
    run = dict(horizon=30, method=method, block=5)
    whole = _paths(model, book, n=700, **run)
    parts = [_paths(model, book, n=n, first=first, **run) for first, n in ((0, 255), (255, 445))]
    for field in range(2):
        np.testing.assert_array_equal(np.concatenate([p[field] for p in parts]), whole[field])


def test_same_seed_same_paths_other_seed_or_stream_other_paths():
    model, book = _model(1e-4, 1e-4), _book([1e5])
    a, b = _paths(model, book, n=500), _paths(model, book, n=500)
    np.testing.assert_array_equal(a.final_return, b.final_return)
    assert not np.array_equal(a.final_return, _paths(model, book, n=500, seed=8).final_return)
    other_stream = _paths(model, book, n=500, stream=1).final_return
    assert not np.array_equal(a.final_return, other_stream)


def test_normal_daily_log_returns_have_the_input_moments_and_correlation():
    sd, rho, m = np.array([0.01, 0.02]), 0.6, np.array([3e-4, -1e-4])
    cov = np.array([[1, rho], [rho, 1]]) * np.outer(sd, sd)
    draws = []
    for asset in range(2):  # one asset held at a time: final return = exp(r) - 1 after one day
        exposures = np.eye(2)[asset]
        draws.append(np.log1p(_paths(_model(m, cov), _book(exposures)).final_return))
    sample = np.stack(draws, axis=1)
    se = sd / math.sqrt(N)
    assert np.all(np.abs(sample.mean(axis=0) - m) < 4 * se)
    assert np.allclose(sample.std(axis=0) / sd, 1, atol=4 / math.sqrt(2 * N))
    assert abs(np.corrcoef(sample.T)[0, 1] - rho) < 4 * (1 - rho**2) / math.sqrt(N)


def test_var_and_cvar_of_a_lognormal_book_match_the_closed_form():
    from statistics import NormalDist

    m, s, horizon, z = 3e-4, 0.02, 21, NormalDist()
    stats = _paths(_model(m, s**2), _book([1e6]), horizon=horizon)
    summary = mc.summarize(stats, N, (0.5,), (0.05, 0.01), 20, xp=np)
    mu, sd = horizon * m, s * math.sqrt(horizon)
    for i, tail in enumerate((0.05, 0.01)):
        q = z.inv_cdf(tail)
        var = math.exp(mu + sd * q) - 1
        se = math.sqrt(tail * (1 - tail) / N) / z.pdf(q) * sd * math.exp(mu + sd * q)
        assert abs(float(summary.var[i]) - var) < 4 * se


def test_student_t_keeps_the_variance_and_fattens_the_tails():
    s = 0.01
    r = np.log1p(
        _paths(_model(0.0, s**2, dof=5.0), _book([1.0]), method="parametric_t").final_return
    )
    assert r.std() / s == pytest.approx(1.0, abs=0.05)
    assert np.mean((r / r.std()) ** 4) > 4.0  # a normal's kurtosis is 3, a t(5)'s is 9


def test_the_bootstrap_draws_whole_historical_rows():
    history = np.random.default_rng(2).normal(0, 0.01, (30, 2))
    model = _model(0.0, np.eye(2) * 1e-4, history=history)
    r = np.log1p(_paths(model, _book([1.0, 0.0]), n=300, method="bootstrap").final_return)
    rows = history[:, 0].astype(np.float32).astype(float)
    assert np.all(np.min(np.abs(r[:, None] - rows[None]), axis=1) < 1e-6)
    assert len(np.unique(np.round(r, 7))) > 20


def test_antithetic_paths_mirror_their_pair():
    m, s, horizon = 2e-4, 0.01, 10
    run = dict(horizon=horizon, antithetic=True)
    log_growth = np.log1p(_paths(_model(m, s**2), _book([1.0]), n=1000, **run).final_return)
    np.testing.assert_allclose(log_growth[1::2], 2 * horizon * m - log_growth[0::2], atol=1e-5)
    assert log_growth.mean() == pytest.approx(horizon * m, abs=1e-6)
