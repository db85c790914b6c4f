"""``/stress-test``: submit a stress test (scenarios and Monte Carlo) and follow it.

``stress_test_id`` is the job id, ``st_<ULID>``. The request is validated by
``engine.stress.parse_stress_request``; the job runs ``tasks.stress`` on the ``montecarlo``
queue of the pool the router picks. Views read PostgreSQL, never the broker.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import caller, owner_scope
from api.context import service
from api.errors import ErrorSchema, fail
from api.requests import accepted, idempotency_key, json_object
from api.submit import submit
from store import jobs
from store.db import transaction
from store.models import Job
from store.results import get_result, ordered_document
from workers.kinds import STRESS_TEST
from workers.timestamps import iso_utc

blp = Blueprint("stress", __name__, description="Stress tests: scenarios and Monte Carlo")
ERRORS = {"schema": ErrorSchema}


@blp.route("/stress-test", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": STRESS_TEST.schema_ref}}})
@blp.response(202)
@blp.alt_response(400, **ERRORS)
@blp.alt_response(409, **ERRORS)
@blp.alt_response(422, **ERRORS)
def create_stress_test() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a stress test (202: it runs asynchronously on the Monte Carlo queue)."""
    submission = submit(service(), STRESS_TEST, json_object(), idempotency_key(), caller())
    job = submission.job
    return accepted(submitted(job), STRESS_TEST.url(job.id), submission.created)


@blp.route("/stress-test/<string:stress_test_id>", methods=["GET"])
@blp.response(200)
@blp.alt_response(404, **ERRORS)
def get_stress_test(stress_test_id: str) -> dict[str, Any]:
    """Status of a stress test and, once completed, its results."""
    with transaction(service().sessions) as session:
        job = jobs.get_job(session, stress_test_id, owner_scope())
        if job is None or job.kind != STRESS_TEST.name:
            fail(404, f"no stress test with id {stress_test_id!r}")
        result = get_result(session, stress_test_id)
        return status_document(job, ordered_document(result) if result is not None else None)


def submitted(job: Any) -> dict[str, Any]:
    return {
        "status": job.status,
        "stress_test_id": job.id,
        "queue": job.queue,
        "hardware_acceleration_enabled": job.pool == "gpu",
        "created_at": iso_utc(job.created_at),
        "links": {"status": STRESS_TEST.url(job.id)},
    }


def status_document(job: Job, document: dict[str, Any] | None) -> dict[str, Any]:
    """``GET /stress-test/{id}``: the job's state and, once completed, the results."""
    return {
        "stress_test_id": job.id,
        "status": job.status,
        "progress_percentage": job.progress_percentage,
        "progress_message": job.progress_message,
        "queue": job.queue,
        "hardware_used": job.hardware_used,
        "attempts": job.attempts,
        "created_at": iso_utc(job.created_at),
        "started_at": iso_utc(job.started_at),
        "finished_at": iso_utc(job.finished_at),
        "processing_time_ms": job.processing_time_ms,
        "error": job.error,
        "request": job.spec,
        "results": document if job.status == jobs.COMPLETED else None,
    }
