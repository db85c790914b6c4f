"""Monte Carlo kernels: daily log returns of a book's assets over a horizon, and path statistics.

Pure functions vectorised over paths; the caller decides when to jit. Paths are drawn in
blocks of ``BLOCK`` paths, each from its own key ``fold_in(root, block index)``, so a run's
numbers do not depend on how it was split into memory chunks, only on the seed and the backend.
The book is held, not rebalanced: each asset's value grows by ``exp(cumulative log return)``
and cash stays put. ``simulate`` is the chunked driver; ``summarize`` reduces the per-path
results to the figures a report needs, on the device.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import accel  # 64-bit mode
from accel.device import simulation_backend

BLOCK = 256
"""Paths drawn from one key: chunks are whole blocks, so chunking never changes the numbers."""
VALUES_PER_PATH_STEP_ASSET = 6
"""Rough number of live arrays of shape (paths, days, assets) at the peak of a chunk."""
METHODS = ("parametric_normal", "parametric_t", "bootstrap")


class Book(NamedTuple):
    """What is held at the start: ``exposures`` ``(K,)`` in currency per asset, and ``cash``.

    Returns and drawdowns are measured against ``start_value``: the book's value, or its value
    before a shock when ``exposures`` are already shocked.
    """

    exposures: accel.Array
    cash: accel.Array
    start_value: accel.Array


class Model(NamedTuple):
    """Return model: ``drift`` ``(K,)`` and ``chol`` ``(K, K)`` of daily log returns (parametric),
    ``dof`` for Student-t, ``history`` ``(T, K)`` of daily log returns (bootstrap)."""

    drift: accel.Array
    chol: accel.Array
    dof: accel.Array
    history: accel.Array


class PathStats(NamedTuple):
    """Per path: return of the book over the horizon and its maximum drawdown (both <= 0 ok)."""

    final_return: accel.Array
    max_drawdown: accel.Array


def normal_log_returns(key, n_paths: int, horizon: int, drift, chol) -> jnp.ndarray:
    """``(P, H, K)`` correlated Gaussian daily log returns (geometric Brownian motion)."""
    z = jax.random.normal(key, (n_paths, horizon, chol.shape[0]), chol.dtype)
    return drift + z @ chol.T


def student_t_log_returns(key, n_paths: int, horizon: int, drift, chol, dof) -> jnp.ndarray:
    """``(P, H, K)`` multivariate Student-t daily log returns with covariance ``chol chol'``.

    One chi-square draw per path and day is shared by the assets (a common volatility shock,
    which is what fattens the joint tail); ``sqrt((dof - 2) / chi2)`` keeps the covariance.
    """
    k_z, k_w = jax.random.split(key)
    z = jax.random.normal(k_z, (n_paths, horizon, chol.shape[0]), chol.dtype)
    chi2 = 2.0 * jax.random.gamma(k_w, dof / 2.0, (n_paths, horizon, 1), chol.dtype)
    return drift + (z @ chol.T) * jnp.sqrt((dof - 2.0) / chi2)


def block_bootstrap(key, history, n_paths: int, horizon: int, block: int) -> jnp.ndarray:
    """``(P, H, K)`` rows of ``history`` ``(T, K)`` resampled in circular blocks of ``block`` days.

    Circular blocks (Politis and Romano) give every historical day the same chance to be drawn,
    so the resampled mean is unbiased for the sample mean; whole rows keep the cross-asset
    dependence, blocks keep some of the serial dependence.
    """
    n_days = history.shape[0]
    n_blocks = -(-horizon // block)
    starts = jax.random.randint(key, (n_paths, n_blocks, 1), 0, n_days)
    rows = (starts + jnp.arange(block)).reshape(n_paths, n_blocks * block)[:, :horizon]
    return history[rows % n_days]


def book_values(log_returns, book: Book) -> accel.Array:
    """``(P, H)`` value of the held book at the end of each day."""
    growth = jnp.exp(jnp.cumsum(log_returns, axis=1))
    return book.cash + growth @ book.exposures


def path_stats(values, initial) -> PathStats:
    """Final return and maximum drawdown of each path, the start value counting as a peak."""
    peak = jnp.maximum(jax.lax.cummax(values, axis=1), initial)
    drawdown = jnp.min(values / peak, axis=1) - 1.0
    return PathStats(values[:, -1] / initial - 1.0, jnp.minimum(drawdown, 0.0))


def draw_log_returns(
    keys, model: Model, horizon: int, method: str, block: int, antithetic: bool = False
) -> jnp.ndarray:
    """``(len(keys) * BLOCK, H, K)`` log returns: one block of paths per key. ``antithetic``
    makes each odd path the mirror of the even path before it (``2 drift - r``)."""

    def one(key):
        if method == "parametric_normal":
            return normal_log_returns(key, BLOCK, horizon, model.drift, model.chol)
        if method == "parametric_t":
            return student_t_log_returns(key, BLOCK, horizon, model.drift, model.chol, model.dof)
        return block_bootstrap(key, model.history, BLOCK, horizon, block)

    draws = jax.vmap(one)(keys)
    draws = draws.reshape(-1, *draws.shape[2:])
    if not antithetic or method == "bootstrap":
        return draws
    even = draws[0::2]
    return jnp.stack([even, 2.0 * model.drift - even], axis=1).reshape(draws.shape)


def block_keys(seed, stream, first: int | jnp.ndarray, n_blocks: int) -> jnp.ndarray:
    """Keys of blocks ``first ..``: block i's key is ``fold_in(fold_in(key(seed), stream), i)``."""
    root = jax.random.fold_in(jax.random.key(seed), stream)
    return jax.vmap(lambda i: jax.random.fold_in(root, i))(first + jnp.arange(n_blocks))


