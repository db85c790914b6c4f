"""Job events for subscribers: one JSON envelope, on pub/sub and (lifecycle) a Redis Stream.

Envelope: ``{"type", "version", "job_id", "kind", "ts", "data"}``. Every event goes to the
job's pub/sub channel ``nautilus:jobs:<job_id>`` (fire and forget). Start, completion, failure
and cancellation also go to the stream ``nautilus:events`` (trimmed with ``MAXLEN ~``), so a peer
that was offline can replay them; the stream entry id is the event id to dedupe on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import redis

from workers.kinds import DURABLE_STAGES, JobKind
from workers.timestamps import now_iso

VERSION = 1
STREAM = "nautilus:events"
CHANNEL_PREFIX = "nautilus:jobs:"


def channel(job_id: str) -> str:
    return CHANNEL_PREFIX + job_id


def envelope(type_: str, job_id: str, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": type_,
        "version": VERSION,
        "job_id": job_id,
        "kind": kind,
        "ts": now_iso(),
        "data": data,
    }


class EventPublisher:
    """Publishes envelopes; lifecycle events are also appended to the durable stream."""

    def __init__(self, client: redis.Redis, stream_maxlen: int) -> None:
        self._redis = client
        self._maxlen = stream_maxlen

    def publish(
        self, kind: JobKind, stage: str, job_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Tell subscribers that ``job_id`` reached ``stage``, in its kind's event type."""
        type_, payload = kind.event(stage, data)
        event = envelope(type_, job_id, kind.name, payload)
        body = json.dumps(event, separators=(",", ":"))
        pipe = self._redis.pipeline(transaction=False)
        pipe.publish(channel(job_id), body)
        if stage in DURABLE_STAGES:
            fields = {"type": type_, "job_id": job_id, "event": body}
            pipe.xadd(STREAM, fields, maxlen=self._maxlen, approximate=True)
        pipe.execute()
        return event


class ProgressThrottle:
    """Lets a progress report through at most every ``interval`` seconds (first and last always)."""

    def __init__(self, interval: float, clock: Any = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: float | None = None

    def allow(self, fraction: float) -> bool:
        now = self._clock()
        if self._last is None or fraction >= 1.0 or now - self._last >= self._interval:
            self._last = now
            return True
        return False
