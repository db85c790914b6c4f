"""Deleting ended jobs and signal sets through the API on PostgreSQL: everything stored for a job
goes with it (its result too), its owner's stored bytes shrink, an owner at the stored-bytes
quota frees space and submits again at once; active jobs, and sets they trade, are a 409;
another owner's are a 404; admins delete any. Published events stay published."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from store.db import transaction
from store.usage import stored_bytes
from tests.integration.conftest import accepted_backtest, spec
from tests.integration.test_data_api import fresh, import_goog
from tests.integration.test_lifecycle import lifecycle, lifecycle_until

pytestmark = pytest.mark.integration
DONE = ("completed", "failed", "cancelled")


def owner() -> str:
    return f"del-{uuid.uuid4().hex[:8]}"


def submit(client, body: dict) -> str:
    return accepted_backtest(client, body)["execution_id"]


def refused(response, code: int) -> dict:
    body = response.get_json()
    assert response.status_code == code, body
    assert body["code"] == code and {"message", "errors", "request_id"} <= set(body)
    return body


def rows(sessions, job_id: str) -> dict[str, int]:
    """How many rows each table keyed by the job holds for it."""
    with transaction(sessions) as session:
        return {
            table: int(session.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {key} = :id"),
                                      {"id": job_id}) or 0)
            for table, key in (("jobs", "id"), ("results", "job_id"),
                               ("optimization_trials", "job_id"), ("event_outbox", "job_id"))
        }  # fmt: skip


def usage(sessions, name: str) -> int:
    with transaction(sessions) as session:
        return stored_bytes(session, name)


@contextlib.contextmanager
def api_process(service, key: str) -> Iterator[Any]:
    """A client of another API process of the deployment (its own app: its own caches)."""
    from api import create_app

    app = create_app(service.settings)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    try:
        yield client
    finally:
        app.extensions["nautilus"].dispose()


def test_an_owner_at_the_stored_bytes_quota_deletes_a_job_and_submits_again(
    deploy, wait_for, sessions
):
    # an hour's measurement: only the delete's forgetting lets the owner in again at once
    service = deploy(NAUTILUS_QUOTA_STORED_BYTES="5000", NAUTILUS_QUOTA_STORED_CACHE="3600")
    name = owner()
    key = service.create_key(name)
    alice = service.client(key)
    bob = service.client(service.create_key(owner()))
    first = submit(alice, spec())  # no worker yet: it stays queued
    body = refused(alice.delete(f"/jobs/{first}"), 409)
    assert "is queued" in body["message"] and "cancel it first" in body["message"]
    assert first in refused(bob.delete(f"/jobs/{first}"), 404)["message"]

    service.workers.start()
    assert wait_for(first, lambda r: r["status"] in DONE, timeout=120)["status"] == "completed"
    used = usage(sessions, name)
    assert used >= 5000 and rows(sessions, first)["results"] == 1
    events = lifecycle_until(service.redis, first, "backtest_complete")
    # two more API processes measure her now (the first one measured her before the result)
    with api_process(service, key) as here, api_process(service, key) as there:
        for process in (here, there):
            assert refused(process.post("/backtests", json=spec()), 422)["stored_bytes"] == used

        assert here.delete(f"/jobs/{first}").status_code == 204
        gone = rows(sessions, first)  # (its outbox rows went when they were relayed)
        assert gone["jobs"] == gone["results"] == gone["optimization_trials"] == 0
        assert first in refused(alice.get(f"/backtests/{first}"), 404)["message"]
        assert refused(alice.get(f"/backtests/{first}/results"), 404)
        assert first not in {j["id"] for j in alice.get("/jobs").get_json()["items"]}
        assert usage(sessions, name) == 0  # her only job: nothing of hers is stored now
        assert lifecycle(service.redis, first) == events  # published events stay published
        assert refused(here.delete(f"/jobs/{first}"), 404)

        second = submit(here, spec())  # this process forgot her measurement: admitted at once
        # another process keeps its measurement for NAUTILUS_QUOTA_STORED_CACHE seconds
        assert refused(there.post("/backtests", json=spec()), 422)["stored_bytes"] == used
    assert wait_for(second, lambda r: r["status"] in DONE, timeout=120)["status"] == "completed"
    assert refused(bob.delete(f"/jobs/{second}"), 404)
    assert service.api.delete(f"/jobs/{second}").status_code == 204  # an admin deletes any
    assert refused(alice.get(f"/backtests/{second}"), 404)


def test_active_jobs_and_the_signal_sets_they_trade_are_a_409(deploy, sessions):
    service = deploy()  # no worker: accepted jobs stay queued
    name = owner()
    alice = service.client(service.create_key(name))
    bob = service.client(service.create_key(owner()))
    x = fresh()
    import_goog(service.api, x)
    weights = f"date,{x}\n2010-01-04,0.5\n2010-06-01,0.2\n".encode()
    uploaded = alice.post("/data/signals", data=weights, content_type="text/csv")
    assert uploaded.status_code == 201, uploaded.get_json()
    set_id = uploaded.get_json()["signal_set_id"]
    body = {"backtest_name": "weights", "start_date": "2010-01-01T00:00:00Z",
            "end_date": "2010-12-31T00:00:00Z", "symbols": [x], "strategy_id": "target_weights",
            "strategy_parameters": {}, "signal_set_id": set_id}  # fmt: skip
    job = submit(alice, body)
    before = usage(sessions, name)

    assert set_id in refused(bob.delete(f"/data/signals/{set_id}"), 404)["message"]
    conflict = refused(alice.delete(f"/data/signals/{set_id}"), 409)
    assert conflict["active_jobs"] == [job] and job in conflict["message"]

    def force(status: str) -> None:  # a worker's claim or stop, without a worker
        with transaction(sessions) as session:
            session.execute(sa.text("UPDATE jobs SET status = :s WHERE id = :id"),
                            {"s": status, "id": job})  # fmt: skip

    for status, hint in (("running", "cancel it first"), ("cancelling", "wait until")):
        force(status)
        message = refused(alice.delete(f"/jobs/{job}"), 409)["message"]
        assert f"is {status}" in message and hint in message
        assert refused(service.api.delete(f"/data/signals/{set_id}"), 409)  # admins too
    force("queued")
    assert alice.post(f"/jobs/{job}/cancel").get_json()["status"] == "cancelled"

    assert alice.delete(f"/data/signals/{set_id}").status_code == 204
    assert refused(alice.get(f"/data/signals/{set_id}"), 404)
    assert refused(alice.delete(f"/data/signals/{set_id}"), 404)
    assert 0 < usage(sessions, name) < before  # the set went; the cancelled job's request not
    assert alice.delete(f"/jobs/{job}").status_code == 204
    assert usage(sessions, name) == 0
    assert rows(sessions, job)["jobs"] == 0

    other = bob.post("/data/signals", data=weights, content_type="text/csv").get_json()
    assert service.api.delete(f"/data/signals/{other['signal_set_id']}").status_code == 204


def test_a_backtest_an_active_stress_test_reads_is_a_409(deploy, wait_for):
    service = deploy()
    service.workers.start()
    base = service.submit(spec())["execution_id"]
    assert wait_for(base, lambda r: r["status"] in DONE, timeout=120)["status"] == "completed"
    service.workers.stop_all()  # the stress test stays queued
    stress = service.api.post("/stress-test", json={"backtest_id": base,
                                                    "monte_carlo_iterations": 100})  # fmt: skip
    assert stress.status_code == 202, stress.get_json()
    stress_id = stress.get_json()["stress_test_id"]
    body = refused(service.api.delete(f"/jobs/{base}"), 409)
    assert body["active_jobs"] == [stress_id]
    assert service.api.post(f"/jobs/{stress_id}/cancel").status_code == 202
    assert service.api.delete(f"/jobs/{base}").status_code == 204
    assert service.api.delete(f"/jobs/{stress_id}").status_code == 204
