"""Sending a job's task to its queue: ids only, no result subscription, a short argsrepr."""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery

from workers.kinds import JobKind
from workers.queues import CONTROL


def send_job(
    app: Celery,
    kind: JobKind,
    job_id: str,
    queue: str,
    task_id: str,
    countdown: float | None = None,
) -> None:
    """Enqueue the task that starts job ``job_id``; call it only after its row has committed.

    A kind whose starting task is bookkeeping (an optimization's plan) starts on ``control``;
    the work it fans out goes to ``queue``, the job's own. ``countdown``: not before this many
    seconds."""
    queue = start_queue(kind, queue)
    app.send_task(
        kind.task,
        args=[job_id],
        queue=queue,
        routing_key=queue,
        task_id=task_id,
        countdown=countdown,
        ignore_result=True,
        argsrepr=repr([job_id]),
        kwargsrepr="{}",
    )


def start_queue(kind: JobKind, queue: str) -> str:
    """The queue a job's starting message goes to: ``control`` or the job's own."""
    return CONTROL if kind.starts_on_control else queue


def waiting_messages(app: Celery, queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting (not yet handed to a worker) in each of ``queues``, as the broker
    counts them (a passive declare, which every kombu transport answers); a queue the broker
    does not know holds none."""
    counts: dict[str, int] = {}
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in queues:
            try:
                counts[queue] = int(channel.queue_declare(queue=queue, passive=True).message_count)
            except conn.channel_errors:
                counts[queue] = 0
                channel = conn.channel()  # AMQP closes a channel on a 404
    return counts


def revoke(app: Celery, task_id: str) -> None:
    """Ask workers to drop a queued task (our status guard drops it anyway if it still runs)."""
    app.control.revoke(task_id)
