"""``GET /events``: job events as server-sent events, for the dashboard and the client.

Lifecycle events come from the durable Redis stream and carry its entry id as the SSE ``id``,
so a browser that reconnects sends ``Last-Event-ID`` and gets what it missed; progress comes
from pub/sub (fire and forget, no id). A response lasts at most ``STREAM_SECONDS`` and then
asks the client to reconnect, so a sync web worker is never held for long.

A member's stream carries only events of the member's own jobs (each job's owner is read
once per connection); ``?job=`` naming another owner's job is a 404, as its status is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import redis
import sqlalchemy as sa
from flask import Blueprint, Response, request, stream_with_context
from ulid import ULID

from api.auth import owner_scope
from api.context import ServiceContext, service
from api.errors import fail
from store import jobs
from store.models import Job
from workers.events import CHANNEL_PREFIX, STREAM, channel

bp = Blueprint("live", __name__)
STREAM_SECONDS = 25.0
RETRY_MS = 1000
POLL_SECONDS = 0.25
KEEP_ALIVE_SECONDS = 5.0


class Audience:
    """Whose events a connection may receive: every job's (an admin) or one owner's."""

    def __init__(self, ctx: ServiceContext, owner: str | None) -> None:
        self._ctx, self._owner = ctx, owner
        self._allowed: dict[str, bool] = {}

    def allows(self, job_id: str | None) -> bool:
        if self._owner is None:
            return True
        if job_id is None:
            return False
        if job_id not in self._allowed:
            with self._ctx.reads() as session:
                owner = session.scalar(sa.select(Job.owner).where(Job.id == job_id))
            self._allowed[job_id] = owner == self._owner
        return self._allowed[job_id]


def _is_progress(event: dict[str, Any]) -> bool:
    """Progress travels on pub/sub only; lifecycle events come from the stream, with ids."""
    return event["type"].endswith("_progress") or event.get("data", {}).get("stage") == "progress"


def sse(event: dict[str, Any], entry_id: str | None = None) -> str:
    """One server-sent event (``event:`` is the envelope's type; ``data:`` its JSON)."""
    head = f"id: {entry_id}\n" if entry_id else ""
    return f"{head}event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


def _stream_entries(
    client: redis.Redis, last: str, job: str | None, audience: Audience
) -> tuple[str, list[str]]:
    """Lifecycle entries after ``last`` (optionally of one job) as SSE chunks; the new last id."""
    chunks = []
    for entry_id, fields in client.xrange(STREAM, min=f"({last}", max="+", count=200):
        last = entry_id
        wanted = fields.get("job_id") == job if job else audience.allows(fields.get("job_id"))
        if wanted:
            chunks.append(sse(json.loads(fields["event"]), entry_id))
    return last, chunks


def _start_id(client: redis.Redis, job: str | None) -> str:
    """Where a new connection starts: after ``Last-Event-ID`` if sent; for one job, from its
    creation (its id's time), so an outcome published before the connection is replayed;
    otherwise after the newest entry."""
    sent = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if sent:
        return sent
    if job:
        return f"{_created_ms(job)}-0"
    newest = client.xrevrange(STREAM, count=1)
    return newest[0][0] if newest else "0-0"


def _created_ms(job_id: str) -> int:
    try:
        return max(ULID.from_str(job_id.partition("_")[2]).milliseconds - 1, 0)
    except ValueError:
        return 0


def _progress(pubsub: Any, audience: Audience) -> list[str]:
    """Progress events waiting on pub/sub (lifecycle ones come from the stream, with ids)."""
    chunks = []
    message = pubsub.get_message(timeout=POLL_SECONDS)
    while message is not None:
        event = json.loads(message["data"])
        if _is_progress(event) and audience.allows(event.get("job_id")):
            chunks.append(sse(event))
        message = pubsub.get_message(timeout=0)
    return chunks


def events(job: str | None, audience: Audience) -> Iterator[str]:
    client = service().redis
    last = _start_id(client, job)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    if job:
        pubsub.subscribe(channel(job))
    else:
        pubsub.psubscribe(CHANNEL_PREFIX + "*")
    yield f"retry: {RETRY_MS}\n: connected\n\n"
    deadline = time.monotonic() + STREAM_SECONDS
    quiet = time.monotonic()
    try:
        while time.monotonic() < deadline:
            last, chunks = _stream_entries(client, last, job, audience)
            chunks += _progress(pubsub, audience)
            if chunks or time.monotonic() - quiet > KEEP_ALIVE_SECONDS:
                yield from chunks or [": keep-alive\n\n"]
                quiet = time.monotonic()
    finally:
        pubsub.close()


@bp.route("/events")
def stream() -> Response:
    """Events of every job, or of ``?job=ID``; reconnect with ``Last-Event-ID`` to resume."""
    job = request.args.get("job") or None
    ctx, owner = service(), owner_scope()
    if job is not None:
        with ctx.reads() as session:
            if jobs.get_job(session, job, owner) is None:
                fail(404, f"no job with id {job!r}")
    audience = Audience(ctx, owner)
    response = Response(stream_with_context(events(job, audience)), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
