"""Monte Carlo of a held book on the CPU: counter-based draws fused with the path accumulation.

Every random number is a pure function of ``(seed, stream, path, day, slot)`` (a SplitMix64
hash of a counter), so a path's numbers never depend on how the paths are split into calls or
threads, and no ``paths x days x assets`` array exists: each path walks its days with its log
prices in registers and keeps only its final return and maximum drawdown. Draws, daily log
returns and log prices are float32 (Monte Carlo error at 10,000 paths is about 1e-2 of a
quantile, float32 rounding about 1e-6); the book's value, drawdowns and returns are float64.

Normals come from Box-Muller on 24-bit uniforms (|z| up to 5.9); Student-t scales a normal
vector by ``sqrt((dof - 2) / chi2)`` with one chi-square per path and day (Marsaglia-Tsang);
the bootstrap draws circular blocks of historical days. ``antithetic`` pairs path 2i + 1 with
path 2i's draws negated (parametric methods).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, uint64

GOLDEN = uint64(0x9E3779B97F4A7C15)
MIX1 = uint64(0xBF58476D1CE4E5B9)
MIX2 = uint64(0x94D049BB133111EB)
U24 = np.float32(1.0 / (1 << 24))
TWO_PI = np.float32(2.0 * math.pi)
GAMMA_TRIES = 32
METHOD_CODES = {"parametric_normal": 0, "parametric_t": 1, "bootstrap": 2}


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def mix(z):
    """SplitMix64's finaliser: a bijective 64-bit hash."""
    z = (z ^ (z >> uint64(30))) * MIX1
    z = (z ^ (z >> uint64(27))) * MIX2
    return z ^ (z >> uint64(31))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def bits(key, counter):
    """64 random bits for ``counter`` under ``key``."""
    return mix(key + (counter + uint64(1)) * GOLDEN)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def normal_pair(key, counter):
    """Two independent standard normals (float32) from one counter (Box-Muller)."""
    z = bits(key, counter)
    u1 = (np.float32(z >> uint64(40)) + np.float32(0.5)) * U24
    u2 = (np.float32(z & uint64(0xFFFFFF)) + np.float32(0.5)) * U24
    radius = math.sqrt(np.float32(-2.0) * math.log(u1))
    angle = TWO_PI * u2
    return radius * math.cos(angle), radius * math.sin(angle)


@njit(cache=True, nogil=True, error_model="numpy")
def chi_square(key, counter, dof):
    """A chi-square(dof) draw, dof > 2: twice a Gamma(dof / 2) by Marsaglia-Tsang."""
    d = dof / 2.0 - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    base = counter * uint64(GAMMA_TRIES)
    for attempt in range(GAMMA_TRIES):
        x, _ = normal_pair(key, base + uint64(attempt))
        v = (1.0 + c * x) ** 3
        u = (np.float64(bits(key ^ MIX2, base + uint64(attempt)) >> uint64(11)) + 0.5) / 2.0**53
        if v > 0 and math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            return 2.0 * d * v
    return 2.0 * d  # 32 rejections in a row: probability below 1e-40


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _daily_returns(method, key, path, day, horizon, drift, chol, dof, history, block, z, out):
    """Day ``day``'s log returns of path ``path`` into ``out`` (float32, K)."""
    n_assets = out.shape[0]
    if method == 2:
        n_days = history.shape[0]
        start = bits(key, uint64(path) * uint64(horizon) + uint64(day // block)) % uint64(n_days)
        row = (np.int64(start) + day % block) % n_days
        for k in range(n_assets):
            out[k] = history[row, k]
        return
    pairs = (n_assets + 1) // 2
    base = (uint64(path) * uint64(horizon) + uint64(day)) * uint64(pairs)
    for j in range(pairs):
        z[2 * j], z[2 * j + 1] = normal_pair(key, base + uint64(j))
    scale = np.float32(1.0)
    if method == 1:
        chi2 = chi_square(key ^ MIX1, uint64(path) * uint64(horizon) + uint64(day), dof)
        scale = np.float32(math.sqrt((dof - 2.0) / chi2))
    for k in range(n_assets):
        shock = np.float32(0.0)
        for j in range(k + 1):
            shock += chol[k, j] * z[j]
        out[k] = drift[k] + shock * scale


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _path_source(path, method, antithetic):
    """The path whose draws ``path`` reads, and their sign: an antithetic pair shares draws,
    the odd one negated (not for the bootstrap, which resamples days)."""
    if antithetic and method != 2:
        return path // 2, np.float32(1.0 - 2.0 * (path % 2))
    return path, np.float32(1.0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _book_value(log_price, returns, drift, sign, exposures, cash):
    """Move each asset's log price by the day's return (signed about its drift) and return the
    book's value at the day's end."""
    value = cash
    for k in range(exposures.shape[0]):
        log_price[k] += (returns[k] - drift[k]) * sign + drift[k]
        value += exposures[k] * math.exp(log_price[k])
    return value


@njit(cache=True, nogil=True, inline="always")
def _path_scratch(n_assets):
    """One path's log prices, its day's returns and its draws (one more than the assets)."""
    return (
        np.zeros(n_assets, np.float32),
        np.empty(n_assets, np.float32),
        np.empty(n_assets + 1, np.float32),
    )


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def path_values(
    method, seed_key, first, n_paths, horizon, drift, chol, dof, history, block, exposures, cash,
    antithetic, values,
):  # fmt: skip
    """``values[i, d]``: the book's value at the end of day ``d`` on path ``first + i``, the
    walk of ``path_stats`` keeping every day's value (the stress report's fan)."""
    n_assets = exposures.shape[0]
    for i in prange(n_paths):
        source, sign = _path_source(first + i, method, antithetic)
        log_price, returns, z = _path_scratch(n_assets)
        for day in range(horizon):
            _daily_returns(
                method, seed_key, source, day, horizon, drift, chol, dof, history, block, z, returns
            )
            values[i, day] = _book_value(log_price, returns, drift, sign, exposures, cash)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def path_stats(
    method,
    seed_key,
    first,
    n_paths,
    horizon,
    drift,
    chol,
    dof,
    history,
    block,
    exposures,
    cash,
    start_value,
    antithetic,
    final_return,
    max_drawdown,
):
    """Final return and maximum drawdown of paths ``first .. first + n_paths - 1``."""
    n_assets = exposures.shape[0]
    for i in prange(n_paths):
        source, sign = _path_source(first + i, method, antithetic)
        log_price, returns, z = _path_scratch(n_assets)
        peak, worst, value = start_value, 0.0, start_value
        for day in range(horizon):
            _daily_returns(
                method, seed_key, source, day, horizon, drift, chol, dof, history, block, z, returns
            )
            value = _book_value(log_price, returns, drift, sign, exposures, cash)
            peak = max(peak, value)
            worst = min(worst, value / peak - 1.0)
        final_return[i] = value / start_value - 1.0
        max_drawdown[i] = worst


def seed_key(seed: int, stream: int) -> np.uint64:
    """The key of a run: a hash of its seed and stream (each stream is an independent run)."""
    z = (np.uint64(seed) << np.uint64(32)) | np.uint64(stream)
    return np.uint64(mix(z))
