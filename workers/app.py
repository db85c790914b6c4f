"""The Celery application of every process (API, workers, beat, Flower): ``-A workers.app``."""

from __future__ import annotations

from celery import Celery

from workers.celery_config import TASK_MODULES, celery_config
from workers.settings import get_settings

celery_app = Celery("nautilus", include=TASK_MODULES)
celery_app.conf.update(celery_config(get_settings()))
app = celery_app

# Worker start-up hooks (heartbeats) register themselves on import.
import workers.lifecycle  # noqa: E402

celery_app.steps["consumer"].add(workers.lifecycle.ConsumingTick)
