"""Branch-free float32 ``log``, ``sincos`` and ``exp`` that LLVM can vectorise.

numba compiles ``math.log``/``math.exp`` to calls into the C library, and without Intel's SVML
(the PyPI llvmlite is not built with it) a loop that calls them runs one value at a time. These
are Cephes' single-precision polynomials (about 1 ulp on their reduced ranges) with the range
reduction written as bit operations and comparisons, so a loop over a block of
Monte Carlo paths inlines them and runs 8 paths per instruction (LLVM keeps to 256-bit
vectors on x86, AVX-512 machines included).

Each function is plain float32 arithmetic: the same input gives the same output whether the
loop around it was vectorised or not.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

F32 = np.float32
ONE, HALF = F32(1.0), F32(0.5)
SQRT_HALF = F32(math.sqrt(0.5))
LN2_HI, LN2_LO = F32(0.693359375), F32(-2.12194440e-4)  # ln 2 split so that e * LN2_HI is exact
LOG2_E = F32(1.0 / math.log(2.0))
HALF_PI = F32(math.pi / 2.0)
EXP_LIMIT = F32(87.0)  # |x| beyond which float32 exp over- or underflows

LOG_P = tuple(
    F32(c)
    for c in (
        7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
        -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
    )
)  # fmt: skip
SIN_P = (F32(-1.9515295891e-4), F32(8.3321608736e-3), F32(-1.6666654611e-1))
COS_P = (F32(2.443315711809948e-5), F32(-1.388731625493765e-3), F32(4.166664568298827e-2))
EXP_P = (
    F32(1.9875691500e-4), F32(1.3981999507e-3), F32(8.3334519073e-3), F32(4.1665795894e-2),
    F32(1.6666665459e-1), F32(5.0000001201e-1),
)  # fmt: skip


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _horner6(x, c):
    return ((((c[0] * x + c[1]) * x + c[2]) * x + c[3]) * x + c[4]) * x + c[5]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _horner9(x, c):
    return ((_horner6(x, c) * x + c[6]) * x + c[7]) * x + c[8]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def log32(x):
    """ln(x) for a positive, normal float32 ``x``: x = m 2**e read off its bits, m moved into
    [sqrt(1/2), sqrt(2)), then Cephes' logf polynomial in m - 1."""
    bits = np.float32(x).view(np.int32)
    e = F32((bits >> np.int32(23)) - np.int32(126))  # x = m * 2**e with m in [1/2, 1)
    m = np.int32((bits & np.int32(0x7FFFFF)) | np.int32(0x3F000000)).view(np.float32)
    if m < SQRT_HALF:
        m = m + m
        e = e - ONE
    f = m - ONE
    z = f * f
    return f + (f * z * _horner9(f, LOG_P) + e * LN2_LO - HALF * z) + e * LN2_HI


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def sincos_turn(u):
    """(sin, cos) of the angle ``2 pi u`` for float32 ``u`` in [0, 1]: the nearest quarter
    turn picks the quadrant, Cephes' sinf/cosf polynomials the rest (|x| <= pi / 4)."""
    t = u * F32(4.0)  # quarter turns, exact
    quadrant = np.int32(t + HALF)
    x = (t - F32(quadrant)) * HALF_PI
    x2 = x * x
    s = ((SIN_P[0] * x2 + SIN_P[1]) * x2 + SIN_P[2]) * x2 * x + x
    c = ((COS_P[0] * x2 + COS_P[1]) * x2 + COS_P[2]) * x2 * x2 - HALF * x2 + ONE
    odd = (quadrant & 1) == 1  # a quarter turn swaps sine and cosine
    a = c if odd else s
    b = s if odd else c
    sin = -a if (quadrant & 2) == 2 else a
    cos = -b if ((quadrant + 1) & 2) == 2 else b
    return sin, cos


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def exp32(x):
    """exp(x) of a float32 ``x`` clamped to +-87: Cephes' expf polynomial on x - n ln 2, times
    2**n built from its bits (exact)."""
    x = min(max(x, -EXP_LIMIT), EXP_LIMIT)
    n = np.int32(x * LOG2_E + F32(128.5)) - np.int32(128)  # round to nearest, x * log2(e) > -128
    r = x - F32(n) * LN2_HI - F32(n) * LN2_LO
    scale = np.int32((n + np.int32(127)) << np.int32(23)).view(np.float32)  # 2**n
    return (_horner6(r, EXP_P) * r * r + r + ONE) * scale
