"""Fast recovery: a lost message is sent again in seconds, a backlog is never duplicated, and a
supervised worker that dies is started again."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from cli.processes import Child
from workers.celery_config import create_celery
from workers.dispatch import waiting_messages
from workers.heartbeats import live_workers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_a_lost_message_is_sent_again(deploy, make_spec, wait_for):
    service = deploy(NAUTILUS_QUEUED_REDELIVER_AFTER="2")
    job_id = service.submit(make_spec())["execution_id"]  # no worker yet: the message waits
    assert service.redis.delete("backtest.cpu") == 1  # ... and is lost
    service.workers.start(beat=True)
    row = wait_for(job_id, lambda r: r["status"] == "completed", timeout=240)
    assert row["attempts"] == 1


def test_a_backlog_counts_as_waiting(isolated, make_spec):
    """The reconciler sends a queued job again only when its queue holds nothing waiting:
    jobs behind others in a backlog are counted, so they are not duplicated."""
    for _ in range(3):
        isolated.submit(make_spec())
    app = create_celery(isolated.settings)
    counts = waiting_messages(app, ["backtest.cpu", "optimize.cpu"])
    assert counts == {"backtest.cpu": 3, "optimize.cpu": 0}
    isolated.redis.delete("backtest.cpu")
    assert waiting_messages(app, ["backtest.cpu"]) == {"backtest.cpu": 0}


def worker_pid(service, timeout: float = 60.0, other_than: int | None = None) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in live_workers(service.redis):
            if worker["pid"] != other_than:
                return int(worker["pid"])
        time.sleep(0.2)
    raise AssertionError("no worker heart-beat")


def test_a_supervised_worker_that_dies_is_started_again(isolated, make_spec, wait_for):
    argv = [sys.executable, "-m", "cli.main", "worker", "--pool", "cpu", "--concurrency", "1"]
    log = Path(isolated.settings.var_dir) / "supervised.log"
    supervisor = Child("supervised", argv, isolated.env | {"PYTHONPATH": str(ROOT)}, log)
    try:
        first = worker_pid(isolated)
        os.kill(first, signal.SIGKILL)  # the celery main process, not the supervisor
        second = worker_pid(isolated, other_than=first)
        assert second != first and supervisor.alive()
        health = isolated.api.get("/health").get_json()
        assert health["workers_alive"]["cpu"] >= 1 and health["workers_stalled"]["cpu"] == 0
        job_id = isolated.submit(make_spec())["execution_id"]
        wait_for(job_id, lambda r: r["status"] == "completed", timeout=60)
    finally:
        supervisor.stop()
    assert "exited with status" in log.read_text()
