"""Reading job events: one job's progress and outcome, or the durable lifecycle stream.

A peer that follows one job subscribes to its channel first and then replays the job's
lifecycle entries already in the stream, so an outcome published before it subscribed is not
missed. A peer that follows everything reads the stream, optionally in a consumer group; a group
reader starts by replaying the entries it was given but never acknowledged (it crashed between
read and ack) and claiming those other consumers left idle, then reads new ones. Events are
relayed at least once: both readers drop a repeat of an event id they have seen.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
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
    seen: set[str] = set()
    try:
        for event in job_history(client, job_id):
            if event["id"] in seen:
                continue
            seen.add(event["id"])
            yield event
            if terminal(event):
                return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            if message is None:
                continue
            event = json.loads(message["data"])
            if event["id"] in seen:
                continue
            seen.add(event["id"])
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
        for entry_id, fields in entries:
            if fields.get("job_id") == job_id:
                found.append(_event(entry_id, fields))
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
    claim_idle_ms: int = 30_000,
) -> Iterator[tuple[str, dict[str, Any], Callable[[], None]]]:
    """``(entry id, event, ack)`` from the lifecycle stream, forever; ``event["id"]`` is the id
    to dedupe on (a repeat already seen here is acknowledged and skipped). With ``group``,
    entries come through that consumer group: first this consumer's pending ones (read, never
    acknowledged), then those idle ``claim_idle_ms`` in other consumers (``XAUTOCLAIM``), then
    new ones; ``ack`` acknowledges one once handled (without a group it does nothing)."""
    seen = Seen()
    for entry_id, fields in _group_backlog(client, group, consumer, claim_idle_ms, from_start):
        ack = _acker(client, group, entry_id)
        if fields is None:  # trimmed from the stream while pending: nothing left to replay
            ack()
            continue
        event = _event(entry_id, fields)
        if seen.first(event["id"]):
            yield entry_id, event, ack
        else:
            ack()
    last = "0" if from_start else "$"
    while True:
        if group:
            batches = client.xreadgroup(group, consumer, {STREAM: ">"}, count=100, block=block_ms)
        else:
            batches = client.xread({STREAM: last}, count=100, block=block_ms)
        for entry_id, fields in _entries(batches):
            last = entry_id
            event, ack = _event(entry_id, fields), _acker(client, group, entry_id)
            if seen.first(event["id"]):
                yield entry_id, event, ack
            else:
                ack()


def _group_backlog(
    client: redis.Redis, group: str | None, consumer: str, claim_idle_ms: int, from_start: bool
) -> Iterator[tuple[str, dict[str, str] | None]]:
    """A group reader's unfinished entries: its own pending ones, then others' idle ones."""
    if not group:
        return
    _ensure_group(client, group, "0" if from_start else "$")
    after = "0"
    for _ in range(100_000):  # bounded: 100 entries a read
        entries = _entries(client.xreadgroup(group, consumer, {STREAM: after}, count=100))
        if not entries:
            break
        yield from entries
        after = entries[-1][0]
    start = "0-0"
    for _ in range(100_000):
        reply = client.xautoclaim(STREAM, group, consumer, claim_idle_ms, start, count=100)
        start, claimed = reply[0], reply[1]
        yield from ((entry_id, fields) for entry_id, fields in claimed)
        if start in ("0-0", b"0-0"):
            break


class Seen:
    """Event ids seen lately (the last ``size``), to drop a repeat of an at-least-once relay."""

    def __init__(self, size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first(self, event_id: str) -> bool:
        """Whether ``event_id`` is new here (and remember it)."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


def _event(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """The envelope of a stream entry (an entry written before events had ids: its entry id)."""
    event: dict[str, Any] = json.loads(fields["event"])
    event.setdefault("id", entry_id)
    return event


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
