"""Cancellation and crashes: every accepted job ends in one terminal state, exactly once."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import sqlalchemy as sa

from store.db import transaction
from tests.integration.conftest import BOTH_BROKERS, Service
from workers.events import STREAM

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def lifecycle(client, job_id: str) -> list[str]:
    """The job's event types on the stream, each event once: relaying is at least once, and
    consumers deduplicate on the event id (``workers/events.py``), as this reader does."""
    seen: dict[str, str] = {}
    for _, fields in client.xrange(STREAM):
        if fields["job_id"] == job_id:
            seen.setdefault(fields["id"], json.loads(fields["event"])["type"])
    return list(seen.values())


def lifecycle_until(client, job_id: str, last: str, timeout: float = 30.0) -> list[str]:
    """The job's lifecycle once ``last`` is in it: the event is relayed after the commit (from
    the outbox), so a reader may see the row change a moment before the stream has it."""
    deadline, events = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        events = lifecycle(client, job_id)
        if last in events:
            return events
        time.sleep(0.05)
    raise AssertionError(f"{last} of {job_id} never reached the stream: {events}")


def drained(service: Service, timeout: float = 60.0) -> None:
    """Wait until no message is waiting or unacknowledged on the broker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.redis.llen("backtest.cpu") and not service.redis.hlen("unacked"):
            return
        time.sleep(0.1)
    raise AssertionError("the broker still holds messages")


def test_cancel_a_queued_job(isolated, make_spec, wait_for):
    job_id = isolated.submit(make_spec())["execution_id"]  # no worker: it stays queued
    response = isolated.api.post(f"/backtests/{job_id}/cancel")
    assert response.status_code == 202
    assert response.get_json()["status"] == "cancelled"
    assert lifecycle(isolated.redis, job_id) == ["backtest_cancelled"]

    again = isolated.api.post(f"/backtests/{job_id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.get_json()["message"]

    isolated.workers.start()  # its message is still delivered somewhere: it must do nothing
    drained(isolated)
    row = wait_for(job_id, lambda r: True)
    assert (row["status"], row["attempts"], row["started_at"]) == ("cancelled", 0, None)


@pytest.mark.parametrize("broker", BOTH_BROKERS)
def test_cancel_a_running_job(isolated, make_spec, wait_for):
    isolated.workers.start()
    job_id = isolated.submit(make_spec())["execution_id"]
    wait_for(job_id, lambda r: r["status"] == "running")
    response = isolated.api.post(f"/backtests/{job_id}/cancel")
    assert response.status_code == 202
    assert response.get_json()["status"] == "cancelling"

    row = wait_for(job_id, lambda r: r["status"] not in ("running", "cancelling"))
    assert row["status"] == "cancelled" and row["finished_at"] is not None
    events = lifecycle_until(isolated.redis, job_id, "backtest_cancelled")
    assert events == ["backtest_start", "backtest_cancelled"]
    results = isolated.api.get(f"/backtests/{job_id}/results")
    assert results.status_code == 409


def test_cancel_a_finished_job_is_409(shared, make_spec, wait_for):
    job_id = shared.submit(make_spec())["execution_id"]
    wait_for(job_id, lambda r: r["status"] == "completed")
    response = shared.api.post(f"/backtests/{job_id}/cancel")
    body = response.get_json()
    assert response.status_code == 409 and body["message"].startswith(f"backtest {job_id} is")


CRASH = {
    # a hard limit of 8 s lets the visibility timeout (10 s) redeliver the killed worker's
    # message within the test, as well as the reconciler re-enqueuing the job after 3 s
    "NAUTILUS_TASK_SOFT_TIME_LIMIT": "7",
    "NAUTILUS_TASK_TIME_LIMIT": "8",
    "NAUTILUS_VISIBILITY_TIMEOUT": "10",
}


def test_worker_killed_mid_job_completes_exactly_once(deploy, make_spec, wait_for):
    service = deploy(**CRASH)
    doomed = service.workers.start()
    job_id = service.submit(make_spec())["execution_id"]
    wait_for(job_id, lambda r: r["status"] == "running")
    os.killpg(doomed.pid, signal.SIGKILL)  # the whole worker: main process and its child
    doomed.process.wait()

    service.workers.start(beat=True)  # a survivor, running the reconciler
    row = wait_for(job_id, lambda r: r["status"] == "completed", timeout=90)
    assert row["attempts"] == 2
    time.sleep(11)  # past the visibility timeout: the first message comes back ...
    drained(service)  # ... and is consumed, finding the job already completed
    assert_completed_once(service, job_id)


def assert_completed_once(service: Service, job_id: str) -> None:
    with transaction(service.app.extensions["nautilus"].sessions) as session:
        row = session.execute(
            sa.text("SELECT status, attempts FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
        results = session.execute(
            sa.text("SELECT count(*) FROM results WHERE job_id = :id"), {"id": job_id}
        ).scalar_one()
    assert (row.status, row.attempts, results) == ("completed", 2, 1)
    events = lifecycle_until(service.redis, job_id, "backtest_complete")
    assert events.count("backtest_complete") == 1 and "backtest_failed" not in events
    assert 1 <= events.count("backtest_start") <= 2  # the killed attempt may not have got that far
