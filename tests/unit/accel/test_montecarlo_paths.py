"""Day-by-day values of a run's first paths: the very paths of the run, on either backend."""

from __future__ import annotations

import numpy as np
import pytest

from accel import montecarlo as mc
from accel.montecarlo_paths import path_values


def _inputs():
    history = np.random.default_rng(3).normal(2e-4, 0.01, (60, 2))
    cov = np.array([[1e-4, 3e-5], [3e-5, 4e-4]])
    model = mc.Model(np.array([2e-4, -1e-4]), np.linalg.cholesky(cov), np.asarray(5.0), history)
    exposures = np.array([6e5, -2e5])
    book = mc.Book(exposures, np.asarray(5e5), np.asarray(5e5 + exposures.sum()))
    return model, book


def _stats_of(values, start):
    peak = np.maximum(np.maximum.accumulate(values, axis=1), start)
    drawdown = np.minimum((values / peak).min(axis=1) - 1.0, 0.0)
    return values[:, -1] / start - 1.0, drawdown


@pytest.mark.parametrize("backend", ["numba", "jax"])
@pytest.mark.parametrize("method", mc.METHODS)
@pytest.mark.parametrize("antithetic", [False, True])
def test_the_values_are_those_of_the_runs_first_paths(backend, method, antithetic):
    model, book = _inputs()
    run = dict(horizon=25, method=method, seed=11, stream=2, block=4, antithetic=antithetic)
    values = path_values(model, book, n_paths=300, backend=backend, **run)
    assert values.shape == (300, 25)
    if backend == "numba":
        stats = mc.fused_path_stats(model, book, n_paths=1000, **run)
        final, drawdown = stats.final_return[:300], stats.max_drawdown[:300]
        tolerance = {"rtol": 0, "atol": 1e-12}  # the same float operations
    else:
        stats = mc.simulate(model, book, n_paths=1000, budget=1 << 22, **run)
        final, drawdown = np.asarray(stats.final_return)[:300], np.asarray(stats.max_drawdown)[:300]
        tolerance = {"rtol": 1e-9, "atol": 1e-12}  # another compiled program
    mine = _stats_of(values, float(book.start_value))
    np.testing.assert_allclose(mine[0], final, **tolerance)
    np.testing.assert_allclose(mine[1], drawdown, **tolerance)


def test_an_unknown_method_is_refused():
    model, book = _inputs()
    with pytest.raises(ValueError, match="method"):
        path_values(model, book, n_paths=1, horizon=1, method="magic", seed=0)
