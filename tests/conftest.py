"""Compiled kernels of the test run are cached on disk under var/, like a worker's, and shared
with the integration tests' workers (which get the same NUMBA_CACHE_DIR from their settings).
JAX's programs stay in this process's memory: its disk cache is the workers'."""

from __future__ import annotations

import os
from pathlib import Path

CACHE = Path(__file__).resolve().parents[1] / "var" / "test-kernel-cache"
os.environ.setdefault("NUMBA_CACHE_DIR", str(CACHE / "numba"))  # numba reads it at import

from accel import jit  # noqa: E402

jit.configure(CACHE, jax_cache=False)
