"""The periodic reconciler: every accepted job ends in a terminal state, whatever crashed.

- a running job whose heartbeat is stale is re-enqueued (or failed once out of attempts);
- a cancelling job whose holder died is marked cancelled;
- a queued job whose message was lost (an API crash after commit, a worker that died holding
  it, a claim that failed) is sent again once its queue has nothing waiting (``resend_waiting``).
- lifecycle events left in the outbox (Redis was down, a process died after its commit) are
  relayed (``workers/relay.py``).
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
from workers.app import celery_app
from workers.celery_config import RECONCILE
from workers.dispatch import send_job, start_queue, waiting_messages
from workers.heartbeats import live_pools
from workers.kinds import kind_named
from workers.queues import queue_name

log = logging.getLogger(__name__)


@celery_app.task(name=RECONCILE, ignore_result=True, acks_late=True)
def reconcile() -> dict[str, int]:
    """One sweep over stale and waiting jobs; returns counts per action."""
    ctx = context()
    stale_before = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s)
    counts = {"requeued": 0, "failed": 0, "cancelled": 0, "resent": 0, "relayed": 0}
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
    counts["relayed"] = ctx.outbox.sweep()
    if any(counts.values()):
        log.info("reconciler: %s", counts)
    return counts


def settle_stale(
    ctx: TaskContext, job_id: str, kind: str, status: str, exhausted: bool, stale_before: Any
) -> str | None:
    """Decide and apply the fate of one stale job (its event recorded with the change); the
    action taken, None if it moved on."""
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
        if not done:
            return None
        event = ctx.outbox.record(session, kind_named(kind), action, job_id, data)
    ctx.outbox.relay([event])
    return action


def resend_waiting(ctx: TaskContext) -> int:
    """Send again the queued jobs whose message looks lost; how many were sent.

    A job is sent again when it was never sent (the broker refused it), or when its last
    message left more than ``queued_redeliver_after_s`` ago and yet its queue holds no waiting
    message (the broker handed every one out and nobody claimed this job: a worker died
    holding it, or a claim failed), or when its GPU pool has no live worker any more. A job
    waiting behind others in a busy queue is left alone, so a backlog is never duplicated.
    """
    now = utcnow()
    unsent_before = now - timedelta(seconds=ctx.settings.reconcile_interval_s)
    resend_before = now - timedelta(seconds=ctx.settings.queued_redeliver_after_s)
    with transaction(ctx.sessions) as session:
        found = jobs.waiting_jobs(session, unsent_before, resend_before)
        waiting = [(j.id, j.kind, j.queue, j.enqueued_at is None) for j in found]
    if not waiting:
        return 0
    live = live_pools(ctx.redis)
    targets = {job_id: target_queue(queue, live) for job_id, _, queue, _ in waiting}
    sent_to = {job_id: start_queue(kind_named(kind), queue) for job_id, kind, queue, _ in waiting}
    depth = waiting_messages(celery_app, set(sent_to.values()))
    lost = [
        (job_id, kind)
        for job_id, kind, queue, unsent in waiting
        if unsent or not depth[sent_to[job_id]] or targets[job_id] != queue
    ]
    for job_id, kind in lost:
        send(ctx, job_id, kind, targets[job_id])
    return len(lost)


def target_queue(queue: str, live: set[str]) -> str:
    """The job's queue, or its workload's CPU queue if no GPU pool is among ``live``."""
    workload, _, pool = queue.partition(".")
    if pool == "gpu" and "gpu" not in live:
        return queue_name(workload, "cpu")
    return queue


def resend(ctx: TaskContext, job_id: str, kind: str, queue: str) -> None:
    """Enqueue ``job_id`` again, on the CPU pool if its GPU pool has no live worker now."""
    send(ctx, job_id, kind, target_queue(queue, live_pools(ctx.redis)))


def send(
    ctx: TaskContext,
    job_id: str,
    kind: str,
    queue: str,
    countdown: float | None = None,
    **values: Any,
) -> bool:
    """Record a new message for ``job_id`` on ``queue`` (and ``values`` on its row), then send
    it, ``countdown`` seconds from now; False (nothing sent) when the job is no longer queued."""
    task_id = uuid.uuid4().hex
    with transaction(ctx.sessions) as session:
        if not jobs.mark_enqueued(session, job_id, task_id, queue=queue, **values):
            return False
    send_job(celery_app, kind_named(kind), job_id, queue, task_id, countdown)
    return True
