"""gunicorn settings of the API (``-c python:api.gunicorn_conf``).

With ``PROMETHEUS_MULTIPROC_DIR`` set, every gunicorn worker writes its samples to that folder
and ``GET /metrics`` sums them (prometheus-client's multiprocess mode), so a scrape reports the
whole API whichever worker answers it, and a counter never goes backwards between scrapes.
The folder is emptied when gunicorn starts; a dead worker's live gauges are dropped.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from workers.settings import get_settings


def on_starting(server: Any) -> None:
    folder = get_settings().prometheus_multiproc_dir
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if get_settings().prometheus_multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
