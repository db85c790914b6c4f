"""Compiled kernels of the test run are cached on disk under var/, like a worker's, and shared
with the integration tests' workers (which get the same NUMBA_CACHE_DIR from their settings).
JAX's programs stay in this process's memory, also when a test runs a CLI command in it
(``NAUTILUS_JAX_CACHE=0``, which the integration tests' workers do not inherit): its disk
cache is the workers'.

The run compiles thousands of programs in one process; after each test JAX's are dropped once
the process holds half the kernel's memory-map limit (``workers.memory_maps``): past the
limit XLA segfaulted mid-compile, late in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE = Path(__file__).resolve().parents[1] / "var" / "test-kernel-cache"
os.environ.setdefault("NUMBA_CACHE_DIR", str(CACHE / "numba"))  # numba reads it at import
os.environ["NAUTILUS_JAX_CACHE"] = "0"
os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)  # JAX reads it at import

import pytest  # noqa: E402

from accel import jit  # noqa: E402
from workers import memory_maps  # noqa: E402

jit.configure(CACHE, jax_cache=False)


@pytest.fixture(autouse=True)
def _bounded_memory_maps():
    yield
    memory_maps.release_programs()
