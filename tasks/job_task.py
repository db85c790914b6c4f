"""The one routine every job-starting task follows: claim, run under the lease, end.

``@job_task(kind)`` turns a kind's ``work(run)`` into its Celery task (in the way warehouse's
base task wraps every task in the same transaction and error handling). The routine:

1. claims the job (a guarded UPDATE, transient errors retried in place); a delivery that
   cannot claim it explains why and stops; one whose owner already runs
   ``NAUTILUS_MAX_RUNNING_PER_OWNER`` jobs leaves it queued and sends it again
   ``NAUTILUS_QUOTA_WAIT`` seconds later, behind other owners' work (``wait_turn``);
2. records the kind's ``started`` event with the claim (the outbox), relays it, and keeps the
   lease alive while ``work`` runs;
3. ends the job whatever ``work`` raises: cancelled, failed with a code, retried (transient
   errors only, bounded, backing off), or failed once retries are exhausted.

``work`` returns what happened (for logs and Flower); to complete the job it calls
``tasks.outcomes.complete``. Safe to run twice: every write is fenced by the lease.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from store import jobs
from store.db import transaction
from tasks.context import TaskContext, context
from tasks.lease import Lease, LeaseKeeper, LeaseLost, OwnerBusy, acquire
from tasks.outcomes import end, fail, retry_or_fail, unclaimable
from tasks.progress import ProgressReporter
from tasks.reconcile import send
from tasks.transient import TRANSIENT
from workers.app import celery_app
from workers.kinds import CANCELLED, STARTED, JobKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRun:
    """One claimed delivery of a job: what its ``work`` needs from the row and the worker."""

    ctx: TaskContext
    kind: JobKind
    lease: Lease
    spec: dict[str, Any]
    queue: str
    attempt: int
    started_at: datetime | None
    progress: ProgressReporter

    @property
    def job_id(self) -> str:
        return self.lease.job_id


Work = Callable[[JobRun], str]


def job_task(kind: JobKind) -> Callable[[Work], Task]:
    """Register ``work`` as the Celery task that starts jobs of ``kind``."""

    def register(work: Work) -> Task:
        def run(self: Task, job_id: str) -> str:
            return run_job(self, kind, job_id, work)

        run.__name__ = run.__qualname__ = work.__name__
        run.__doc__ = work.__doc__
        return celery_app.task(name=kind.task, bind=True, acks_late=True, ignore_result=True)(run)

    return register


def run_job(task: Task, kind: JobKind, job_id: str, work: Work) -> str:
    ctx = context()

    def started(session: Session, lease: Lease) -> tuple[Row, dict[str, Any]]:
        job = jobs.get_job(session, job_id)
        assert job is not None  # just claimed, in this transaction
        data = {"worker": lease.worker, "queue": job.queue, "attempt": job.attempts}
        event = ctx.outbox.record(session, kind, STARTED, job_id, data)
        return (job.spec, job.queue, job.attempts, job.started_at), event

    try:
        claimed = acquire(ctx, job_id, task.request.hostname or "unknown", started)
    except OwnerBusy as busy:
        return wait_turn(ctx, kind, busy)
    if claimed is None:
        return unclaimable(ctx, job_id)
    lease, (row, event) = claimed
    ctx.outbox.relay([event])
    try:
        with LeaseKeeper(ctx, lease) as keeper:
            progress = ProgressReporter(ctx, kind, lease, keeper)
            return _ended(JobRun(ctx, kind, lease, *row, progress=progress), work)
    except TRANSIENT as exc:
        return retry_or_fail(task, ctx, lease, kind, exc)


def wait_turn(ctx: TaskContext, kind: JobKind, busy: OwnerBusy) -> str:
    """Leave the job queued and send it again later: the owner's running jobs hold every turn
    (the delivery ends at once, so the worker takes other owners' work meanwhile)."""
    limit, wait = ctx.settings.max_running_per_owner, ctx.settings.quota_wait_s
    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, busy.job_id)
        queue = None if job is None else job.queue
    message = (
        f"waiting: its owner runs {busy.running} jobs (NAUTILUS_MAX_RUNNING_PER_OWNER={limit})"
    )
    if queue is None or not send(
        ctx, busy.job_id, kind.name, queue, wait, progress_message=message
    ):
        return unclaimable(ctx, busy.job_id)  # gone, or no longer queued
    return f"owner busy, tried again in {wait:g} s"


Row = tuple[dict[str, Any], str, int, datetime | None]
"""What a run needs from its job row: spec, queue, attempt, first start."""


def _ended(run: JobRun, work: Work) -> str:
    """Run ``work``; every way it can stop ends the job (or hands it to a retry)."""
    from engine.errors import Cancelled, NautilusError

    ctx, kind, lease = run.ctx, run.kind, run.lease
    try:
        return work(run)
    except LeaseLost:
        log.warning("job %s: lease lost, another delivery owns it", lease.job_id)
        return "lease lost"
    except Cancelled as exc:
        return end(ctx, lease, kind, CANCELLED, {"reason": str(exc)})
    except SoftTimeLimitExceeded:
        return fail(ctx, lease, kind, "time_limit", "the job ran past its soft time limit")
    except NautilusError as exc:
        return fail(ctx, lease, kind, exc.code, str(exc), getattr(exc, "errors", None))
    except TRANSIENT:
        raise
    except Exception:  # an engine bug must still end the job, and loudly (details in the log)
        log.exception("job %s failed", lease.job_id)
        return fail(ctx, lease, kind, "internal_error", "the job failed on an internal error")
