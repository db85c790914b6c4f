"""Optimization jobs as Celery chords: plan, score batches, finish (rank, validate, store).

- ``plan_optimization(job_id)`` (control queue) claims the job, writes its trial rows once and
  sends a chord: header ``score_batch(job_id, lease_id, first, last)`` tasks on the job's pool
  queue, body ``finish_optimization(job_id, lease_id)`` on ``control``.
- Header tasks keep the job's heartbeat while they run, score their unscored trials in one
  sweep per window and upsert them: a redelivered batch rewrites the same rows.
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
from sqlalchemy.exc import OperationalError

from store import jobs, trials
from store.db import transaction
from tasks.context import TaskContext, context
from tasks.lease import Lease, LeaseKeeper, acquire
from tasks.optimize_chord import batch_count, batches, cpu_slots, launch
from tasks.optimize_steps import (
    Batch,
    complete,
    first_stubs,
    load_job,
    next_stubs,
    score_stubs,
)
from tasks.outcomes import fail, publish, unclaimable
from workers import events
from workers.app import celery_app
from workers.celery_config import FINISH_OPTIMIZATION, PLAN_OPTIMIZATION, SCORE_BATCH
from workers.heartbeats import live_workers
from workers.settings import get_settings

log = logging.getLogger(__name__)
KIND = "optimization"
TRANSIENT: tuple[type[Exception], ...] = (OperationalError, ConnectionError, TimeoutError)


@celery_app.task(
    name=PLAN_OPTIMIZATION,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=get_settings().task_max_retries,
)
def plan_optimization(self: Task, job_id: str) -> str:
    """Claim the job, create its trials (once) and send the chord over the unscored ones."""
    from engine.errors import NautilusError

    ctx = context()
    lease = acquire(ctx, job_id, self.request.hostname or "unknown")
    if lease is None:
        return unclaimable(ctx, job_id)
    try:
        job = load_job(ctx, job_id)
        stubs = first_stubs(job)
        with transaction(ctx.sessions) as session:
            trials.insert_trials(session, job_id, stubs, 0)
        if job.attempt == 1:
            started = {"stage": "started", "worker": lease.worker, "queue": job.queue,
                       "parameter_sets": job.request.planned_sets}  # fmt: skip
            publish(ctx, events.PARAMETER_OPTIMIZATION, job_id, KIND, started)
        with transaction(ctx.sessions) as session:
            round_no = trials.latest_round(session, job_id)
        return send_pending(ctx, lease, job.queue, job.request.use_parallel, round_no)
    except NautilusError as exc:
        return fail(ctx, lease, KIND, exc.code, str(exc), getattr(exc, "errors", {}))
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            return fail(ctx, lease, KIND, "transient_error_exhausted", str(exc))
        _release(ctx, lease)
        raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc


def send_pending(ctx: TaskContext, lease: Lease, queue: str, parallel: bool, round_no: int) -> str:
    """Send a chord over the job's unscored trials (the callback alone when none is left)."""
    with transaction(ctx.sessions) as session:
        todo = trials.pending(session, lease.job_id)
        message = f"scoring {len(todo)} parameter sets"
        jobs.touch(session, lease.job_id, lease.lease_id, progress_message=message)
    pool = "gpu" if queue.endswith(".gpu") else "cpu"
    slots = cpu_slots(live_workers(ctx.redis))
    count = batch_count(len(todo), pool, slots, ctx.settings, parallel)
    ranges = batches(todo, count)
    launch(score_batch, finish_optimization, lease.job_id, lease.lease_id, queue, ranges, round_no)
    return f"sent {count} batches"


@celery_app.task(
    name=SCORE_BATCH, bind=True, acks_late=True, max_retries=get_settings().task_max_retries
)
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
        fail(ctx, lease, KIND, exc.code, f"{batch}: {exc}", getattr(exc, "errors", {}))
        return {"failed": str(exc)}
    except Exception as exc:  # a bug, a transient outage or a device error: bounded retries
        if self.request.retries < self.max_retries:
            log.warning("job %s %s failed, retrying: %s", job_id, batch, exc)
            raise self.retry(exc=exc, countdown=min(30, 2**self.request.retries)) from exc
        message = f"{batch} failed {self.request.retries + 1} times: {type(exc).__name__}: {exc}"
        log.exception("job %s: %s", job_id, message)
        fail(ctx, lease, KIND, "batch_failed", message)
        return {"failed": message}


@celery_app.task(
    name=FINISH_OPTIMIZATION,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=get_settings().task_max_retries,
)
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
            return complete(ctx, lease, job, jobs.CANCELLED)
        with transaction(ctx.sessions) as session:
            latest = trials.latest_round(session, job_id)
            missing = len(trials.pending(session, job_id))
        if round_no < latest:
            return f"round {round_no} superseded by round {latest}"
        if missing:
            return fail(
                ctx, lease, KIND, "batch_failed", f"{missing} parameter sets were not scored"
            )
        if job.request.adaptive and next_stubs(ctx, job, round_no):
            parallel = job.request.use_parallel
            return send_pending(ctx, lease, job.queue, parallel, round_no + 1)
        return complete(ctx, lease, job, jobs.COMPLETED)
    except NautilusError as exc:
        return fail(ctx, lease, KIND, exc.code, str(exc), getattr(exc, "errors", {}))
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            return fail(ctx, lease, KIND, "transient_error_exhausted", str(exc))
        raise self.retry(exc=exc, countdown=min(60, 2**self.request.retries)) from exc


def _release(ctx: TaskContext, lease: Lease) -> None:
    try:
        with transaction(ctx.sessions) as session:
            jobs.release(session, lease.job_id, lease.lease_id)
    except OperationalError:  # the reconciler frees the job once its heartbeat is stale
        log.warning("job %s: could not release its lease before retrying", lease.job_id)
