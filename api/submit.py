"""Accepting a backtest: validate the spec, route it, write the job row, enqueue after commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.context import ServiceContext
from api.errors import fail
from store import jobs
from store.db import transaction
from store.ids import new_id
from store.models import utcnow
from workers.dispatch import send_job
from workers.routing import Route, Workload, choose_route, estimate_bars

log = logging.getLogger(__name__)
KIND = "backtest"


@dataclass(frozen=True)
class Submission:
    job: Any  # the job row (columns as attributes)
    created: bool


def submit_backtest(
    ctx: ServiceContext, payload: Mapping[str, Any], idempotency_key: str | None
) -> Submission:
    """Create (or, for a repeated ``Idempotency-Key``, find) the job and enqueue it."""
    from api.data_gate import check_data, split_flag
    from engine.spec import parse_spec

    payload, proceed = split_flag(payload)
    spec = parse_spec(payload)
    check_data(ctx, spec, proceed)
    route = route_for(ctx, spec)
    values = job_values(ctx, spec, route, idempotency_key)
    return insert_and_enqueue(ctx, values)


def insert_and_enqueue(ctx: ServiceContext, values: dict[str, Any]) -> Submission:
    """Insert the job row (or find it by its idempotency key), then enqueue a new job after the
    commit; a reused key with another body is a 409."""
    with transaction(ctx.sessions) as session:
        job, created = jobs.insert_job(session, values)
    if not created:
        if job.spec_hash != values["spec_hash"]:
            fail(409, "this Idempotency-Key was already used with a different request body")
        return Submission(job, created=False)
    enqueue(ctx, job)
    return Submission(job, created=True)


def route_for(ctx: ServiceContext, spec: Any) -> Route:
    symbols = set(spec.symbols) | ({spec.benchmark_symbol} if spec.benchmark_symbol else set())
    bars = estimate_bars(spec.start_date, spec.end_date, spec.frequency)
    work = Workload(KIND, len(symbols) * bars, bool(spec.hardware_acceleration_requested))
    return choose_route(work, ctx.live_pools(), ctx.settings.gpu_min_cells)


def job_values(
    ctx: ServiceContext, spec: Any, route: Route, idempotency_key: str | None
) -> dict[str, Any]:
    return {
        **new_job_fields(ctx, KIND, KIND, route, idempotency_key),
        "symbols_count": len(spec.symbols),
        "acceleration_requested": bool(spec.hardware_acceleration_requested),
        "name": spec.backtest_name,
        "backtest_type": spec.backtest_type,
        "strategy_id": spec.strategy_id,
        "spec": spec.to_payload(),
        "spec_hash": spec.content_hash(),
    }


def new_job_fields(
    ctx: ServiceContext, kind: str, workload: str, route: Route, idempotency_key: str | None
) -> dict[str, Any]:
    """The bookkeeping every new job row starts with: id, state, route, attempts, times."""
    now = utcnow()
    return {
        "id": new_id(kind),
        "kind": kind,
        "status": jobs.QUEUED,
        "idempotency_key": idempotency_key,
        "workload": workload,
        "pool": route.pool,
        "queue": route.queue,
        "task_id": uuid.uuid4().hex,
        "progress_percentage": 0.0,
        "attempts": 0,
        "max_attempts": ctx.settings.max_attempts,
        "created_at": now,
        "enqueued_at": now,
        "updated_at": now,
    }


def enqueue(ctx: ServiceContext, job: Any) -> None:
    """Send the job's message; if the broker refuses, the reconciler sends it later."""
    try:
        send_job(ctx.celery, job.kind, job.id, job.queue, job.task_id or job.id)
    except Exception as exc:  # the row is committed: the job is accepted either way
        log.error("could not enqueue %s (the reconciler will retry): %s", job.id, exc)
        with transaction(ctx.sessions) as session:
            jobs.mark_unsent(session, job.id)
