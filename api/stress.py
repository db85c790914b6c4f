"""``/stress-test``: submit a stress test (scenarios and Monte Carlo) and follow it.

``stress_test_id`` is the job id, ``st_<ULID>``. The request is validated by
``engine.stress.parse_stress_request``; the job runs ``tasks.stress`` on the ``montecarlo``
queue of the pool the router picks. Views read PostgreSQL, never the broker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from flask_smorest import Blueprint
from marshmallow import INCLUDE, Schema, fields

from api.context import ServiceContext, service
from api.errors import ErrorSchema, fail
from api.optimization_documents import iso
from api.requests import accepted, idempotency_key, json_object
from api.submit import Submission, insert_and_enqueue, new_job_fields
from store import jobs
from store.db import transaction
from store.models import Job
from store.results import get_result, ordered_document
from workers.routing import Route, Workload, choose_route

blp = Blueprint("stress", __name__, description="Stress tests: scenarios and Monte Carlo")
ERRORS = {"schema": ErrorSchema}
KIND = "stress_test"
WORKLOAD = "montecarlo"


class StressRequestSchema(Schema):
    """The request body (documentation only; ``parse_stress_request`` validates it)."""

    class Meta:
        unknown = INCLUDE

    backtest_id = fields.String(metadata={"example": "bt_01JD0X3V4S9M2C7QK3Y1T8F6ZP"})
    portfolio = fields.Dict(metadata={"example": {"SPY": 0.6, "TLT": 0.4}})
    initial_value = fields.Float(metadata={"example": 100000})
    scenarios = fields.List(
        fields.Raw(),
        metadata={"example": ["2008_financial_crisis", {"name": "Market Crash Scenario",
                  "market_shocks": {"SPY": -40.0}, "volatility_multipliers": {"SPY": 3.0},
                  "probability": 0.05}]},
    )  # fmt: skip
    include_monte_carlo = fields.Boolean(metadata={"example": True})
    monte_carlo_iterations = fields.Integer(metadata={"example": 10000})
    horizon_days = fields.Integer(metadata={"example": 252})
    seed = fields.Integer(metadata={"example": 42})
    method = fields.String(metadata={"enum": ["parametric_normal", "parametric_t", "bootstrap"]})


@blp.route("/stress-test", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": StressRequestSchema}}})
@blp.response(202)
@blp.alt_response(400, **ERRORS)
@blp.alt_response(409, **ERRORS)
@blp.alt_response(422, **ERRORS)
def create_stress_test() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a stress test (202: it runs asynchronously on the Monte Carlo queue)."""
    submission = submit_stress_test(service(), json_object(), idempotency_key())
    job = submission.job
    return accepted(submitted(job), f"/stress-test/{job.id}", submission.created)


@blp.route("/stress-test/<string:stress_test_id>", methods=["GET"])
@blp.response(200)
@blp.alt_response(404, **ERRORS)
def get_stress_test(stress_test_id: str) -> dict[str, Any]:
    """Status of a stress test and, once completed, its results."""
    with transaction(service().sessions) as session:
        job = jobs.get_job(session, stress_test_id)
        if job is None or job.kind != KIND:
            fail(404, f"no stress test with id {stress_test_id!r}")
        result = get_result(session, stress_test_id)
        return status_document(job, ordered_document(result) if result is not None else None)


def submit_stress_test(
    ctx: ServiceContext, payload: Mapping[str, Any], idempotency_key: str | None
) -> Submission:
    """Create (or, for a repeated ``Idempotency-Key``, find) the job and enqueue it."""
    from engine.stress import parse_stress_request

    stress = parse_stress_request(payload)
    n_symbols = (
        base_symbols(ctx, stress.backtest_id) if not stress.inline else len(stress.portfolio)
    )
    if stress.inline:
        check_inline_data(ctx, stress)
    values = job_values(ctx, stress, n_symbols, route_for(ctx, stress, n_symbols), idempotency_key)
    return insert_and_enqueue(ctx, values)


def base_symbols(ctx: ServiceContext, backtest_id: str) -> int:
    """The base backtest's symbol count; it must exist and have completed."""
    from engine.errors import SpecError

    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, backtest_id)
        if job is None or job.kind != "backtest":
            raise SpecError.single("backtest_id", f"no backtest with id {backtest_id!r}")
        if job.status != jobs.COMPLETED:
            fail(409, f"backtest {backtest_id} is {job.status}; stress tests need a completed one")
        return job.symbols_count


def check_inline_data(ctx: ServiceContext, stress: Any) -> None:
    """Stored history must be present and usable (synthetic data needs no check)."""
    from api.data_gate import check_data
    from engine.stress_inputs import inline_window

    check_data(ctx, inline_window(stress).without_benchmark(), proceed=False)


def route_for(ctx: ServiceContext, stress: Any, n_symbols: int) -> Route:
    """Cells are the values simulated: paths x days x symbols, per Monte Carlo run."""
    runs = 1 + sum(1 for s in stress.scenarios if s.volatility_multipliers or s.builtin)
    simulated = stress.monte_carlo_iterations * stress.horizon_days * max(n_symbols, 1) * runs
    cells = simulated if stress.include_monte_carlo else n_symbols
    return choose_route(Workload(WORKLOAD, cells), ctx.live_pools(), ctx.settings.gpu_min_cells)


def job_values(
    ctx: ServiceContext, stress: Any, n_symbols: int, route: Route, idempotency_key: str | None
) -> dict[str, Any]:
    base = "inline portfolio" if stress.inline else stress.backtest_id
    payload = stress.to_payload()
    return {
        **new_job_fields(ctx, KIND, WORKLOAD, route, idempotency_key),
        "symbols_count": n_symbols,
        "acceleration_requested": False,
        "name": f"stress test of {base}"[:200],
        "backtest_type": KIND,
        "strategy_id": None,
        "spec": payload,
        "spec_hash": hashlib.sha256(stress.canonical_json().encode()).hexdigest(),
    }


def submitted(job: Any) -> dict[str, Any]:
    return {
        "status": job.status,
        "stress_test_id": job.id,
        "queue": job.queue,
        "hardware_acceleration_enabled": job.pool == "gpu",
        "created_at": iso(job.created_at),
        "links": {"status": f"/stress-test/{job.id}"},
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
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "processing_time_ms": job.processing_time_ms,
        "error": job.error,
        "request": job.spec,
        "results": document if job.status == jobs.COMPLETED else None,
    }
