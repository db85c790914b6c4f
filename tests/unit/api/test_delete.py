"""``DELETE /jobs/{id}`` and ``DELETE /data/signals/{id}`` on the embedded SQLite store (its
foreign keys cascade only with ``PRAGMA foreign_keys``): what goes, what stays, who may, and
the per-process stored-bytes measurement forgotten (the PostgreSQL twin with workers is
``tests/integration/test_delete.py``)."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from api import create_app
from store import jobs, outbox, trials
from store.db import transaction
from store.keys import create_key
from store.models import Job, utcnow
from store.results import save_result
from store.signal_sets import save_signal_set
from store.usage import stored_bytes
from workers.settings import load_settings

SHAPE = {"code", "status", "message", "errors", "request_id"}
PREFIX = {"backtest": "bt", "optimization": "opt", "stress_test": "st"}
WORKLOAD = {"backtest": "backtest", "optimization": "optimize", "stress_test": "montecarlo"}


@pytest.fixture(scope="module")
def app(unit_store):
    settings, _ = unit_store
    env = {"NAUTILUS_VAR_DIR": str(settings.var_dir), "LOG_LEVEL": "WARNING"}
    # measured once an hour: only a forgotten measurement can see a delete
    return create_app(load_settings(env | {"NAUTILUS_QUOTA_STORED_CACHE": "3600"}))


@pytest.fixture(scope="module")
def ctx(app):
    return app.extensions["nautilus"]


class Owner:
    """A member key's owner and a test client sending that key."""

    def __init__(self, app, ctx, role: str = "member") -> None:
        self.name = f"del-{uuid.uuid4().hex[:8]}"
        with transaction(ctx.sessions) as session:
            _, key = create_key(session, self.name, role, ctx.settings.api_key_pepper)
        self.client = app.test_client()
        self.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"


@pytest.fixture
def alice(app, ctx):
    return Owner(app, ctx)


@pytest.fixture
def bob(app, ctx):
    return Owner(app, ctx)


@pytest.fixture
def admin(app, ctx):
    return Owner(app, ctx, "admin")


def add_job(ctx, owner: str, status: str, kind: str = "backtest", **spec) -> str:
    """A job row in ``status`` (completed: with a result, an outbox row and, for an
    optimization, trials), as the workers would have left it."""
    job_id = f"{PREFIX[kind]}_{uuid.uuid4().hex}"
    now = utcnow()
    ended = now if status in ("completed", "failed", "cancelled") else None
    values = {"id": job_id, "kind": kind, "status": status, "owner": owner,
              "spec": {"backtest_name": "kept", **spec}, "spec_hash": uuid.uuid4().hex,
              "workload": WORKLOAD[kind], "pool": "cpu", "queue": "backtest.cpu",
              "created_at": now, "updated_at": now, "finished_at": ended}  # fmt: skip
    with transaction(ctx.sessions) as session:
        jobs.insert_job(session, values)
        if status == "completed":
            document = {"equity": [100.0 + i for i in range(2000)]}
            save_result(session, job_id, document=document, sections={}, digest="d",
                        dataset_version=None)  # fmt: skip
            outbox.add(session, uuid.uuid4().hex, job_id, '{"unrelayed": true}')
            if kind == "optimization":
                stubs = [{"index": i, "params": {"fast": i}} for i in range(20)]
                trials.insert_trials(session, job_id, stubs, 0)
    return job_id


def count(ctx, table: str, job_id: str) -> int:
    with transaction(ctx.sessions) as session:
        query = sa.text(f"SELECT count(*) FROM {table} WHERE job_id = :id")
        return int(session.scalar(query, {"id": job_id}) or 0)


def usage(ctx, owner: str) -> int:
    with transaction(ctx.sessions) as session:
        return stored_bytes(session, owner)


def refused(response, code: int) -> dict:
    body = response.get_json()
    assert response.status_code == code, body
    assert set(body) >= SHAPE and body["code"] == code
    return body


@pytest.mark.parametrize("kind", ["backtest", "optimization"])
def test_an_ended_job_goes_with_its_result_and_trials_and_its_bytes(alice, ctx, kind):
    job_id = add_job(ctx, alice.name, "completed", kind)
    other = add_job(ctx, alice.name, "failed")
    measured = ctx.stored_bytes(alice.name)  # kept for an hour by this process
    assert measured == usage(ctx, alice.name) and count(ctx, "results", job_id) == 1

    response = alice.client.delete(f"/jobs/{job_id}")
    assert response.status_code == 204 and response.data == b""
    assert count(ctx, "results", job_id) == count(ctx, "optimization_trials", job_id) == 0
    path = {"backtest": "/backtests", "optimization": "/optimization"}[kind]
    assert refused(alice.client.get(f"{path}/{job_id}"), 404)
    assert job_id not in {j["id"] for j in alice.client.get("/jobs").get_json()["items"]}
    assert count(ctx, "event_outbox", job_id) == 1  # not relayed yet: the sweep still sends it
    assert ctx.stored_bytes(alice.name) == usage(ctx, alice.name) < measured - 2000
    assert refused(alice.client.delete(f"/jobs/{job_id}"), 404)  # gone: a second delete
    assert alice.client.get(f"/backtests/{other}").status_code == 200  # the others stay


