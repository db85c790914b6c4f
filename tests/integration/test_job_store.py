"""Guarded state transitions and idempotent writes, on PostgreSQL and on the embedded SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store import jobs
from store.db import make_engine, make_session_factory, transaction
from store.models import utcnow
from store.results import get_result, save_result
from store.schema import upgrade
from workers.kinds import BACKTEST

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
        upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def values(**overrides):
    now = utcnow()
    base = {
        "id": BACKTEST.new_id(),
        "kind": "backtest",
        "owner": "it",
        "status": "queued",
        "spec": {"a": 1},
        "spec_hash": "0" * 64,
        "workload": "backtest",
        "pool": "cpu",
        "queue": "backtest.cpu",
        "max_attempts": 2,
        "attempts": 0,
        "progress_percentage": 0.0,
        "symbols_count": 1,
        "acceleration_requested": False,
        "created_at": now,
        "updated_at": now,
    }
    return base | overrides


def insert(sessions, **overrides) -> str:
    with transaction(sessions) as session:
        job, created = jobs.insert_job(session, values(**overrides))
    assert created
    return job.id


def stored_columns(sessions, job_id: str) -> dict:
    with transaction(sessions) as session:
        job = jobs.get_job(session, job_id)
        return {name: getattr(job, name) for name in jobs.SUBMITTED}


def test_a_new_job_answers_what_was_stored(sessions):
    given = values(name="answered", task_id="t-1", summary={"cells": 3, "grid": [1.5, 2]})
    with transaction(sessions) as session:
        job, created = jobs.insert_job(session, given)
    assert created and job._asdict() == stored_columns(sessions, job.id)


def test_columns_left_to_their_defaults_come_back_from_the_database(sessions):
    given = values()  # no name, task_id or summary: the columns' defaults (NULL)
    with transaction(sessions) as session:
        job, _ = jobs.insert_job(session, given)
    assert (job.name, job.task_id, job.summary) == (None, None, None)
    assert job.id == given["id"] and job.spec_hash == given["spec_hash"]


def test_idempotency_key_inserts_once(sessions):
    key = BACKTEST.new_id()
    with transaction(sessions) as session:
        first, created = jobs.insert_job(session, values(idempotency_key=key))
    with transaction(sessions) as session:
        again, created_again = jobs.insert_job(session, values(idempotency_key=key))
    assert created and not created_again and again == first


def test_only_one_delivery_claims_a_job(sessions):
    job_id = insert(sessions)
    stale_before = utcnow() - timedelta(seconds=30)
    with transaction(sessions) as s:
        assert jobs.claim(s, job_id, lease_id="a", worker="w1", stale_before=stale_before)
    with transaction(sessions) as s:
        assert not jobs.claim(s, job_id, lease_id="b", worker="w2", stale_before=stale_before)
    with transaction(sessions) as s:  # a stale heartbeat frees it: the second attempt claims
        assert jobs.claim(s, job_id, lease_id="b", worker="w2", stale_before=utcnow())
    with transaction(sessions) as s:  # out of attempts (max 2): nobody claims any more
        assert not jobs.claim(s, job_id, lease_id="c", worker="w3", stale_before=utcnow())
        assert jobs.get_job(s, job_id).attempts == 2


def test_the_lease_fences_progress_and_completion(sessions):
    job_id = insert(sessions)
    with transaction(sessions) as s:
        jobs.claim(s, job_id, lease_id="old", worker="w", stale_before=utcnow())
    with transaction(sessions) as s:  # the job is taken over after a crash
        jobs.claim(s, job_id, lease_id="new", worker="w", stale_before=utcnow())
    with transaction(sessions) as s:
        assert jobs.touch(s, job_id, "old", progress_percentage=50.0) is None
        assert not jobs.finish(s, job_id, "old", jobs.COMPLETED)
        assert jobs.touch(s, job_id, "new", progress_percentage=50.0) == jobs.RUNNING
        assert jobs.finish(s, job_id, "new", jobs.COMPLETED)
    with transaction(sessions) as s:
        assert not jobs.finish(s, job_id, "new", jobs.FAILED)  # terminal stays terminal
        assert jobs.get_job(s, job_id).status == jobs.COMPLETED


def test_cancel_transitions(sessions):
    queued, running = insert(sessions), insert(sessions)
    with transaction(sessions) as s:
        jobs.claim(s, running, lease_id="l", worker="w", stale_before=utcnow())
    with transaction(sessions) as s:
        assert jobs.request_cancel(s, queued) == (jobs.CANCELLED, True)
        assert jobs.request_cancel(s, queued) == (jobs.CANCELLED, False)
        assert jobs.request_cancel(s, running) == (jobs.CANCELLING, True)
        assert jobs.touch(s, running, "l") == jobs.CANCELLING
        assert jobs.request_cancel(s, "bt_missing") == (None, False)


def test_reconciler_transitions_need_a_stale_heartbeat(sessions):
    job_id = insert(sessions)
    with transaction(sessions) as s:
        jobs.claim(s, job_id, lease_id="l", worker="w", stale_before=utcnow())
    long_ago = utcnow() - timedelta(hours=1)
    with transaction(sessions) as s:
        assert job_id not in [j.id for j in jobs.stale_jobs(s, long_ago)]
        assert not jobs.requeue_stale(s, job_id, long_ago)
        assert not jobs.fail_abandoned(s, job_id, {"code": "x"}, long_ago)
    later = utcnow() + timedelta(seconds=1)
    with transaction(sessions) as s:
        assert job_id in [j.id for j in jobs.stale_jobs(s, later, limit=10_000)]
        assert jobs.requeue_stale(s, job_id, later)
        assert jobs.get_job(s, job_id).status == jobs.QUEUED


def test_result_upsert_keeps_one_row(sessions):
    job_id = insert(sessions)
    for digest in ("a" * 64, "b" * 64):
        with transaction(sessions) as s:
            save_result(
                s, job_id, document={"d": digest}, sections={}, digest=digest, dataset_version="v1"
            )
    with transaction(sessions) as s:
        result = get_result(s, job_id)
        assert (result.digest, result.document) == ("b" * 64, {"d": "b" * 64})
        assert result.created_at.tzinfo is not None
