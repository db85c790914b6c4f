"""Sending a job's task to its queue: ids only, no result subscription, a short argsrepr."""

from __future__ import annotations

from celery import Celery

from workers.kinds import JobKind
from workers.queues import CONTROL


def send_job(app: Celery, kind: JobKind, job_id: str, queue: str, task_id: str) -> None:
    """Enqueue the task that starts job ``job_id``; call it only after its row has committed.

    A kind whose starting task is bookkeeping (an optimization's plan) starts on ``control``;
    the work it fans out goes to ``queue``, the job's own."""
    queue = CONTROL if kind.starts_on_control else queue
    app.send_task(
        kind.task,
        args=[job_id],
        queue=queue,
        routing_key=queue,
        task_id=task_id,
        ignore_result=True,
        argsrepr=repr([job_id]),
        kwargsrepr="{}",
    )


def revoke(app: Celery, task_id: str) -> None:
    """Ask workers to drop a queued task (our status guard drops it anyway if it still runs)."""
    app.control.revoke(task_id)
