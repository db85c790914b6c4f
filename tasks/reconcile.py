"""The periodic reconciler: every accepted job ends in a terminal state, whatever crashed.

- a running job whose heartbeat is stale is re-enqueued (or failed once out of attempts);
- a cancelling job whose holder died is marked cancelled;
- a queued job whose message may have been lost (API crash after commit) is sent again.
Re-sending is safe: a delivery that cannot claim its job does nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from store import jobs
from store.db import transaction
from store.models import utcnow
from tasks.context import TaskContext, context
from tasks.outcomes import publish
from workers.app import celery_app
from workers.celery_config import RECONCILE
from workers.dispatch import send_job
from workers.heartbeats import live_pools
from workers.kinds import kind_named
from workers.queues import queue_name

log = logging.getLogger(__name__)


@celery_app.task(name=RECONCILE, ignore_result=True, acks_late=True)
def reconcile() -> dict[str, int]:
    """One sweep over stale and waiting jobs; returns counts per action."""
    ctx = context()
    stale_before = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s)
    counts = {"requeued": 0, "failed": 0, "cancelled": 0, "resent": 0}
    with transaction(ctx.sessions) as session:
        stale = [
            (j.id, j.kind, j.status, j.attempts, j.max_attempts, j.queue)
            for j in jobs.stale_jobs(session, stale_before)
        ]
    for job_id, kind, status, attempts, max_attempts, queue in stale:
        action = settle_stale(ctx, job_id, kind, status, attempts >= max_attempts, stale_before)
        if action:
            counts[action] += 1
            if action == "requeued":
                resend(ctx, job_id, kind, queue)
    counts["resent"] = resend_waiting(ctx)
    if any(counts.values()):
        log.info("reconciler: %s", counts)
    return counts


def settle_stale(
    ctx: TaskContext, job_id: str, kind: str, status: str, exhausted: bool, stale_before: Any
) -> str | None:
    """Decide and apply the fate of one stale job; the action taken, None if it moved on."""
    with transaction(ctx.sessions) as session:
        if status == jobs.CANCELLING:
            done = jobs.cancel_stale(session, job_id, stale_before)
            action, data = jobs.CANCELLED, {"status": jobs.CANCELLED}
        elif exhausted:
            error = {"code": "attempts_exhausted", "message": "worker lost on every attempt"}
            done = jobs.fail_abandoned(session, job_id, error, stale_before)
            action, data = jobs.FAILED, {"status": jobs.FAILED, **error}
        else:
            return "requeued" if jobs.requeue_stale(session, job_id, stale_before) else None
    if done:
        publish(ctx, kind_named(kind), action, job_id, data)
    return action if done else None


def resend_waiting(ctx: TaskContext) -> int:
    """Send again the queued jobs whose message is older than the redelivery window."""
    now = utcnow()
    unsent_before = now - timedelta(seconds=ctx.settings.reconcile_interval_s)
    resend_before = now - timedelta(seconds=ctx.settings.queued_redeliver_after_s)
    with transaction(ctx.sessions) as session:
        found = jobs.waiting_jobs(session, unsent_before, resend_before)
        waiting = [(j.id, j.kind, j.queue) for j in found]
    for job_id, kind, queue in waiting:
        resend(ctx, job_id, kind, queue)
    return len(waiting)


def resend(ctx: TaskContext, job_id: str, kind: str, queue: str) -> None:
    """Enqueue ``job_id`` again, on the CPU pool if its GPU pool has no live worker now."""
    workload, _, pool = queue.partition(".")
    if pool == "gpu" and "gpu" not in live_pools(ctx.redis):
        queue = queue_name(workload, "cpu")
    task_id = uuid.uuid4().hex
    with transaction(ctx.sessions) as session:
        jobs.mark_enqueued(session, job_id, task_id, queue=queue)
    send_job(celery_app, kind_named(kind), job_id, queue, task_id)
