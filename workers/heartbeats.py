"""Worker heartbeats in Redis: which pools have live workers, and on which devices.

Each worker main process refreshes ``nautilus:worker:<hostname>`` (JSON, with a TTL) and its
expiry score in the sorted set ``nautilus:workers``; a worker that stops heart-beating drops out
when its TTL passes. The router and ``/health`` read them. A heartbeat also says when the
worker's consumer loop last turned (``consuming_at``): a worker alive but no longer consuming
is reported stalled by ``/health``, not alive.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

INDEX = "nautilus:workers"
KEY_PREFIX = "nautilus:worker:"
DEVICES_PREFIX = "nautilus:worker-devices:"


def beat(client: redis.Redis, info: dict[str, Any], ttl: float) -> None:
    """Record one heartbeat of the worker described by ``info`` (needs ``hostname``)."""
    now = time.time()
    payload = json.dumps({**info, "ts": now})
    pipe = client.pipeline(transaction=False)
    pipe.set(KEY_PREFIX + info["hostname"], payload, px=int(ttl * 1000))
    pipe.zadd(INDEX, {info["hostname"]: now + ttl})
    pipe.zremrangebyscore(INDEX, "-inf", now)
    pipe.execute()


def forget(client: redis.Redis, hostname: str) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.delete(KEY_PREFIX + hostname, DEVICES_PREFIX + hostname)
    pipe.zrem(INDEX, hostname)
    pipe.execute()


def record_devices(client: redis.Redis, hostname: str, devices: dict[str, Any], ttl: float) -> None:
    """What a pool child found when it initialised its accelerator (JAX) on its first task."""
    client.set(DEVICES_PREFIX + hostname, json.dumps(devices), px=int(ttl * 1000))


def live_workers(client: redis.Redis) -> list[dict[str, Any]]:
    """Every worker whose heartbeat has not expired, with the devices its children found."""
    names = client.zrangebyscore(INDEX, time.time(), "+inf")
    if not names:
        return []
    keys = [KEY_PREFIX + n for n in names] + [DEVICES_PREFIX + n for n in names]
    values = client.mget(keys)
    workers = []
    infos, devices_found = values[: len(names)], values[len(names) :]
    for info, devices in zip(infos, devices_found, strict=True):
        if info is None:
            continue
        worker = json.loads(info)
        worker["detected"] = json.loads(devices) if devices else None
        workers.append(worker)
    return workers


def consuming(worker: dict[str, Any], stalled_after: float, now: float | None = None) -> bool:
    """Whether a live worker's consumer loop turned within ``stalled_after`` seconds (a worker
    that does not report it, an older one, counts as consuming)."""
    turned = worker.get("consuming_at")
    return turned is None or (now or time.time()) - float(turned) <= stalled_after


def live_pools(client: redis.Redis) -> set[str]:
    return {w["pool"] for w in live_workers(client)}


class HeartbeatThread(threading.Thread):
    """Beats every ``interval`` seconds until stopped; Redis hiccups are logged, not fatal."""

    def __init__(
        self,
        client: redis.Redis,
        info: dict[str, Any],
        interval: float,
        ttl: float,
        on_error: Callable[[Exception], None] = lambda exc: None,
        extra: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        super().__init__(name="nautilus-heartbeat", daemon=True)
        self._client, self._info = client, {**info, "pid": os.getpid()}
        self._interval, self._ttl = interval, ttl
        self._on_error, self._extra = on_error, extra
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                beat(self._client, self._info | self._extra(), self._ttl)
            except redis.RedisError as exc:
                self._on_error(exc)
            self._stopped.wait(self._interval)

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=self._interval + 1)
        try:
            forget(self._client, self._info["hostname"])
        except redis.RedisError as exc:
            self._on_error(exc)
