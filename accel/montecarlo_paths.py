"""The day-by-day values of a Monte Carlo run's first paths, for the fan chart.

The run's kernels (``accel.montecarlo``, ``accel.montecarlo_nb``) keep only each path's final
return and maximum drawdown. This module re-draws the first ``n_paths`` paths of a run with the
same draws (the same seed, stream and path indices, on the same backend) and keeps the book's
value at the end of every day: the same paths as the first ``n_paths`` of the run, not new ones.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from accel import montecarlo as mc
from accel import montecarlo_nb as nb
from accel.device import simulation_backend


@functools.partial(jax.jit, static_argnames=("horizon", "method", "block", "anti"))
def _block_values(seed, stream, index, model, book, horizon, method, block, anti):
    keys = mc.block_keys(seed, stream, index, 1)
    return mc.book_values(mc.draw_log_returns(keys, model, horizon, method, block, anti), book)


def path_values(
    model: mc.Model,
    book: mc.Book,
    *,
    n_paths: int,
    horizon: int,
    method: str,
    seed: int,
    stream: int = 0,
    block: int = 1,
    antithetic: bool = False,
    backend: str | None = None,
) -> np.ndarray:
    """``(n_paths, horizon)`` float64: the book's value at the end of each day on paths
    ``0 .. n_paths - 1`` of the run ``simulate_summary`` makes with the same arguments."""
    if method not in mc.METHODS:
        raise ValueError(f"method must be one of {mc.METHODS}, got {method!r}")
    if (backend or simulation_backend()) == "numba":
        values = np.empty((n_paths, horizon))
        f32 = functools.partial(np.asarray, dtype=np.float32)
        nb.path_values(
            nb.METHOD_CODES[method], nb.seed_key(seed, stream), 0, n_paths, horizon,
            f32(model.drift), f32(model.chol), float(model.dof), f32(model.history),
            max(int(block), 1), np.asarray(book.exposures, np.float64), float(book.cash),
            antithetic, values,
        )  # fmt: skip
        return values
    seed_, stream_ = np.uint32(seed), np.uint32(stream)
    blocks = [
        np.asarray(
            _block_values(seed_, stream_, i, model, book, horizon, method, block, antithetic)
        )
        for i in range(-(-n_paths // mc.BLOCK))
    ]  # one block at a time: never more memory than one block of the run
    return np.concatenate(blocks)[:n_paths].astype(np.float64)
