"""Job events for subscribers: one JSON envelope, on pub/sub and (lifecycle) a Redis Stream.

Envelope: ``{"id", "type", "version", "job_id", "kind", "ts", "data"}``; ``id`` is unique per
event (a ULID) and is what consumers deduplicate on. Every event goes to the job's pub/sub
channel ``nautilus:jobs:<job_id>`` (fire and forget). Start, completion, failure and
cancellation (the durable stages) also go to the stream ``nautilus:events`` (trimmed with
``MAXLEN ~``), so a peer that was offline can replay them. Durable events are recorded in the
database outbox with the state change they report and relayed from there (``workers/relay.py``),
at least once: the same event may reach the stream twice, with the same ``id``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from ulid import ULID

from workers.kinds import DURABLE_STAGES, JobKind
from workers.timestamps import now_iso

VERSION = 1
STREAM = "nautilus:events"
CHANNEL_PREFIX = "nautilus:jobs:"


def channel(job_id: str) -> str:
    return CHANNEL_PREFIX + job_id


def envelope(type_: str, job_id: str, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(ULID()),
        "type": type_,
        "version": VERSION,
        "job_id": job_id,
        "kind": kind,
        "ts": now_iso(),
        "data": data,
    }


class EventPublisher:
    """Shapes envelopes and sends them: every one to pub/sub, durable ones also to the stream."""

    def __init__(self, client: redis.Redis, stream_maxlen: int) -> None:
        self._redis = client
        self._maxlen = stream_maxlen

    @staticmethod
    def build(kind: JobKind, stage: str, job_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The envelope telling that ``job_id`` reached ``stage``, in its kind's event type."""
        type_, payload = kind.event(stage, data)
        return envelope(type_, job_id, kind.name, payload)

    def publish(
        self, kind: JobKind, stage: str, job_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Build and send one event now: progress (the durable stages go through the outbox,
        ``workers/relay.py``, in production code)."""
        event = self.build(kind, stage, job_id, data)
        self.send([event], durable=stage in DURABLE_STAGES)
        return event

    def send(self, events: Sequence[Mapping[str, Any]], durable: bool) -> None:
        """Send built events in one round trip (``durable``: to the stream as well); raises a
        Redis error if they may not all have gone."""
        pipe = self._redis.pipeline(transaction=False)
        for event in events:
            body = json.dumps(event, separators=(",", ":"))
            pipe.publish(channel(event["job_id"]), body)
            if durable:
                fields = {"id": event["id"], "type": event["type"], "job_id": event["job_id"]}
                pipe.xadd(STREAM, fields | {"event": body}, maxlen=self._maxlen, approximate=True)
        pipe.execute()


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
