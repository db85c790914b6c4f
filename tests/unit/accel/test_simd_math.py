"""The vectorisable float32 log, sincos and exp: accuracy against numpy in float64, and the
same bits whether LLVM ran them as vectors (a loop over an array) or one value at a time."""

from __future__ import annotations

import platform
import re

import numpy as np
import pytest
from numba import njit

from accel.simd_math import exp32, log32, sincos_turn

RNG = np.random.default_rng(5)
UNIFORMS = ((np.arange(0, 1 << 24, 97) + 0.5) / (1 << 24)).astype(np.float32)


def _array_loop(fn):
    """A compiled loop applying the scalar ``fn`` to every element (the form LLVM vectorises)."""

    @njit(cache=False)
    def loop(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = fn(x[i])
        return out

    return loop


_log_loop, _exp_loop = _array_loop(log32), _array_loop(exp32)


@njit(cache=False)
def _sincos_loop(x):
    sin, cos = np.empty_like(x), np.empty_like(x)
    for i in range(x.size):
        sin[i], cos[i] = sincos_turn(x[i])
    return sin, cos


@njit(cache=False)
def _log_one(x):
    return log32(x)


@njit(cache=False)
def _exp_one(x):
    return exp32(x)


@njit(cache=False)
def _sincos_one(x):
    return sincos_turn(x)


def test_log_is_within_two_float32_ulps_over_the_box_muller_range_and_beyond():
    x = np.concatenate([UNIFORMS, RNG.uniform(1, 1e6, 10_000).astype(np.float32)])
    exact = np.log(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(_log_loop(x) - exact) / np.maximum(ulp, 2.0**-24)) < 2.0
    assert _log_loop(np.float32([1.0]))[0] == 0.0


def test_sincos_of_a_turn_is_within_1e7_and_lands_in_the_right_quadrant():
    sin, cos = _sincos_loop(UNIFORMS)
    angle = 2 * np.pi * UNIFORMS.astype(np.float64)
    assert np.max(np.abs(sin - np.sin(angle))) < 1e-6
    assert np.max(np.abs(cos - np.cos(angle))) < 1e-6
    assert np.allclose(sin.astype(np.float64) ** 2 + cos.astype(np.float64) ** 2, 1.0, atol=1e-6)


def test_exp_is_within_1e7_relative_and_clamps_instead_of_overflowing():
    x = np.concatenate([RNG.normal(0, 0.3, 50_000), np.linspace(-86, 86, 10_001)]).astype(
        np.float32
    )
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(_exp_loop(x) - exact) / exact) < 2e-7
    ends = _exp_loop(np.float32([-200.0, 200.0]))
    assert np.all(np.isfinite(ends)) and ends[0] > 0
    assert ends[1] == pytest.approx(np.exp(87.0), rel=1e-6)


@pytest.mark.parametrize(
    ("loop", "one", "inputs"),
    [
        (_log_loop, _log_one, UNIFORMS[:4099]),
        (_exp_loop, _exp_one, RNG.normal(0, 2, 4099).astype(np.float32)),
        (_sincos_loop, _sincos_one, UNIFORMS[:4099]),
    ],
)
def test_a_vectorised_loop_gives_the_bits_of_one_value_at_a_time(loop, one, inputs):
    vectorised = np.asarray(loop(inputs)).reshape(-1, inputs.size)
    single = np.array([one(v) for v in inputs], dtype=np.float32).reshape(inputs.size, -1).T
    np.testing.assert_array_equal(vectorised, single)
    if platform.machine() in ("x86_64", "AMD64"):  # the loop did run as vectors
        assert re.search(r"\bv?mulps\s+%[xyz]mm", next(iter(loop.inspect_asm().values())))
