"""``/backtests``: submit, follow, read results, cancel and query backtest jobs.

``execution_id`` and ``backtest_id`` are the same job id, ``bt_<ULID>``: one job per submission.
"""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import Response, jsonify
from flask_smorest import Blueprint

from api.auth import caller, owner_scope
from api.cancel import cancel_job
from api.context import service
from api.dump import compile_dump
from api.errors import ErrorSchema, fail
from api.requests import accepted, idempotency_key, json_object, within_page_limit
from api.schemas import (
    BacktestStatusSchema,
    CancelResponseSchema,
    QueryRequestSchema,
    QueryResponseSchema,
    ResultsArgsSchema,
    SubmitResponseSchema,
    read_columns,
)
from api.submit import submit
from store import jobs
from store.job_query import JobQuery, search_jobs
from store.models import Job
from store.results import get_result, ordered_document
from workers.kinds import BACKTEST

blp = Blueprint("backtests", __name__, description="Backtest jobs")
ERRORS = {"schema": ErrorSchema}
STATUS_COLUMNS = read_columns(BacktestStatusSchema, "kind")
STATUS_DUMP = compile_dump(BacktestStatusSchema())
SUBMIT_DUMP = compile_dump(SubmitResponseSchema(), by_key=True)


@blp.route("/backtests", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": BACKTEST.schema_ref}}})
@blp.response(202, SubmitResponseSchema)
@blp.alt_response(400, **ERRORS)
@blp.alt_response(409, **ERRORS)
@blp.alt_response(422, **ERRORS)
def create_backtest() -> tuple[Response, int, dict[str, str]]:
    """Create a backtest job and queue it (202: it runs asynchronously)."""
    submission = submit(service(), BACKTEST, json_object(), idempotency_key(), caller())
    job = submission.job
    answer = jsonify(SUBMIT_DUMP(submitted(job)))  # the schema's dump, compiled
    return accepted(answer, BACKTEST.url(job.id), submission.created)


@blp.route("/backtests/<string:execution_id>", methods=["GET"])
@blp.response(200, BacktestStatusSchema)
@blp.alt_response(404, **ERRORS)
def get_backtest(execution_id: str) -> Response:
    """Status and progress of a backtest job."""
    with service().autocommit.connect() as conn:
        row = jobs.get_columns(conn, execution_id, STATUS_COLUMNS, owner_scope())
    return jsonify(STATUS_DUMP(found(row, execution_id)))  # the schema's dump, compiled


@blp.route("/backtests/<string:execution_id>/results", methods=["GET"])
@blp.arguments(ResultsArgsSchema, location="query")
@blp.response(200)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def get_results(args: dict[str, bool], execution_id: str) -> dict[str, Any]:
    """The result document of a completed backtest, with optional sections left out."""
    with service().reads() as session:
        job = found(jobs.get_job(session, execution_id, owner_scope()), execution_id)
        if job.status != jobs.COMPLETED:
            fail(409, f"backtest {execution_id} is {job.status}; results exist once completed")
        result = get_result(session, execution_id)
        if result is None:
            fail(409, f"backtest {execution_id} is completed but its result is not stored")
        document = ordered_document(result, args)
    return {**document, "execution_id": execution_id, "backtest_id": execution_id}


@blp.route("/backtests/<string:execution_id>/cancel", methods=["POST"])
@blp.response(202, CancelResponseSchema)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def cancel_backtest(execution_id: str) -> Job:
    """Cancel: a queued job ends now; a running one stops at its next progress point."""
    return cancel_job(execution_id, found)


@blp.route("/backtests/query", methods=["POST"])
@blp.arguments(QueryRequestSchema)
@blp.response(200, QueryResponseSchema)
@blp.alt_response(422, **ERRORS)
def query_backtests(args: dict[str, Any]) -> dict[str, Any]:
    """Backtests matching filters, sorted and paginated."""
    query = job_query(within_page_limit(args))
    with service().reads() as session:
        items, total = search_jobs(session, query)
    pages = ceil(total / query.page_size) if total else 0
    return {
        "items": items,
        "page": query.page,
        "page_size": query.page_size,
        "total": total,
        "pages": pages,
    }


def job_query(args: dict[str, Any]) -> JobQuery:
    filters = args["filters"]
    return JobQuery(
        owner=owner_scope(),
        statuses=tuple(filters.get("status", ())),
        backtest_type=filters.get("backtest_type"),
        strategy_id=canonical_strategy(filters.get("strategy_id")),
        name_contains=filters.get("backtest_name"),
        spec_hash=filters.get("spec_hash"),
        created_after=filters.get("created_after"),
        created_before=filters.get("created_before"),
        sort=tuple(args["sort"]),
        page=args["page"],
        page_size=args["page_size"],
    )


def canonical_strategy(strategy_id: str | None) -> str | None:
    """Jobs store the canonical id: an alias filter finds them (an unknown id finds none)."""
    from engine.errors import SpecError
    from engine.strategies import get_strategy

    if strategy_id is None:
        return None
    try:
        return get_strategy(strategy_id).id
    except SpecError:
        return strategy_id


def found(job: Any, execution_id: str) -> Any:
    if job is None or job.kind != BACKTEST.name:
        fail(404, f"no backtest with execution_id {execution_id!r}")
    return job


def submitted(job: Any) -> dict[str, Any]:
    minutes = service().mean_run_seconds()
    return {
        "status": job.status,
        "execution_id": job.id,
        "backtest_id": job.id,
        "backtest_name": job.name,
        "estimated_duration_minutes": round(minutes / 60.0, 4) if minutes is not None else None,
        "symbols_count": job.symbols_count,
        "hardware_acceleration_enabled": job.pool == "gpu",
        "queue": job.queue,
        "created_at": job.created_at,
        "links": {
            "status": f"/backtests/{job.id}",
            "results": f"/backtests/{job.id}/results",
            "cancel": f"/backtests/{job.id}/cancel",
        },
    }
