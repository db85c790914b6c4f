"""How a job's task ends: completed, failed, cancelled, retried or abandoned.

Shared by every job kind; subscribers hear each ending in the kind's own event type
(``workers.kinds.JobKind.event``), wherever it is decided (a task, the reconciler, a cancel).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from store import jobs
from store.db import transaction
from store.models import Job, utcnow
from store.results import save_result
from tasks.context import TaskContext
from tasks.lease import Lease, LeaseLost
from tasks.progress import peak_rss_mb
from workers.kinds import COMPLETED, FAILED, JobKind, kind_named

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[Exception], ...] = (OperationalError, ConnectionError, TimeoutError)
"""Errors of the infrastructure that a later try may not meet; everything else ends the job."""


@dataclass(frozen=True)
class Completion:
    """What a completed job stores and tells: its document, inputs digest and headline."""

    document: dict[str, Any]
    digest: str
    dataset_version: str | None
    row: dict[str, Any]  # job-row fields (processing time, counts, current_date, metrics...)
    event: dict[str, Any]  # the completion event's data
    sections: dict[str, Any] | None = None


def complete(
    ctx: TaskContext, kind: JobKind, lease: Lease, done: Completion, status: str = COMPLETED
) -> str:
    """Store the result and end the job in one transaction (only with the lease), then tell
    subscribers. ``status`` is completed, or cancelled for a job that keeps its partial result."""
    final: dict[str, Any] = {"progress_message": status, "memory_usage_mb": round(peak_rss_mb(), 1)}
    if status == COMPLETED:
        final["progress_percentage"] = 100.0
    final |= done.row
    with transaction(ctx.sessions) as session:
        if not jobs.finish(session, lease.job_id, lease.lease_id, status, **final):
            raise LeaseLost(lease.job_id)
        save_result(
            session,
            lease.job_id,
            document=done.document,
            sections=done.sections or {},
            digest=done.digest,
            dataset_version=done.dataset_version or None,
        )
    data = {"status": status, "results": kind.results_url(lease.job_id), **done.event}
    publish(ctx, kind, status, lease.job_id, data)
    return status


def fail(
    ctx: TaskContext,
    lease: Lease,
    kind: JobKind,
    code: str,
    message: str,
    errors: dict[str, list[str]] | None = None,
) -> str:
    error = {"code": code, "message": message, "errors": errors or {}}
    return end(ctx, lease, kind, FAILED, error)


def end(ctx: TaskContext, lease: Lease, kind: JobKind, status: str, error: dict[str, Any]) -> str:
    """End the leased job in ``status`` (failed or cancelled) and tell subscribers."""
    values: dict[str, Any] = {"memory_usage_mb": round(peak_rss_mb(), 1)}
    if status == FAILED:
        values["error"] = error
    with transaction(ctx.sessions) as session:
        if not jobs.finish(session, lease.job_id, lease.lease_id, status, **values):
            return "lease lost"
    publish(ctx, kind, status, lease.job_id, {"status": status, **error})
    return status


def retry_or_fail(task: Task, ctx: TaskContext, lease: Lease, kind: JobKind, exc: Exception) -> str:
    """Retry a transient error with backoff, a bounded number of times, then fail the job."""
    limit = ctx.settings.task_max_retries
    if task.request.retries >= limit:
        return fail(ctx, lease, kind, "transient_error_exhausted", transient_message(exc))
    release(ctx, lease)
    raise task.retry(exc=exc, countdown=min(60, 2**task.request.retries), max_retries=limit)


def transient_message(exc: Exception) -> str:
    """What a client may read about an infrastructure error (its details go to the log)."""
    log.warning("transient error: %s", exc)
    return f"the infrastructure kept failing ({type(exc).__name__}); resubmit the job"


def release(ctx: TaskContext, lease: Lease) -> None:
    """Give the job back to the queue before a retry claims it again."""
    try:
        with transaction(ctx.sessions) as session:
            jobs.release(session, lease.job_id, lease.lease_id)
    except OperationalError:  # the reconciler frees the job once its heartbeat is stale
        log.warning("job %s: could not release its lease before retrying", lease.job_id)


def unclaimable(ctx: TaskContext, job_id: str) -> str:
    """Explain a delivery that could not claim its job; fail jobs out of attempts."""
    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, job_id)
        if job is None:
            log.warning("job %s does not exist; dropping its message", job_id)
            return "missing"
        if job.status in jobs.TERMINAL:
            return f"already {job.status}"
        stale_before = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s)
        if job.attempts < job.max_attempts or not _abandoned(job, stale_before):
            return "held by another delivery"
        error = {"code": "attempts_exhausted", "message": f"gave up after {job.attempts} attempts"}
        failed = jobs.fail_abandoned(session, job_id, error, stale_before)
        kind = kind_named(job.kind)
    if failed:
        publish(ctx, kind, FAILED, job_id, {"status": FAILED, **error})
    return FAILED if failed else "held by another delivery"


def publish(ctx: TaskContext, kind: JobKind, stage: str, job_id: str, data: dict[str, Any]) -> None:
    """Publish an event; the job row already holds the truth, so a Redis outage is only logged."""
    try:
        ctx.events.publish(kind, stage, job_id, data)
    except Exception as exc:  # redis errors of any kind: the job's state must not depend on them
        log.warning("could not publish %s of %s: %s", stage, job_id, exc)


def _abandoned(job: Job, stale_before: datetime) -> bool:
    return job.status == jobs.QUEUED or (job.heartbeat_at or stale_before) < stale_before
