"""Compiled CPU kernels: where numba caches them, how many threads they use, generated modules.

Workers call ``configure`` once at process start with values from their settings; nothing here
reads the environment (``configure`` writes BLAS's thread count into it). Generated kernel
sources (``accel.lanes_codegen``) are written under the cache directory and imported from
there, so numba's ``cache=True`` keeps their machine code across processes; without a cache
directory they are compiled in memory each process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CPU_BACKENDS = ("numba", "jax")


@dataclass
class _Config:
    cache_dir: Path | None = None
    threads: int = 0  # 0: every core numba sees
    cpu_backend: str = "numba"


_config = _Config()


def configure(
    cache_dir: Path | str | None = None,
    threads: int = 0,
    cpu_backend: str = "numba",
    jax_cache_dir: Path | str | None = None,
    jax_cache: bool = True,
) -> None:
    """Set where generated kernels and their machine code are cached (``cache_dir``; JAX's
    programs under ``jax_cache_dir``, default ``cache_dir/jax``), the threads one kernel call
    may use and which backend simulates on a CPU. (numba caches the fixed kernels of
    ``accel.lanes`` beside their source, or under ``NUMBA_CACHE_DIR``, which the service sets
    for its workers.)

    ``jax_cache=False`` keeps JAX's programs in memory only (``NAUTILUS_JAX_CACHE=0``; the
    test process does, so that it never writes the workers' cache).

    ``threads=1`` is for pools of several worker processes: each process runs its kernels on
    one core, so N processes use N cores. Call before the first kernel runs.

    BLAS runs single-threaded from here on: the kernels own the cores, and OpenBLAS's worker
    threads spin-wait after every call, taking a core from the kernel that follows (the GOOG
    sweep on 2 cores took 154 ms with them, 107-114 ms without; ``bench/sweep.py``).
    """
    import jax

    _single_threaded_blas()

    if cpu_backend not in CPU_BACKENDS:
        raise ValueError(f"cpu_backend must be one of {CPU_BACKENDS}, got {cpu_backend!r}")
    _config.cache_dir = Path(cache_dir) if cache_dir else None
    _config.threads = int(threads)
    _config.cpu_backend = cpu_backend
    if _config.cache_dir is not None:
        _config.cache_dir.mkdir(parents=True, exist_ok=True)
    jax_dir = jax_cache_dir or (_config.cache_dir / "jax" if _config.cache_dir else None)
    if jax_cache and jax_dir is not None:
        jax.config.update("jax_compilation_cache_dir", str(jax_dir))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)


def _single_threaded_blas() -> None:
    """One BLAS thread in the libraries loaded now (threadpoolctl) and in those loaded later
    (scipy's own OpenBLAS reads its environment when it loads)."""
    import threadpoolctl

    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    threadpoolctl.threadpool_limits(1, user_api="blas")


def cpu_backend() -> str:
    """``numba`` (the fused per-lane loop) or ``jax`` (the array path) for CPU simulations."""
    return _config.cpu_backend


def threads() -> int:
    """Threads a kernel call uses now (``configure``'d, at most what numba has)."""
    import numba

    # numba.config sets its NUMBA_* names at import time, out of mypy's sight
    available = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    return min(_config.threads, available) if _config.threads > 0 else available


def use_threads() -> None:
    """Apply the configured thread count to the calling thread's next parallel kernel."""
    import numba

    numba.set_num_threads(threads())


def caching() -> bool:
    return _config.cache_dir is not None


_modules: dict[str, types.ModuleType] = {}


def generated_module(
    name: str, source: str, depends: Sequence[types.ModuleType] = ()
) -> types.ModuleType:
    """Import generated ``source`` as a module (once per process and source text).

    With a cache directory the file lands there under a name carrying the source's hash, so
    a changed generator never reuses stale machine code. ``depends``: the modules whose
    compiled functions the source calls. numba checks a cached function against its own
    file only and keeps the callees it compiled in, so their text is stamped into the source
    (and so into its hash): an upgraded building block never runs as its old self.
    """
    if depends:
        stamp = hashlib.sha256("".join(inspect.getsource(m) for m in depends).encode())
        names = ", ".join(m.__name__ for m in depends)
        source = f"{source}\n# compiled with {names}: {stamp.hexdigest()[:16]}\n"
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    key = f"nautilus_gen_{name}_{digest}"
    if key in _modules:
        return _modules[key]
    if _config.cache_dir is None:
        module = types.ModuleType(key)
        exec(compile(source, f"<{key}>", "exec"), module.__dict__)  # our generator's text only
    else:
        module = _import_file(_config.cache_dir / "numba" / "generated", key, source)
    _modules[key] = module
    return module


def _import_file(folder: Path, key: str, source: str) -> types.ModuleType:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.py"
    if not path.exists() or path.read_text() != source:
        tmp = path.with_suffix(f".{id(source)}.tmp")
        tmp.write_text(source)
        tmp.replace(path)  # atomic: concurrent workers never import half a file
    spec = importlib.util.spec_from_file_location(key, path)
    assert spec is not None and spec.loader is not None  # a .py path always gets a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module