@pytest.mark.parametrize("status", ["queued", "running", "cancelling"])
def test_an_active_job_is_a_409_and_stays(alice, ctx, status):
    job_id = add_job(ctx, alice.name, status)
    body = refused(alice.client.delete(f"/jobs/{job_id}"), 409)
    assert f"is {status}" in body["message"] and f"POST /jobs/{job_id}/cancel" in body["message"]
    assert alice.client.get(f"/backtests/{job_id}").get_json()["status"] == status


def test_a_cancelled_queued_job_can_then_be_deleted(alice, ctx):
    job_id = add_job(ctx, alice.name, "queued")
    with transaction(ctx.sessions) as session:  # what POST /jobs/{id}/cancel does to the row
        assert jobs.request_cancel(session, job_id) == ("cancelled", True)
    assert alice.client.delete(f"/jobs/{job_id}").status_code == 204


def test_another_owners_job_is_a_404_and_an_admin_deletes_any(alice, bob, admin, ctx):
    job_id = add_job(ctx, alice.name, "completed")
    body = refused(bob.client.delete(f"/jobs/{job_id}"), 404)
    assert job_id in body["message"]
    assert alice.client.get(f"/backtests/{job_id}").status_code == 200
    alice_measured = ctx.stored_bytes(alice.name)
    assert admin.client.delete(f"/jobs/{job_id}").status_code == 204
    assert ctx.stored_bytes(alice.name) < alice_measured  # the job owner's measurement went
    assert refused(admin.client.delete("/jobs/bt_unknown"), 404)


def test_a_backtest_an_active_stress_test_reads_is_a_409(alice, ctx):
    base = add_job(ctx, alice.name, "completed")
    stress = add_job(ctx, alice.name, "queued", "stress_test", backtest_id=base)
    body = refused(alice.client.delete(f"/jobs/{base}"), 409)
    assert stress in body["message"] and body["active_jobs"] == [stress]
    with transaction(ctx.sessions) as session:
        jobs.request_cancel(session, stress)
    assert alice.client.delete(f"/jobs/{base}").status_code == 204
    assert alice.client.delete(f"/jobs/{stress}").status_code == 204


def signal_set(ctx, owner: str) -> str:
    weights = pd.DataFrame(
        {"SPY": [0.5] * 300, "QQQ": [0.25] * 300},
        index=pd.date_range("2024-01-01", periods=300, freq="D"),
    )
    with transaction(ctx.sessions) as session:
        return save_signal_set(session, owner, "mine", "1d", weights).id


def test_a_signal_set_is_deleted_by_its_owner_unless_an_active_backtest_trades_it(
    alice, bob, admin, ctx
):
    set_id = signal_set(ctx, alice.name)
    ended = add_job(ctx, alice.name, "completed", signal_set_id=set_id)
    active = add_job(ctx, admin.name, "running", signal_set_id=set_id)  # an admin's may name it
    assert set_id in refused(bob.client.delete(f"/data/signals/{set_id}"), 404)["message"]
    body = refused(alice.client.delete(f"/data/signals/{set_id}"), 409)
    assert body["active_jobs"] == [active] and active in body["message"]
    assert ended not in body["message"]  # an ended backtest keeps its results, not the set

    with transaction(ctx.sessions) as session:
        jobs.request_cancel(session, active)  # running: cancelling, still active
    assert refused(alice.client.delete(f"/data/signals/{set_id}"), 409)
    with transaction(ctx.sessions) as session:  # its worker stopped it: cancelled
        session.execute(sa.update(Job).where(Job.id == active).values(status="cancelled"))
    measured = ctx.stored_bytes(alice.name)
    assert alice.client.delete(f"/data/signals/{set_id}").status_code == 204
    assert refused(alice.client.get(f"/data/signals/{set_id}"), 404)
    assert ctx.stored_bytes(alice.name) == usage(ctx, alice.name) < measured - 3000
    assert refused(alice.client.delete(f"/data/signals/{set_id}"), 404)
    assert count(ctx, "results", ended) == 1

    other = signal_set(ctx, bob.name)
    assert admin.client.delete(f"/data/signals/{other}").status_code == 204


def test_the_deletes_are_in_the_openapi_document(alice):
    paths = alice.client.get("/openapi.json").get_json()["paths"]
    for path in ("/jobs/{job_id}", "/data/signals/{signal_set_id}"):
        responses = paths[path]["delete"]["responses"]
        assert {"204", "404", "409"} <= set(responses), (path, responses)