def chunk_stats(
    seed, stream, first, model: Model, book: Book, n_blocks, horizon, method, block, anti=False
):
    """Path statistics of blocks ``first .. first + n_blocks - 1``: one chunk's whole program."""
    keys = block_keys(seed, stream, first, n_blocks)
    log_returns = draw_log_returns(keys, model, horizon, method, block, anti)
    return path_stats(book_values(log_returns, book), book.start_value)


_chunk_stats = jax.jit(
    chunk_stats, static_argnames=("n_blocks", "horizon", "method", "block", "anti")
)


def chunk_blocks(n_paths: int, horizon: int, n_assets: int, itemsize: int, budget: int) -> int:
    """Blocks per chunk: as many as the memory budget holds, the fewest chunks, split evenly."""
    per_block = VALUES_PER_PATH_STEP_ASSET * itemsize * horizon * max(n_assets, 1) * BLOCK
    fit = max(1, budget // per_block)
    blocks = -(-n_paths // BLOCK)
    chunks = -(-blocks // fit)
    return -(-blocks // chunks)


def _plan(n_paths: int, horizon: int, method: str, book: Book, budget: int) -> tuple[int, int]:
    """(blocks per chunk, chunks) of a run."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    itemsize = np.dtype(book.exposures.dtype).itemsize
    per_chunk = chunk_blocks(n_paths, horizon, book.exposures.shape[0], itemsize, budget)
    return per_chunk, _ceil_div(_ceil_div(n_paths, BLOCK), per_chunk)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def simulate(
    model: Model,
    book: Book,
    *,
    n_paths: int,
    horizon: int,
    method: str,
    seed: int,
    stream: int = 0,
    block: int = 1,
    budget: int,
    antithetic: bool = False,
) -> PathStats:
    """Per-path statistics of whole blocks covering ``n_paths`` paths, in memory chunks.

    The result holds ``ceil(n_paths / BLOCK) * BLOCK`` paths or a little more (chunks are
    even); ``summarize`` takes the first ``n_paths``. Results stay on the device. ``stream``
    separates independent runs under one seed (e.g. one per stress scenario). Every chunk has
    the same shape, so a run compiles once per (chunk, horizon, assets, method).
    """
    per_chunk, n_chunks = _plan(n_paths, horizon, method, book, budget)
    seed32, stream32 = np.uint32(seed), np.uint32(stream)
    parts = [
        _chunk_stats(
            seed32, stream32, i * per_chunk, model, book, per_chunk, horizon, method, block,
            antithetic,
        )
        for i in range(n_chunks)
    ]  # fmt: skip
    if n_chunks == 1:
        return parts[0]
    return PathStats(*(jnp.concatenate(field) for field in zip(*parts, strict=True)))


class Summary(NamedTuple):
    """Distribution figures of one run, as fractions (returns) and probabilities."""

    mean_return: accel.Array
    return_quantiles: accel.Array  # at ``quantiles``
    var: accel.Array  # at each tail probability: the return quantile (negative is a loss)
    cvar: accel.Array  # mean of the returns in that tail
    probability_of_loss: accel.Array
    histogram_counts: accel.Array
    histogram_edges: accel.Array
    mean_drawdown: accel.Array
    drawdown_quantiles: accel.Array


def sorted_quantile(sorted_values, q, xp=jnp) -> jnp.ndarray:
    """Linear-interpolation quantiles (numpy's default) of an already sorted 1-D array."""
    position = xp.asarray(q, sorted_values.dtype) * (sorted_values.shape[0] - 1)
    low = xp.floor(position).astype(xp.int32)
    high = xp.minimum(low + 1, sorted_values.shape[0] - 1)
    weight = position - low
    return sorted_values[low] + weight * (sorted_values[high] - sorted_values[low])


def tail_mean(sorted_values, tail: float, xp=jnp) -> jnp.ndarray:
    """Mean of the ``floor((n - 1) * tail) + 1`` smallest values (``engine.metrics``' CVaR)."""
    k = math.floor((sorted_values.shape[0] - 1) * tail) + 1
    return xp.mean(sorted_values[:k])


def summarize(
    stats: PathStats, n_paths: int, quantiles: tuple, tails: tuple, bins: int, xp=jnp
) -> Summary:
    """Reduce the first ``n_paths`` per-path results to a ``Summary`` (``xp``: ``jax.numpy``
    on the device, ``numpy`` for the CPU kernel's results).

    ``quantiles`` and ``tails`` are probabilities.
    """
    final = xp.sort(stats.final_return[:n_paths])
    drawdown = xp.sort(stats.max_drawdown[:n_paths])
    counts, edges = xp.histogram(final, bins=bins)
    return Summary(
        mean_return=xp.mean(final),
        return_quantiles=sorted_quantile(final, quantiles, xp),
        var=sorted_quantile(final, tails, xp),
        cvar=xp.stack([tail_mean(final, t, xp) for t in tails]),
        probability_of_loss=xp.mean(final < 0),
        histogram_counts=counts,
        histogram_edges=edges,
        mean_drawdown=xp.mean(drawdown),
        drawdown_quantiles=sorted_quantile(drawdown, quantiles, xp),
    )


summarize_jit = jax.jit(summarize, static_argnames=("n_paths", "quantiles", "tails", "bins"))
"""``summarize`` compiled once per (paths, quantiles, tails, bins)."""


def pack(summary: Summary) -> jnp.ndarray:
    """Every field of a ``Summary`` in one flat vector: one device-to-host copy instead of
    nine (on an H100 the copies cost more than the 10,000-path simulation itself)."""
    return jnp.concatenate([jnp.ravel(x).astype(summary.mean_return.dtype) for x in summary])


def unpack(vector: np.ndarray, n_quantiles: int, n_tails: int, bins: int) -> Summary:
    """The host-side ``Summary`` of a ``pack``ed vector (histogram counts as integers)."""
    sizes = (1, n_quantiles, n_tails, n_tails, 1, bins, bins + 1, 1, n_quantiles)
    parts = np.split(np.asarray(vector), np.cumsum(sizes)[:-1])
    fields = [p[0] if len(p) == 1 and i in (0, 4, 7) else p for i, p in enumerate(parts)]
    fields[5] = np.rint(fields[5]).astype(np.int64)
    return Summary(*fields)


def _one_chunk_packed(
    seed, stream, model, book, n_blocks, horizon, method, block, n_paths, quantiles, tails, bins,
    anti,
):  # fmt: skip
    stats = chunk_stats(seed, stream, 0, model, book, n_blocks, horizon, method, block, anti)
    return pack(summarize(stats, n_paths, quantiles, tails, bins))


_one_chunk_packed_jit = jax.jit(_one_chunk_packed, static_argnums=tuple(range(4, 13)))
_packed_summary_jit = jax.jit(
    lambda stats, *static: pack(summarize(stats, *static)), static_argnums=(1, 2, 3, 4)
)


def simulate_summary(
    model: Model,
    book: Book,
    *,
    n_paths: int,
    horizon: int,
    method: str,
    seed: int,
    stream: int = 0,
    block: int = 1,
    budget: int,
    quantiles: tuple,
    tails: tuple,
    bins: int,
    antithetic: bool = False,
    backend: str | None = None,
) -> Summary:
    """``summarize(simulate(...))`` on the host (numpy). ``backend`` ``numba`` (the default on
    a CPU) runs the fused counter-based kernel of ``accel.montecarlo_nb``; ``jax`` compiles one
    program and makes one copy when the run fits one chunk, which is what small runs on an
    accelerator spend time on. The two backends draw different (equally distributed) paths."""
    levels = (n_paths, quantiles, tails, bins)
    if (backend or simulation_backend()) == "numba":
        stats = fused_path_stats(
            model,
            book,
            n_paths=n_paths,
            horizon=horizon,
            method=method,
            seed=seed,
            stream=stream,
            block=block,
            antithetic=antithetic,
        )
        return summarize(stats, *levels, xp=np)
    per_chunk, n_chunks = _plan(n_paths, horizon, method, book, budget)
    if n_chunks > 1:
        stats = simulate(
            model, book, n_paths=n_paths, horizon=horizon, method=method, seed=seed,
            stream=stream, block=block, budget=budget, antithetic=antithetic,
        )  # fmt: skip
        packed = _packed_summary_jit(stats, *levels)
    else:
        static = (per_chunk, horizon, method, block, *levels, antithetic)
        packed = _one_chunk_packed_jit(np.uint32(seed), np.uint32(stream), model, book, *static)
    return unpack(packed, len(quantiles), len(tails), bins)


def fused_path_stats(
    model: Model,
    book: Book,
    *,
    n_paths: int,
    horizon: int,
    method: str,
    seed: int,
    stream: int = 0,
    block: int = 1,
    antithetic: bool = False,
    first: int = 0,
) -> PathStats:
    """Paths ``first .. first + n_paths - 1`` on the CPU kernel, as numpy float64; the same
    path index gives the same path however the run is split."""
    from accel import jit, montecarlo_nb

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    final, drawdown = np.empty(n_paths), np.empty(n_paths)
    f32 = functools.partial(np.asarray, dtype=np.float32)
    jit.use_threads()
    montecarlo_nb.path_stats(
        montecarlo_nb.METHOD_CODES[method], montecarlo_nb.seed_key(seed, stream), first, n_paths,
        horizon, f32(model.drift), f32(model.chol), float(model.dof), f32(model.history),
        max(int(block), 1), np.asarray(book.exposures, np.float64), float(book.cash),
        float(book.start_value), antithetic, final, drawdown,
    )  # fmt: skip
    return PathStats(final, drawdown)
