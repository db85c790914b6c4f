"""How a job's task ends when it does not complete: failed, cancelled, retried or abandoned.

Shared by every job kind; subscribers hear each ending in the kind's own event type
(``workers.events.ending``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from store import jobs
from store.db import transaction
from store.models import Job, utcnow
from tasks.context import TaskContext
from tasks.lease import Lease
from tasks.progress import peak_rss_mb
from workers import events

log = logging.getLogger(__name__)


def fail(
    ctx: TaskContext,
    lease: Lease,
    kind: str,
    code: str,
    message: str,
    errors: dict[str, list[str]] | None = None,
) -> str:
    error = {"code": code, "message": message, "errors": errors or {}}
    return end(ctx, lease, kind, jobs.FAILED, error)


def end(ctx: TaskContext, lease: Lease, kind: str, status: str, error: dict[str, Any]) -> str:
    """End the leased job in ``status`` (failed or cancelled) and tell subscribers."""
    values: dict[str, Any] = {"memory_usage_mb": round(peak_rss_mb(), 1)}
    if status == jobs.FAILED:
        values["error"] = error
    with transaction(ctx.sessions) as session:
        if not jobs.finish(session, lease.job_id, lease.lease_id, status, **values):
            return "lease lost"
    publish_ending(ctx, lease.job_id, kind, status, {"status": status, **error})
    return status


def retry_or_fail(task: Task, ctx: TaskContext, lease: Lease, kind: str, exc: Exception) -> str:
    """Retry a transient error with backoff, a bounded number of times, then fail the job."""
    if task.request.retries >= task.max_retries:
        return fail(ctx, lease, kind, "transient_error_exhausted", f"{exc}")
    try:
        with transaction(ctx.sessions) as session:
            jobs.release(session, lease.job_id, lease.lease_id)
    except OperationalError:  # the reconciler frees the job once its heartbeat is stale
        log.warning("job %s: could not release its lease before retrying", lease.job_id)
    raise task.retry(exc=exc, countdown=min(60, 2**task.request.retries))


def unclaimable(ctx: TaskContext, job_id: str) -> str:
    """Explain a delivery that could not claim its job; fail jobs out of attempts."""
    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, job_id)
        if job is None:
            log.warning("job %s does not exist; dropping its message", job_id)
            return "missing"
        if job.status in (jobs.COMPLETED, jobs.FAILED, jobs.CANCELLED):
            return f"already {job.status}"
        stale_before = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s)
        if job.attempts < job.max_attempts or not _abandoned(job, stale_before):
            return "held by another delivery"
        error = {"code": "attempts_exhausted", "message": f"gave up after {job.attempts} attempts"}
        failed = jobs.fail_abandoned(session, job_id, error, stale_before)
        kind = job.kind
    if failed:
        publish_ending(ctx, job_id, kind, jobs.FAILED, {"status": jobs.FAILED, **error})
    return jobs.FAILED if failed else "held by another delivery"


def publish_ending(
    ctx: TaskContext, job_id: str, kind: str, status: str, data: dict[str, Any]
) -> None:
    """Publish that a job ended failed or cancelled, in its kind's event type."""
    type_, data = events.ending(kind, status, data)
    publish(ctx, type_, job_id, kind, data)


def publish(ctx: TaskContext, type_: str, job_id: str, kind: str, data: dict[str, Any]) -> None:
    """Publish an event; the job row already holds the truth, so a Redis outage is only logged."""
    try:
        ctx.events.publish(type_, job_id, kind, data)
    except Exception as exc:  # redis errors of any kind: the job's state must not depend on them
        log.warning("could not publish %s for %s: %s", type_, job_id, exc)


def _abandoned(job: Job, stale_before: datetime) -> bool:
    return job.status == jobs.QUEUED or (job.heartbeat_at or stale_before) < stale_before
