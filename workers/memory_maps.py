"""A worker process under the kernel's memory-map limit: compiled programs dropped in time.

Each XLA CPU program keeps about 180 memory maps for its code until it is dropped (a GOOG
backtest's, measured with ``/proc/self/maps``), and Linux refuses ``mmap`` past
``vm.max_map_count``: XLA then segfaults mid-compile. numba's kernels stay (about 10 maps per
rules document). ``workers.lifecycle`` calls ``release_programs`` after each task, the test
run after each test (it held 55,000 maps by its 500th test and crashed late in CI).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from workers import heap


def map_count() -> int:
    """Memory maps this process holds (0 where ``/proc`` is not there)."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            return sum(1 for _ in maps)
    except OSError:
        return 0


@functools.cache
def map_budget() -> int:
    """Half the kernel's per-process limit (``vm.max_map_count``, 65,530 by default)."""
    try:
        return int(Path("/proc/sys/vm/max_map_count").read_text()) // 2
    except (OSError, ValueError):
        return 32_765


def release_programs(budget: int | None = None) -> bool:
    """Drop JAX's compiled programs once this process holds more than ``budget`` memory maps
    (default ``map_budget()``); True if it did. A later call recompiles what it needs, or reads
    it from the disk cache."""
    jax = sys.modules.get("jax")
    if jax is None or map_count() <= (map_budget() if budget is None else budget):
        return False
    jax.clear_caches()
    heap.collect_all()  # the executables go with their last Python reference
    return True
