"""Monte Carlo of a held book on the CPU: counter-based draws fused with the path accumulation.

Every random number is a pure function of ``(seed, stream, path, day, slot)`` (a SplitMix64
hash of a counter), so a path's numbers never depend on how the paths are split into calls or
threads, and no ``paths x days x assets`` array exists: paths walk their days in blocks of
``LANES``, a block's state in small arrays indexed by lane, and keep only their final return
and maximum drawdown. Every lane of a block does the same branch-free float32 arithmetic
(``accel.simd_math`` for log, sincos and exp), so LLVM runs a block's lanes as one vector and a
path's numbers do not depend on the lane it lands in. Draws, daily log
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

from accel.simd_math import exp32, log32, sincos_turn

GOLDEN = uint64(0x9E3779B97F4A7C15)
MIX1 = uint64(0xBF58476D1CE4E5B9)
MIX2 = uint64(0x94D049BB133111EB)
U24 = np.float32(1.0 / (1 << 24))
LANES = 64  # paths walked together; LLVM runs 8 of them per (256-bit) instruction on x86
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
def integer_pair(z):
    """The top and bottom 24 bits of a 64-bit hash, as float32 (exact)."""
    return np.float32(np.int32(z >> uint64(40))), np.float32(np.int32(z & uint64(0xFFFFFF)))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def box_muller(k1, k2):
    """Two independent standard normals (float32) from two 24-bit integers (as float32)."""
    radius = math.sqrt(np.float32(-2.0) * log32((k1 + np.float32(0.5)) * U24))
    sin, cos = sincos_turn((k2 + np.float32(0.5)) * U24)
    return radius * cos, radius * sin


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def normal_pair(key, counter):
    """Two independent standard normals (float32) from one counter: the 64 hashed bits' top
    and bottom 24 through Box-Muller."""
    k1, k2 = integer_pair(bits(key, counter))
    return box_muller(k1, k2)


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
def _block_scratch(n_assets, first_path, method, antithetic):
    """The scratch of the block of paths ``first_path .. first_path + LANES - 1``, lane ``l``
    being path ``first_path + l``: whose draws each lane reads and their sign, its bootstrap
    history row, a pair of hashed 24-bit integers, the day's normals ``z[j, l]``, one asset's
    correlated shock, the log prices and prices ``[k, l]``, each lane's shock scale and book
    value."""
    source = np.empty(LANES, np.uint64)
    sign = np.empty(LANES, np.float32)
    for lane in range(LANES):
        source[lane], sign[lane] = _path_source(first_path + lane, method, antithetic)
    row = np.empty(LANES, np.int64)
    uniforms = np.empty((2, LANES), np.float32)
    z = np.empty((n_assets + 1, LANES), np.float32)
    shock = np.empty(LANES, np.float32)
    log_price = np.zeros((n_assets, LANES), np.float32)
    price = np.empty((n_assets, LANES), np.float32)
    scale, value = np.empty(LANES, np.float32), np.empty(LANES)
    return source, sign, row, uniforms, z, shock, log_price, price, scale, value


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _draw_normals(key, source, day, horizon, pairs, uniforms, z):
    """``z[:, l]``: the day's independent normals of lane ``l``'s source path. The hashes and
    the Box-Muller transform are separate loops: LLVM vectorises each, not the two fused."""
    for j in range(pairs):
        for lane in range(LANES):
            counter = (source[lane] * uint64(horizon) + uint64(day)) * uint64(pairs) + uint64(j)
            uniforms[0, lane], uniforms[1, lane] = integer_pair(bits(key, counter))
        for lane in range(LANES):
            z[2 * j, lane], z[2 * j + 1, lane] = box_muller(uniforms[0, lane], uniforms[1, lane])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _advance_day(
    method, key, day, horizon, drift, chol, dof, history, block, exposures, cash,
    source, sign, row, uniforms, z, shock, log_price, price, scale, value,
):  # fmt: skip
    """Move every lane's log prices by day ``day``'s returns and value the book into
    ``value``. A parametric return is the drift plus the correlated shock (signed for an
    antithetic lane, scaled by the day's chi-square for Student-t); the bootstrap adds the
    historical row of the lane's circular block."""
    n_assets = exposures.shape[0]
    if method == 2:
        n_days = history.shape[0]
        offset = (day % block) % n_days
        for lane in range(LANES):
            row[lane] = _block_row(key, source[lane] * uint64(horizon) + uint64(day // block),
                                   n_days, offset)  # fmt: skip
        for k in range(n_assets):
            for lane in range(LANES):
                log_price[k, lane] += history[row[lane], k]
    else:
        _draw_normals(key, source, day, horizon, (n_assets + 1) // 2, uniforms, z)
        for lane in range(LANES):
            scale[lane] = sign[lane]
        if method == 1:
            for lane in range(LANES):
                counter = source[lane] * uint64(horizon) + uint64(day)
                chi2 = chi_square(key ^ MIX1, counter, dof)
                scale[lane] *= np.float32(math.sqrt((dof - 2.0) / chi2))
        for k in range(n_assets):  # lanes innermost: the loops LLVM vectorises
            for lane in range(LANES):
                shock[lane] = np.float32(0.0)
            for j in range(k + 1):
                for lane in range(LANES):
                    shock[lane] += chol[k, j] * z[j, lane]
            for lane in range(LANES):
                log_price[k, lane] += drift[k] + shock[lane] * scale[lane]
    _value_book(exposures, cash, log_price, price, value)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _value_book(exposures, cash, log_price, price, value):
    """``value[l]``: cash plus each exposure times its price, exp of the log price (the prices
    first, in their own loop, which LLVM vectorises; the float64 sum after)."""
    for k in range(exposures.shape[0]):
        for lane in range(LANES):
            price[k, lane] = exp32(log_price[k, lane])
    for lane in range(LANES):
        value[lane] = cash
    for k in range(exposures.shape[0]):
        for lane in range(LANES):
            value[lane] += exposures[k] * np.float64(price[k, lane])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _block_row(key, counter, n_days, offset):
    """The history row ``offset`` days into a bootstrap block that starts on a uniform random
    day (the top 32 hashed bits times ``n_days``, shifted down: no division), wrapping."""
    start = np.int64(((bits(key, counter) >> uint64(32)) * uint64(n_days)) >> uint64(32))
    day = start + offset
    return day - n_days if day >= n_days else day


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _path_source(path, method, antithetic):
    """The path whose draws ``path`` reads, and their sign: an antithetic pair shares draws,
    the odd one negated (not for the bootstrap, which resamples days)."""
    if antithetic and method != 2:
        return uint64(path // 2), np.float32(1.0 - 2.0 * (path % 2))
    return uint64(path), np.float32(1.0)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def path_values(
    method, seed_key, first, n_paths, horizon, drift, chol, dof, history, block, exposures, cash,
    antithetic, values,
):  # fmt: skip
    """``values[i, d]``: the book's value at the end of day ``d`` on path ``first + i``, the
    walk of ``path_stats`` keeping every day's value (the stress report's fan)."""
    n_assets = exposures.shape[0]
    for b in prange((n_paths + LANES - 1) // LANES):
        source, sign, row, uniforms, z, shock, log_price, price, scale, value = _block_scratch(
            n_assets, first + b * LANES, method, antithetic
        )
        lanes = min(LANES, n_paths - b * LANES)
        for day in range(horizon):
            _advance_day(
                method, seed_key, day, horizon, drift, chol, dof, history, block, exposures,
                cash, source, sign, row, uniforms, z, shock, log_price, price, scale, value,
            )  # fmt: skip
            for lane in range(lanes):
                values[b * LANES + lane, day] = value[lane]


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
    for b in prange((n_paths + LANES - 1) // LANES):
        source, sign, row, uniforms, z, shock, log_price, price, scale, value = _block_scratch(
            n_assets, first + b * LANES, method, antithetic
        )
        peak = np.full(LANES, start_value)
        worst = np.zeros(LANES)
        for day in range(horizon):
            _advance_day(
                method, seed_key, day, horizon, drift, chol, dof, history, block, exposures,
                cash, source, sign, row, uniforms, z, shock, log_price, price, scale, value,
            )  # fmt: skip
            for lane in range(LANES):
                high = value[lane] if value[lane] > peak[lane] else peak[lane]
                drawdown = value[lane] / high - 1.0
                peak[lane] = high
                worst[lane] = drawdown if drawdown < worst[lane] else worst[lane]
        for lane in range(min(LANES, n_paths - b * LANES)):
            final_return[b * LANES + lane] = value[lane] / start_value - 1.0
            max_drawdown[b * LANES + lane] = worst[lane]


def seed_key(seed: int, stream: int) -> np.uint64:
    """The key of a run: a hash of its seed and stream (each stream is an independent run)."""
    z = (np.uint64(seed) << np.uint64(32)) | np.uint64(stream)
    return np.uint64(mix(z))
