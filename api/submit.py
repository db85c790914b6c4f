"""Accepting a job of any kind: read its request, route it, write its row, enqueue after commit.

One path for every kind (``workers.kinds``): the kind's request parser reports every problem
of a body in one 422 (looking up stored backtests and data through ``DatabaseResolver``); the
router picks the pool from the request's work size; the row is inserted (or found again by its
``Idempotency-Key``) and the task is sent only once the row has committed.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.admission import check_stored, check_work, over_quota
from api.context import ServiceContext
from api.errors import fail
from api.resolver import DatabaseResolver, split_flag
from store import jobs
from store.db import transaction
from store.keys import Principal
from store.models import utcnow
from workers.dispatch import send_job
from workers.kinds import JobKind, kind_named
from workers.routing import Route, Workload, choose_route

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    job: jobs.SubmittedJob
    created: bool


def submit(
    ctx: ServiceContext,
    kind: JobKind,
    payload: Mapping[str, Any],
    idempotency_key: str | None,
    caller: Principal,
) -> Submission:
    """Create (or, for a repeated ``Idempotency-Key``, find) the caller's job and enqueue it;
    work over its kind's limit (422), an owner over their stored bytes (422) or queued jobs
    (429) stores nothing."""
    from engine.canonical import content_hash

    body, proceed = split_flag(payload)
    scope = None if caller.admin else caller.owner  # whose backtests the request may name
    request = kind.parse_request()(body, DatabaseResolver(ctx, scope, proceed))
    labels = request.job_labels()
    check_work(ctx, kind, labels.cells)
    check_stored(ctx, caller.owner)
    if idempotency_key is not None:
        idempotency_key = owned_key(caller.owner, idempotency_key)
    work = Workload(kind.workload, labels.cells, labels.acceleration_requested)
    route = choose_route(work, ctx.live_pools(), ctx.settings.gpu_min_cells)
    stored = request.to_payload()
    values = {
        **new_job_fields(ctx, kind, route, idempotency_key),
        "owner": caller.owner,
        "symbols_count": labels.symbols_count,
        "acceleration_requested": labels.acceleration_requested,
        "name": labels.name,
        "backtest_type": labels.backtest_type,
        "strategy_id": labels.strategy_id,
        "spec": stored,
        "spec_hash": content_hash(stored),
        "summary": dict(labels.summary) if labels.summary is not None else None,
    }
    return insert_and_enqueue(ctx, values)


def insert_and_enqueue(ctx: ServiceContext, values: dict[str, Any]) -> Submission:
    """Insert the job row (or find it by its idempotency key), then enqueue a new job after the
    commit; a reused key with another body is a 409."""
    try:
        with ctx.autocommit.begin() as conn:  # one statement: quota, insert and key at once
            job, created = jobs.insert_job(conn, values, ctx.settings.quota_queued_jobs)
    except jobs.QuotaExceeded as exc:
        over_quota(ctx, values["owner"], exc.queued)
    if not created:
        if job.spec_hash != values["spec_hash"] or job.kind != values["kind"]:
            fail(409, "this Idempotency-Key was already used with a different request body")
        return Submission(job, created=False)
    enqueue(ctx, job)
    return Submission(job, created=True)


def owned_key(owner: str, key: str) -> str:
    """What the row stores for an ``Idempotency-Key``: a digest of the owner and the key, so
    two owners' keys never meet (and the stored value fits its column whatever the key)."""
    return hashlib.sha256(f"{owner}\0{key}".encode()).hexdigest()


def new_job_fields(
    ctx: ServiceContext, kind: JobKind, route: Route, idempotency_key: str | None
) -> dict[str, Any]:
    """The bookkeeping every new job row starts with: id, state, route, attempts, times."""
    now = utcnow()
    return {
        "id": kind.new_id(),
        "kind": kind.name,
        "status": jobs.QUEUED,
        "idempotency_key": idempotency_key,
        "workload": kind.workload,
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


def enqueue(ctx: ServiceContext, job: jobs.SubmittedJob) -> None:
    """Send the job's message; if the broker refuses, the reconciler sends it later."""
    try:
        send_job(ctx.celery, kind_named(job.kind), job.id, job.queue, job.task_id or job.id)
    except Exception as exc:  # the row is committed: the job is accepted either way
        log.error("could not enqueue %s (the reconciler will retry): %s", job.id, exc)
        with transaction(ctx.sessions) as session:
            jobs.mark_unsent(session, job.id)
