"""Reading job events: one job's progress and outcome, or the durable lifecycle stream.

A peer that follows one job subscribes to its channel first and then replays the job's
lifecycle entries already in the stream, so an outcome published before it subscribed is not
missed. A peer that follows everything reads the stream, optionally in a consumer group.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from ulid import ULID

from workers.events import STREAM, channel
from workers.kinds import terminal


def job_events(client: redis.Redis, job_id: str, timeout: float) -> Iterator[dict[str, Any]]:
    """Events of ``job_id`` until its terminal event (or ``timeout`` seconds without one)."""
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(job_id))
    seen: set[tuple[str, str]] = set()
    try:
        for event in job_history(client, job_id):
            seen.add((event["type"], event["ts"]))
            yield event
            if terminal(event):
                return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            if message is None:
                continue
            event = json.loads(message["data"])
            if (event["type"], event["ts"]) in seen:
                continue
            yield event
            if terminal(event):
                return
    finally:
        pubsub.close()


def job_history(client: redis.Redis, job_id: str) -> list[dict[str, Any]]:
    """Lifecycle events of ``job_id`` in the stream (searched from the id's own timestamp)."""
    start = f"{_ulid_ms(job_id)}-0"
    found = []
    while True:
        entries = client.xrange(STREAM, min=start, max="+", count=500)
        for _entry_id, fields in entries:
            if fields.get("job_id") == job_id:
                found.append(json.loads(fields["event"]))
        if len(entries) < 500:
            return found
        start = "(" + entries[-1][0]


def stream_events(
    client: redis.Redis,
    *,
    from_start: bool = False,
    group: str | None = None,
    consumer: str = "cli",
    block_ms: int = 1000,
) -> Iterator[tuple[str, dict[str, Any], Callable[[], None]]]:
    """``(entry id, event, ack)`` from the lifecycle stream, forever; the entry id is the event
    id to dedupe on. With ``group``, entries come through that consumer group and ``ack``
    acknowledges one once handled (without a group it does nothing)."""
    if group:
        _ensure_group(client, group, "0" if from_start else "$")
    last = "0" if from_start else "$"
    while True:
        if group:
            batches = client.xreadgroup(group, consumer, {STREAM: ">"}, count=100, block=block_ms)
        else:
            batches = client.xread({STREAM: last}, count=100, block=block_ms)
        for entry_id, fields in _entries(batches):
            last = entry_id
            yield entry_id, json.loads(fields["event"]), _acker(client, group, entry_id)


def _acker(client: redis.Redis, group: str | None, entry_id: str) -> Callable[[], None]:
    def ack() -> None:
        if group:
            client.xack(STREAM, group, entry_id)

    return ack


def _entries(batches: Any) -> list[tuple[str, dict[str, str]]]:
    if not batches:
        return []
    if isinstance(batches, dict):  # RESP3 replies map stream -> entries
        return [e for entries in batches.values() for e in _flatten(entries)]
    return [e for _, entries in batches for e in entries]


def _flatten(entries: Any) -> list[Any]:
    # RESP3 may nest the entries one level deeper than RESP2
    if entries and isinstance(entries[0], list) and entries[0] and isinstance(entries[0][0], list):
        return [e for chunk in entries for e in chunk]
    return list(entries)


def _ensure_group(client: redis.Redis, group: str, start: str) -> None:
    try:
        client.xgroup_create(STREAM, group, id=start, mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _ulid_ms(job_id: str) -> int:
    try:
        return ULID.from_str(job_id.partition("_")[2]).milliseconds
    except ValueError:
        return 0
