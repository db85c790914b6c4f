"""Sending a job's task to its queue: ids only, no result subscription, a short argsrepr."""

from __future__ import annotations

from celery import Celery

from workers.celery_config import PLAN_OPTIMIZATION, RUN_BACKTEST, RUN_STRESS_TEST
from workers.queues import CONTROL

TASK_FOR_KIND = {
    "backtest": RUN_BACKTEST,
    "optimization": PLAN_OPTIMIZATION,
    "stress_test": RUN_STRESS_TEST,
}
PLANNED_ON_CONTROL = {"optimization"}  # the plan is bookkeeping; its batches go to the job's queue


def send_job(app: Celery, kind: str, job_id: str, queue: str, task_id: str) -> None:
    """Enqueue the task of job ``job_id``; call it only after the job row has committed."""
    queue = CONTROL if kind in PLANNED_ON_CONTROL else queue
    app.send_task(
        TASK_FOR_KIND[kind],
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
