"""Optimization jobs as Celery chords: plan, score batches, finish (rank, validate, store).

- ``plan_optimization(job_id)`` (control queue) claims the job, computes its first round (not
  stored: each batch computes the same deterministic list) and sends a chord: header
  ``score_batch(job_id, lease_id, first, last)`` tasks on the job's pool queue, body
  ``finish_optimization(job_id, lease_id)`` on ``control``.
- Header tasks keep the job's heartbeat while they run, score their trials without a scored
  row in one sweep per window and upsert them: a redelivered batch rewrites the same rows.
- The body reads every trial back, starts the next Bayesian round (another chord) or builds and
  stores the result. The lease id fences every write, so a chord of an earlier attempt (the
  reconciler re-plans a job whose workers died) cannot finish the job.
Cancellation is cooperative: batches of a cancelling job return at once, and the body ends it
``cancelled`` with the result of the trials scored so far.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from store import jobs, trials
from store.db import transaction
from tasks.context import TaskContext, context
from tasks.job_task import JobRun, job_task
from tasks.lease import Lease, LeaseKeeper
from tasks.optimize_chord import batch_count, batches, cpu_slots, launch
from tasks.optimize_steps import (
    Batch,
    JobView,
    complete,
    first_stubs,
    load_job,
    next_stubs,
    score_stubs,
    unscored,
)
from tasks.outcomes import fail, transient_message
from tasks.transient import TRANSIENT
from workers.app import celery_app
from workers.celery_config import FINISH_OPTIMIZATION, SCORE_BATCH
from workers.heartbeats import live_workers
from workers.kinds import CANCELLED, COMPLETED, OPTIMIZATION

log = logging.getLogger(__name__)


@job_task(OPTIMIZATION)
def plan_optimization(run: JobRun) -> str:
    """Plan the job's first round (computed, not stored) and send the chord over what is left
    to score; a re-plan after a crash sends only the trials without a scored row."""
    job = load_job(run.ctx, run.job_id)
    first_stubs(job)  # a DataError now rather than in every batch
    with transaction(run.ctx.sessions) as session:
        round_no = trials.latest_round(session, run.job_id)
    return send_pending(run.ctx, run.lease, job, round_no)


def send_pending(ctx: TaskContext, lease: Lease, job: JobView, round_no: int) -> str:
    """Send a chord over the job's unscored trials (the callback alone when none is left)."""
    todo = unscored(ctx, job)
    with transaction(ctx.sessions) as session:
        message = f"scoring {len(todo)} parameter sets"
        jobs.touch(session, lease.job_id, lease.lease_id, progress_message=message)
    pool = "gpu" if job.queue.endswith(".gpu") else "cpu"
    slots = cpu_slots(live_workers(ctx.redis))
    count = batch_count(len(todo), pool, slots, ctx.settings, job.request.use_parallel)
    ranges = batches(todo, count)
    launch(
        score_batch, finish_optimization, lease.job_id, lease.lease_id, job.queue, ranges, round_no
    )
    return f"sent {count} batches"


@celery_app.task(name=SCORE_BATCH, bind=True, acks_late=True)
def score_batch(self: Task, job_id: str, lease_id: str, first: int, last: int) -> dict[str, Any]:
    """Score the unscored trials ``first <= idx < last`` of the job, if it is still ours."""
    from engine.errors import NautilusError

    ctx = context()
    lease = Lease(job_id, lease_id, self.request.hostname or "unknown")
    batch = Batch(first, last)
    try:
        with LeaseKeeper(ctx, lease) as keeper:
            status = keeper.refresh()
            if status != jobs.RUNNING:
                return {"skipped": status or "lease lost"}
            return {"scored": score_stubs(ctx, lease, batch, keeper)}
    except NautilusError as exc:
        fail(ctx, lease, OPTIMIZATION, exc.code, f"{batch}: {exc}", getattr(exc, "errors", {}))
        return {"failed": str(exc)}
    except Exception as exc:  # a bug, a transient outage or a device error: bounded retries
        limit = ctx.settings.task_max_retries
        if self.request.retries < limit:
            log.warning("job %s %s failed, retrying: %s", job_id, batch, exc)
            countdown = min(30, 2**self.request.retries)
            raise self.retry(exc=exc, countdown=countdown, max_retries=limit) from exc
        log.exception("job %s: %s failed %d times", job_id, batch, self.request.retries + 1)
        message = f"{batch} failed {self.request.retries + 1} times ({type(exc).__name__})"
        fail(ctx, lease, OPTIMIZATION, "batch_failed", message)
        return {"failed": message}


@celery_app.task(name=FINISH_OPTIMIZATION, bind=True, acks_late=True, ignore_result=True)
def finish_optimization(self: Task, job_id: str, lease_id: str, round_no: int = 0) -> str:
    """The chord's body: next Bayesian round, or rank, validate, store and end the job.

    ``round_no`` is the round the chord scored; a late duplicate of an earlier round's body
    (the next round exists already) does nothing."""
    from engine.errors import NautilusError

    ctx = context()
    lease = Lease(job_id, lease_id, self.request.hostname or "unknown")
    try:
        job = load_job(ctx, job_id)
        if job.lease_id != lease_id or job.status not in (jobs.RUNNING, jobs.CANCELLING):
            return f"stale chord of {job.status} job"
        if job.status == jobs.CANCELLING:
            return complete(ctx, lease, job, CANCELLED)
        with transaction(ctx.sessions) as session:
            latest = trials.latest_round(session, job_id)
        missing = len(unscored(ctx, job))
        if round_no < latest:
            return f"round {round_no} superseded by round {latest}"
        if missing:
            message = f"{missing} parameter sets were not scored"
            return fail(ctx, lease, OPTIMIZATION, "batch_failed", message)
        if job.request.adaptive and next_stubs(ctx, job, round_no):
            return send_pending(ctx, lease, job, round_no + 1)
        return complete(ctx, lease, job, COMPLETED)
    except NautilusError as exc:
        return fail(ctx, lease, OPTIMIZATION, exc.code, str(exc), getattr(exc, "errors", {}))
    except TRANSIENT as exc:
        limit = ctx.settings.task_max_retries
        if self.request.retries >= limit:
            message = transient_message(exc)
            return fail(ctx, lease, OPTIMIZATION, "transient_error_exhausted", message)
        countdown = min(60, 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown, max_retries=limit) from exc
