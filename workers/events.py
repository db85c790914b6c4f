"""Job events for subscribers: one JSON envelope, on pub/sub and (lifecycle) a Redis Stream.

Envelope: ``{"type", "version", "job_id", "kind", "ts", "data"}``. Every event goes to the
job's pub/sub channel ``nautilus:jobs:<job_id>`` (fire and forget). Start, completion, failure
and cancellation also go to the stream ``nautilus:events`` (trimmed with ``MAXLEN ~``), so a peer
that was offline can replay them; the stream entry id is the event id to dedupe on.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import redis

VERSION = 1
STREAM = "nautilus:events"
CHANNEL_PREFIX = "nautilus:jobs:"

BACKTEST_START = "backtest_start"
BACKTEST_PROGRESS = "backtest_progress"
BACKTEST_COMPLETE = "backtest_complete"
BACKTEST_FAILED = "backtest_failed"
BACKTEST_CANCELLED = "backtest_cancelled"
PARAMETER_OPTIMIZATION = "parameter_optimization"
STRESS_TEST_RESULT = "stress_test_result"
LIFECYCLE = frozenset({BACKTEST_START, BACKTEST_COMPLETE, BACKTEST_FAILED, BACKTEST_CANCELLED})
LIFECYCLE_STAGES = frozenset({"started", "completed", "failed", "cancelled"})
"""``data.stage`` values that make a PARAMETER_OPTIMIZATION event durable (stream too)."""
STAGED = frozenset({PARAMETER_OPTIMIZATION, STRESS_TEST_RESULT})
"""Event types whose ``data.stage`` says where the job is (the same stages for both)."""


STAGED_BY_KIND = {"optimization": PARAMETER_OPTIMIZATION, "stress_test": STRESS_TEST_RESULT}
"""Job kinds whose lifecycle is told by one staged event type rather than the backtest types."""


def ending(kind: str, status: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The event type and data that tell subscribers a job of ``kind`` ended ``status``
    (failed or cancelled), wherever that is decided (its task, or the reconciler)."""
    staged = STAGED_BY_KIND.get(kind)
    if staged is not None:
        return staged, {"stage": status, **data}
    return (BACKTEST_FAILED if status == "failed" else BACKTEST_CANCELLED), data


def channel(job_id: str) -> str:
    return CHANNEL_PREFIX + job_id


def envelope(type_: str, job_id: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "type": type_,
        "version": VERSION,
        "job_id": job_id,
        "kind": kind,
        "ts": ts,
        "data": data,
    }


class EventPublisher:
    """Publishes envelopes; lifecycle events are also appended to the durable stream."""

    def __init__(self, client: redis.Redis, stream_maxlen: int) -> None:
        self._redis = client
        self._maxlen = stream_maxlen

    def publish(self, type_: str, job_id: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        event = envelope(type_, job_id, kind, data)
        body = json.dumps(event, separators=(",", ":"))
        pipe = self._redis.pipeline(transaction=False)
        pipe.publish(channel(job_id), body)
        if type_ in LIFECYCLE or (type_ in STAGED and data.get("stage") in LIFECYCLE_STAGES):
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
