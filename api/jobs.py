"""``/jobs`` and ``/leaderboard``: every kind of job in one list, cancel any of them, and the
completed backtests ranked by any metric of ``engine.metric_table`` (the dashboard's data)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.cancel import cancel_job
from api.context import service
from api.errors import ErrorSchema, fail
from api.optimization_documents import iso
from store.job_list import JobFilter, completed_statistics, list_jobs
from store.models import STATUSES, Job

blp = Blueprint("jobs", __name__, description="Jobs of every kind, and the leaderboard")
ERRORS = {"schema": ErrorSchema}
KINDS = {"backtest": "/backtests", "optimization": "/optimization", "stress_test": "/stress-test"}


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
    base = f"{KINDS[job.kind]}/{job.id}"
    return {"status": base, "report": f"{base}/report", "cancel": f"/jobs/{job.id}/cancel"}


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
        "created_at": iso(job.created_at),
        "finished_at": iso(job.finished_at),
        "links": links(job),
    }


@blp.route("/jobs", methods=["GET"])
@blp.arguments(JobsArgsSchema, location="query")
@blp.response(200)
@blp.alt_response(422, **ERRORS)
def get_jobs(args: dict[str, Any]) -> dict[str, Any]:
    """The newest jobs of every kind, filtered by kind, status and strategy."""
    with service().reads() as session:
        found = list_jobs(session, JobFilter(**args))
        return {"items": [job_item(job) for job in found]}


@blp.route("/jobs/<string:job_id>/cancel", methods=["POST"])
@blp.response(202)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def cancel_any(job_id: str) -> dict[str, Any]:
    """Cancel a job of any kind (as its kind's own cancel endpoint does)."""
    return job_item(cancel_job(job_id, _found, "job"))


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
    with service().reads() as session:
        rows = completed_statistics(session)
    rows.sort(key=lambda row: info.rank_key((row["statistics"] or {}).get(info.name)))
    items = [_entry(row, info.name) for row in rows[: args["limit"]]]
    return {"metric": info.name, "label": info.label, "unit": info.unit,
            "direction": info.direction, "items": items}  # fmt: skip


def _entry(row: dict[str, Any], metric: str) -> dict[str, Any]:
    statistics = row["statistics"] or {}
    return {
        "id": row["id"],
        "name": row["name"],
        "strategy_id": row["strategy_id"],
        "finished_at": iso(row["finished_at"]),
        "value": statistics.get(metric),
        "statistics": statistics,
        "links": {
            "report": f"/backtests/{row['id']}/report",
            "results": f"/backtests/{row['id']}/results",
        },
    }
