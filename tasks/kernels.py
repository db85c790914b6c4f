"""A worker process's compute kernels: configured from the settings, warmed up in the background.

Called once per pool process (``workers.lifecycle``). The warm-up runs in a thread because
Celery waits only a few seconds for a pool process to report that it started; a task that
arrives meanwhile waits on numba's compile lock instead of compiling twice.
"""

from __future__ import annotations

import logging
import threading

from workers import heap
from workers.settings import Settings

log = logging.getLogger(__name__)


def configure(settings: Settings, processes: int) -> None:
    """Point the kernels at the settings' caches, threads and CPU backend."""
    from accel import jit

    jit.configure(
        settings.kernel_cache,
        threads=settings.kernel_threads_for(processes),
        cpu_backend=settings.cpu_backend,
        jax_cache_dir=settings.jax_cache_dir,
        jax_cache=settings.jax_cache,
    )


def prepare(settings: Settings, processes: int) -> threading.Thread | None:
    """``configure`` the kernels, load the installed strategy packages and start the warm-up
    (unless the settings turn it off)."""
    from engine.strategies.registry import packages

    configure(settings, processes)
    packages()
    if not settings.kernel_warmup:
        return None
    thread = threading.Thread(target=_warm_up, name="kernel-warmup", daemon=True)
    thread.start()
    return thread


def _warm_up() -> None:
    """Compile (or load) the common kernels, then freeze the heap they leave (``workers.heap``)."""
    from accel.device import simulation_backend

    if simulation_backend() == "numba":
        try:
            from engine.warmup import warm_up

            spent = warm_up()
            log.info("kernels ready in %.1f s", sum(spent.values()))
        except Exception as exc:  # a job compiles what it needs anyway
            log.warning("kernel warm-up failed: %s", exc)
    heap.freeze()
