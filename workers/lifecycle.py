"""Worker start-up and shutdown hooks: the broker's queues declared, the heartbeat that tells
routers and /health we are alive, and each pool process's compute kernels (configured and warmed
up, ``tasks.kernels``)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

from workers.broker import declare_queues
from workers.heartbeats import HeartbeatThread
from workers.queues import pool_of_queues
from workers.redis_client import make_redis
from workers.settings import Settings, get_settings

log = logging.getLogger(__name__)
_heartbeat: HeartbeatThread | None = None


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
