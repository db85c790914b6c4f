"""The one Celery configuration, shared by the API, every worker, beat and Flower.

Delivery policy (see CELERY_NOTES.md): JSON only; acks late so a lost worker's task is
redelivered; prefetch 1; a pool child that dies is retried (bounded), never requeued forever;
the broker's redelivery timeout sits above the hard time limit so a running task is never handed
out twice. What depends on the broker (Redis or RabbitMQ) is in ``workers.broker``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from workers.broker import broker_config
from workers.kinds import KINDS
from workers.queues import CONTROL
from workers.settings import Settings

RECONCILE = "nautilus.control.reconcile"
SCORE_BATCH = "nautilus.optimize.batch"
FINISH_OPTIMIZATION = "nautilus.optimize.finish"
TASK_MODULES = ["tasks.reconcile", *(kind.task_module for kind in KINDS.values())]


def celery_config(settings: Settings) -> dict[str, Any]:
    return broker_config(settings) | {
        "result_backend": settings.celery_result_url,
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout_s},
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "result_expires": settings.result_expires_s,
        "task_acks_late": True,
        "task_reject_on_worker_lost": False,
        "task_retry_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # a pool child loads its compiled kernels before it says it is up (workers/lifecycle.py);
        # on a busy machine that takes more than Celery's 4 s, and a child replacing a killed
        # one would be killed in turn, over and over
        "worker_proc_alive_timeout": 120.0,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_deduplicate_successful_tasks": True,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_time_limit_s,
        "task_default_queue": CONTROL,
        "task_routes": {
            RECONCILE: {"queue": CONTROL},
            FINISH_OPTIMIZATION: {"queue": CONTROL},
            **{k.task: {"queue": CONTROL} for k in KINDS.values() if k.starts_on_control},
        },
        # Flower shows a task from the moment a worker receives it; a "sent" event per submit
        # would double the messages the API publishes (GET /backtests/{id} reports queued jobs).
        "task_send_sent_event": False,
        "worker_send_task_events": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "reconcile-jobs": {"task": RECONCILE, "schedule": settings.reconcile_interval_s},
        },
        "beat_schedule_filename": str(settings.var_dir / "celerybeat-schedule"),
        "timezone": "UTC",
        "enable_utc": True,
    }


def create_celery(settings: Settings) -> Celery:
    """A Celery app configured from ``settings`` (tasks register on ``workers.app``'s)."""
    app = Celery("nautilus", include=TASK_MODULES, set_as_current=False)
    app.conf.update(celery_config(settings))
    return app
