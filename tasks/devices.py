"""Tell /health which devices this worker's pool child actually computes on (once per process)."""

from __future__ import annotations

import logging

from tasks.context import TaskContext
from workers.heartbeats import record_devices

log = logging.getLogger(__name__)
_noted = False


def note_devices(ctx: TaskContext, worker: str) -> None:
    """Record ``accel.device.device_info()`` for ``worker``; JAX is already up after a run."""
    global _noted
    if _noted:
        return
    try:
        from accel.device import device_info

        info = device_info()
        ttl = max(3600.0, ctx.settings.worker_heartbeat_ttl_s)
        record_devices(ctx.redis, worker, info, ttl)
        _noted = True
    except Exception as exc:  # informational only; never fail a finished job over it
        log.warning("could not record devices of %s: %s", worker, exc)
