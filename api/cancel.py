"""Cancelling a job of any kind: one guarded transition, one answer, one event."""

from __future__ import annotations

from collections.abc import Callable

from api.auth import owner_scope
from api.context import service
from api.errors import fail
from store import jobs
from store.db import transaction
from store.models import Job
from workers.dispatch import revoke
from workers.kinds import CANCELLED, kind_named


def cancel_job(job_id: str, found: Callable[[Job | None, str], Job]) -> Job:
    """A queued job ends ``cancelled`` now (its message revoked, the event published); a
    running one becomes ``cancelling`` and stops at its next progress point; a finished one
    is a 409. ``found`` answers 404 for an unknown id or another kind of job."""
    ctx = service()
    with transaction(ctx.sessions) as session:
        job = found(jobs.get_job(session, job_id, owner_scope()), job_id)  # 404 before a change
        kind = kind_named(job.kind)
        status, changed = jobs.request_cancel(session, job_id)
        ended = changed and status == jobs.CANCELLED
        if ended:  # the event commits with the change (the outbox)
            event = ctx.outbox.record(session, kind, CANCELLED, job.id, {"status": CANCELLED})
    if not changed and status != jobs.CANCELLING:
        fail(409, f"{kind.label} {job_id} is already {status}; only active jobs can be cancelled")
    if ended:
        revoke(ctx.celery, job.task_id or "")
        ctx.outbox.relay([event])
    return job
