"""Compile cost paid once: every built-in strategy's CPU kernels, and the Monte Carlo kernel.

A worker process calls ``warm_up`` when it starts (``tasks.kernels``), so its first job does
not wait for compilation. The kernels are shape-generic, so four bars cover every job; with an
on-disk cache (``accel.jit.configure``) this loads machine code from disk. JAX is not touched
(its programs are per shape and have their own compilation cache).
"""

from __future__ import annotations

import time

import numpy as np

from accel import montecarlo
from engine import fused
from engine.strategies import get_strategy, strategy_ids


def warm_up() -> dict[str, float]:
    """Seconds spent per strategy (and ``monte_carlo``) compiling or loading its kernels."""
    spent = {}
    for strategy_id in strategy_ids():
        started = time.perf_counter()
        fused.warm(get_strategy(strategy_id))
        spent[strategy_id] = time.perf_counter() - started
    started = time.perf_counter()
    model = montecarlo.Model(np.zeros(1), np.eye(1) * 0.01, np.asarray(5.0), np.zeros((2, 1)))
    book = montecarlo.Book(np.ones(1), np.asarray(0.0), np.asarray(1.0))
    for method in montecarlo.METHODS:
        montecarlo.fused_path_stats(model, book, n_paths=2, horizon=2, method=method, seed=0)
    spent["monte_carlo"] = time.perf_counter() - started
    return spent
