"""Worker start-up and shutdown hooks: the broker's queues declared, the heartbeat that tells
routers and /health we are alive (and still consuming), and each pool process's compute kernels
(configured and warmed up, ``tasks.kernels``; compiled programs dropped after a task once they
hold too many memory maps; the start-up heap frozen, ``workers.heap``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps
from celery.signals import (
    task_postrun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from workers import heap, memory_maps
from workers.broker import declare_queues
from workers.heartbeats import HeartbeatThread
from workers.queues import pool_of_queues
from workers.redis_client import make_redis
from workers.settings import Settings, get_settings

log = logging.getLogger(__name__)
_heartbeat: HeartbeatThread | None = None
_loop_turned_at: float | None = None


def _loop_turned() -> None:
    global _loop_turned_at
    _loop_turned_at = time.time()


class ConsumingTick(bootsteps.StartStopStep):
    """A consumer step that notes, every heartbeat interval, that the consumer's event loop is
    turning. The heartbeat (a thread, alive whatever the loop does) reports when it last did,
    so /health can tell a worker that stopped consuming (a lost broker connection it never got
    back, a stuck loop) from a live one. Registered again each time the consumer restarts."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._entry: Any = None

    def start(self, parent: Any) -> None:
        _loop_turned()
        self._entry = parent.timer.call_repeatedly(get_settings().worker_heartbeat_s, _loop_turned)

    def stop(self, parent: Any) -> None:
        if self._entry is not None:
            self._entry.cancel()
            self._entry = None


def declared_devices(pool: str, settings: Settings) -> list[str]:
    """Devices a worker of ``pool`` owns, without initialising JAX in the main process."""
    return [f"gpu:{settings.gpu_device}"] if pool == "gpu" else ["cpu"]


@worker_init.connect
def declare_broker_queues(sender: Any = None, **_: Any) -> None:
    try:
        declare_queues(sender.app)
    except Exception as exc:  # the consumer connects (and retries) on its own: only log here
        log.warning("could not declare the task queues on the broker: %s", exc)


@worker_ready.connect
def start_heartbeat(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    settings = get_settings()
    queues = sorted(q.name for q in sender.task_consumer.queues)
    pool = pool_of_queues(queues)
    info = {
        "hostname": sender.hostname,
        "pool": pool,
        "queues": queues,
        "devices": declared_devices(pool, settings),
        "concurrency": getattr(sender.pool, "limit", None),
    }
    _heartbeat = HeartbeatThread(
        make_redis(settings),
        info,
        settings.worker_heartbeat_s,
        settings.worker_heartbeat_ttl_s,
        on_error=lambda exc: log.warning("heartbeat failed: %s", exc),
        extra=lambda: {"consuming_at": _loop_turned_at},
    )
    _heartbeat.start()
    log.info("worker %s heart-beating for pool %s on %s", sender.hostname, pool, queues)


@worker_shutdown.connect
def stop_heartbeat(**_: Any) -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat = None


@worker_process_init.connect
def prepare_kernels(**_: Any) -> None:
    from tasks.kernels import prepare

    settings = get_settings()
    prepare(settings, settings.worker_concurrency)


@task_postrun.connect
def freeze_heap_after_first_task(**_: Any) -> None:
    """The first task imports what start-up did not (the warm-up, when it runs, freezes its own
    heap as it ends): freeze once more after it (``workers.heap``)."""
    heap.freeze_once()


@task_postrun.connect
def release_compiled_programs(**_: Any) -> None:
    """Keep the pool process under the kernel's memory-map limit (``workers.memory_maps``)."""
    if memory_maps.release_programs():
        log.info("dropped JAX's compiled programs: over %d memory maps", memory_maps.map_budget())
