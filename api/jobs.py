"""``/jobs`` and ``/leaderboard``: every kind of job in one list, cancel or delete any of them,
and the completed backtests ranked by any metric of ``engine.metric_table`` (the dashboard's
data)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import owner_scope
from api.cancel import cancel_job
from api.context import service
from api.errors import ErrorSchema, fail
from store import jobs
from store.db import transaction
from store.job_list import JobFilter, list_jobs
from store.job_query import JobQuery, search_jobs
from store.models import COMPLETED, STATUSES, Job
from workers.kinds import BACKTEST, KINDS, STRESS_TEST, kind_named
from workers.timestamps import iso_utc

blp = Blueprint("jobs", __name__, description="Jobs of every kind, and the leaderboard")
ERRORS = {"schema": ErrorSchema}


def _metric_names() -> list[str]:
    from engine.metric_table import BY_NAME

    return list(BY_NAME)


class JobsArgsSchema(Schema):
    kind = fields.String(validate=validate.OneOf(list(KINDS)))
    status = fields.String(validate=validate.OneOf(STATUSES))
    strategy_id = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class LeaderboardArgsSchema(Schema):
    metric = fields.String(load_default="sharpe_ratio", validate=validate.OneOf(_metric_names()))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


def links(job: Any) -> dict[str, str]:
    base = KINDS[job.kind].url(job.id)
    return {
        "status": base,
        "report": f"{base}/report",
        "cancel": f"/jobs/{job.id}/cancel",
        "delete": f"/jobs/{job.id}",
    }


def job_item(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "name": job.name,
        "strategy_id": job.strategy_id,
        "status": job.status,
        "progress_percentage": job.progress_percentage,
        "progress_message": job.progress_message,
        "queue": job.queue,
        "created_at": iso_utc(job.created_at),
        "finished_at": iso_utc(job.finished_at),
        "links": links(job),
    }


@blp.route("/jobs", methods=["GET"])
@blp.arguments(JobsArgsSchema, location="query")
@blp.response(200)
@blp.alt_response(422, **ERRORS)
def get_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """The newest jobs of every kind, filtered by kind, status and strategy."""
    with service().reads() as session:
        found = list_jobs(session, JobFilter(**args, owner=owner_scope()))
        return {"items": [job_item(job) for job in found]}


@blp.route("/jobs/<string:job_id>/cancel", methods=["POST"])
@blp.response(202)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def cancel_any(job_id: str) -> dict[str, Any]:
    """Cancel a job of any kind (as its kind's own cancel endpoint does)."""
    return job_item(cancel_job(job_id, _found))


@blp.route("/jobs/<string:job_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def delete_any(job_id: str) -> Response:
    """Delete a job of any kind that has ended (completed, failed or cancelled) with everything
    stored for it: its request, result and trials (its bytes no longer count to its owner's
    ``NAUTILUS_QUOTA_STORED_BYTES``). A queued or running job is a 409: cancel it first; so is
    a backtest that a queued or running stress test reads. Events already published stay
    published; those not yet relayed are still relayed."""
    ctx = service()
    with transaction(ctx.sessions) as session:
        job = _found(jobs.get_job(session, job_id, owner_scope()), job_id)  # 404 before a change
        owner, label = job.owner, kind_named(job.kind).label
        readers = jobs.active_naming(session, "backtest_id", job_id, (STRESS_TEST.name,))
        if readers:  # a stress test reads its backtest's result when it runs
            fail(409, f"{label} {job_id} is read by queued or running stress tests "
                      f"({', '.join(readers)}); delete it once they have ended, or cancel them",
                 extra={"active_jobs": readers})  # fmt: skip
        status, deleted = jobs.delete_ended(session, job_id)
    if status is None:  # deleted by another request meanwhile
        fail(404, f"no job with id {job_id!r}")
    if not deleted:
        then = "wait until it is cancelled" if status == jobs.CANCELLING else "cancel it first"
        fail(409, f"{label} {job_id} is {status}; only a job that has ended (completed, failed, "
                  f"cancelled) can be deleted: {then} (POST /jobs/{job_id}/cancel)")  # fmt: skip
    ctx.forget_stored(owner)
    return Response(status=204)


def _found(job: Job | None, job_id: str) -> Job:
    if job is None or job.kind not in KINDS:
        fail(404, f"no job with id {job_id!r}")
    return job


@blp.route("/leaderboard", methods=["GET"])
@blp.arguments(LeaderboardArgsSchema, location="query")
@blp.response(200)
@blp.alt_response(422, **ERRORS)
def leaderboard(args: dict[str, Any]) -> dict[str, Any]:
    """Completed backtests, best first by ``metric`` (in the direction the metric table gives)."""
    from engine.metric_table import BY_NAME

    info = BY_NAME[args["metric"]]
    query = JobQuery(
        kind=BACKTEST.name,
        owner=owner_scope(),
        statuses=(COMPLETED,),
        sort=(info.better_first,),
        page_size=args["limit"],
    )
    with service().reads() as session:
        rows, _ = search_jobs(session, query)
        items = [_entry(job, info.name) for job in rows]
    return {"metric": info.name, "label": info.label, "unit": info.unit,
            "direction": info.direction, "items": items}  # fmt: skip


def _entry(job: Job, metric: str) -> dict[str, Any]:
    statistics = job.metrics or {}
    return {
        "id": job.id,
        "name": job.name,
        "strategy_id": job.strategy_id,
        "finished_at": iso_utc(job.finished_at),
        "value": statistics.get(metric),
        "statistics": statistics,
        "links": {
            "report": f"{BACKTEST.url(job.id)}/report",
            "results": BACKTEST.results_url(job.id),
        },
    }
