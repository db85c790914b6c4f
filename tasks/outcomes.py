"""How a job's task ends: completed, failed, cancelled, retried or abandoned.

Shared by every job kind; subscribers hear each ending in the kind's own event type
(``workers.kinds.JobKind.event``), wherever it is decided (a task, the reconciler, a cancel).
Each ending's event is recorded in the transaction that ends the job (``ctx.outbox``) and
relayed after the commit.
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
from tasks.transient import in_place
from workers.kinds import COMPLETED, FAILED, JobKind, kind_named

log = logging.getLogger(__name__)


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
    """Store the result, end the job and record its event in one transaction (only with the
    lease), then relay the event. ``status`` is completed, or cancelled for a job that keeps its
    partial result."""
    final: dict[str, Any] = {"progress_message": status, "memory_usage_mb": round(peak_rss_mb(), 1)}
    if status == COMPLETED:
        final["progress_percentage"] = 100.0
    final |= done.row
    data = {"status": status, "results": kind.results_url(lease.job_id), **done.event}

    def store() -> dict[str, Any]:
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
            return ctx.outbox.record(session, kind, status, lease.job_id, data)

    # the result is computed: ride out a database blip rather than compute it again
    ctx.outbox.relay([in_place(store)])
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
    """End the leased job in ``status`` (failed or cancelled) with its event (the outbox)."""
    values: dict[str, Any] = {"memory_usage_mb": round(peak_rss_mb(), 1)}
    if status == FAILED:
        values["error"] = error

    def finish() -> dict[str, Any] | None:
        with transaction(ctx.sessions) as session:
            if not jobs.finish(session, lease.job_id, lease.lease_id, status, **values):
                return None
            return ctx.outbox.record(
                session, kind, status, lease.job_id, {"status": status, **error}
            )

    event = in_place(finish)
    if event is None:
        return "lease lost"
    ctx.outbox.relay([event])
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
        if not jobs.fail_abandoned(session, job_id, error, stale_before):
            return "held by another delivery"
        event = ctx.outbox.record(
            session, kind_named(job.kind), FAILED, job_id, {"status": FAILED, **error}
        )
    ctx.outbox.relay([event])
    return FAILED


def publish(ctx: TaskContext, kind: JobKind, stage: str, job_id: str, data: dict[str, Any]) -> None:
    """Publish a progress event now, fire and forget: a Redis outage is only logged (lifecycle
    events go through the outbox instead, ``workers/relay.py``)."""
    try:
        ctx.events.publish(kind, stage, job_id, data)
    except Exception as exc:  # redis errors of any kind: the job's state must not depend on them
        log.warning("could not publish %s of %s: %s", stage, job_id, exc)


def _abandoned(job: Job, stale_before: datetime) -> bool:
    return job.status == jobs.QUEUED or (job.heartbeat_at or stale_before) < stale_before
