"""gunicorn settings of the API (``-c python:api.gunicorn_conf``).

Workers are gevent workers: each connection is a greenlet, so a client that trickles its
request (or holds an event stream open) parks a greenlet, not a worker, and other clients are
served meanwhile (a sync worker is blocked by one slow socket). ``NAUTILUS_WEB_CONNECTIONS``
bounds the connections of a worker, ``NAUTILUS_WEB_TIMEOUT`` how long a worker may stay
unresponsive before it is restarted. psycopg and redis-py cooperate with gevent's patched
sockets; the few CPU-heavy requests (bar imports) are bounded by ``NAUTILUS_MAX_IMPORT_BYTES``.
In production a buffering reverse proxy (nginx in docker-compose.yml) sits in front as well.

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

worker_class = "gevent"
worker_connections = get_settings().web_connections
timeout = get_settings().web_timeout_s
keepalive = 5
graceful_timeout = 10


def on_starting(server: Any) -> None:
    folder = get_settings().prometheus_multiproc_dir
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if get_settings().prometheus_multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
