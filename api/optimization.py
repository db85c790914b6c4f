"""``/optimization``: submit a parameter optimization, follow it, page its trials, map them.

``optimization_id`` is the job id, ``opt_<ULID>``. The job runs as a Celery chord (see
``tasks/optimize.py``); every view reads PostgreSQL, never the broker.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import LRUCache
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import caller, owner_scope
from api.cancel import cancel_job
from api.context import service
from api.errors import ErrorSchema, fail
from api.optimization_documents import status_document, submitted, trials_page
from api.requests import MAX_PAGE, accepted, idempotency_key, json_object, within_page_limit
from api.submit import submit
from store import jobs, trials
from store.db import transaction
from store.models import Job
from store.results import get_result
from workers.kinds import OPTIMIZATION

blp = Blueprint("optimization", __name__, description="Parameter optimization jobs")
ERRORS = {"schema": ErrorSchema}
_progress: LRUCache[tuple[str, Any], trials.Progress] = LRUCache(maxsize=1024)
_progress_lock = threading.Lock()
EXTRA_SORTS = ("index", "score", "final_equity", "orders", "trades", "win_rate", "profit_factor")


def _sortable() -> list[str]:
    from engine.metrics import BENCHMARK_KEYS, METRIC_KEYS

    return [*EXTRA_SORTS, *METRIC_KEYS, *BENCHMARK_KEYS]


class TrialsArgsSchema(Schema):
    window = fields.String(metadata={"description": "a validation window; default: selection"})
    sort = fields.String(load_default="score", validate=validate.OneOf(_sortable()))
    order = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1),
        metadata={"description": "at most NAUTILUS_MAX_PAGE_SIZE (default 200)"},
    )


class HeatmapArgsSchema(Schema):
    x = fields.String(metadata={"description": "a searched parameter; default: the first"})
    y = fields.String(metadata={"description": "another one; default: the second"})
    window = fields.String(metadata={"description": "a validation window; default: selection"})


@blp.route("/optimization/parameters", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": OPTIMIZATION.schema_ref}}})
@blp.response(202)
@blp.alt_response(400, **ERRORS)
@blp.alt_response(409, **ERRORS)
@blp.alt_response(422, **ERRORS)
def optimize_parameters() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Start a parameter optimization (202: it runs asynchronously as a chord of batches)."""
    ctx = service()
    submission = submit(ctx, OPTIMIZATION, json_object(), idempotency_key(), caller())
    with transaction(ctx.sessions) as session:
        mean = jobs.job_stats(session, OPTIMIZATION.name).mean_run_seconds
    job = submission.job
    return accepted(submitted(job, mean), OPTIMIZATION.url(job.id), submission.created)


@blp.route("/optimization/<string:optimization_id>", methods=["GET"])
@blp.response(200)
@blp.alt_response(404, **ERRORS)
def get_optimization(optimization_id: str) -> dict[str, Any]:
    """Status, progress and (once completed, or cancelled with best-so-far) the results."""
    with transaction(service().sessions) as session:
        job = found(jobs.get_job(session, optimization_id, owner_scope()), optimization_id)
        progress = trial_progress(session, job)
        result = get_result(session, optimization_id)
        return status_document(job, progress, result)


def trial_progress(session: Any, job: Job) -> trials.Progress:
    """The job's trial counts and best trial so far, counted again only when its row has
    changed: a batch's scores are followed by its progress write, so a client polling a
    running optimization costs a row read, not a count over its trials (a database load that
    competes with the workers for the same cores)."""
    key = (job.id, job.updated_at)
    with _progress_lock:
        known = _progress.get(key)
    if known is None:
        known = trials.progress(session, job.id)
        with _progress_lock:
            _progress[key] = known
    return known


@blp.route("/optimization/<string:optimization_id>/trials", methods=["GET"])
@blp.arguments(TrialsArgsSchema, location="query")
@blp.response(200)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(422, **ERRORS)
def list_trials(args: dict[str, Any], optimization_id: str) -> dict[str, Any]:
    """Scored trials, one page at a time, sorted by the target score or any metric."""
    within_page_limit(args)
    with transaction(service().sessions) as session:
        job = found(jobs.get_job(session, optimization_id, owner_scope()), optimization_id)
        window = window_of(job, args.get("window"))
        items, total = trials.page_trials(
            session,
            optimization_id,
            window=window,
            sort=args["sort"],
            descending=args["order"] == "desc",
            page=args["page"],
            page_size=args["page_size"],
        )
    target = summary_of(job)["optimization_target"]
    return trials_page(items, total, args, window, target)


@blp.route("/optimization/<string:optimization_id>/heatmap", methods=["GET"])
@blp.arguments(HeatmapArgsSchema, location="query")
@blp.response(200)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(422, **ERRORS)
def get_heatmap(args: dict[str, Any], optimization_id: str) -> dict[str, Any]:
    """The target over two searched parameters (each cell: its best trial)."""
    from engine.optimize.results import heatmap
    from engine.optimize.targets import Target

    with transaction(service().sessions) as session:
        job = found(jobs.get_job(session, optimization_id, owner_scope()), optimization_id)
        scored = trials.all_trials(session, optimization_id)
    info = summary_of(job)
    x, y = axes(info["parameters"], args.get("x"), args.get("y"))
    target = Target(info["optimization_target"], info["direction"], _transform(info))
    return heatmap(scored, target, x, y, window_of(job, args.get("window")))


@blp.route("/optimization/<string:optimization_id>/cancel", methods=["POST"])
@blp.response(202)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def cancel_optimization(optimization_id: str) -> dict[str, Any]:
    """Cancel: pending batches are skipped and the job ends cancelled with its best so far."""
    job = cancel_job(optimization_id, found)
    return {"optimization_id": job.id, "status": job.status}


def summary_of(job: Any) -> dict[str, Any]:
    """What submission stored about the request (every optimization row has it)."""
    return dict(job.summary or {})


def found(job: Job | None, optimization_id: str) -> Job:
    if job is None or job.kind != OPTIMIZATION.name:
        fail(404, f"no optimization with id {optimization_id!r}")
    return job


def window_of(job: Job, asked: str | None) -> str:
    info = summary_of(job)
    if asked is None:
        return info["selection_window"]
    if asked not in info["windows"]:
        fail(422, f"unknown window {asked!r}", {"window": [f"one of {info['windows']}"]})
    return asked


def axes(names: list[str], x: str | None, y: str | None) -> tuple[str, str]:
    """The heatmap's two parameters: given, or the first two searched ones."""
    x = x or names[0]
    y = y or next((n for n in names if n != x), "")
    for field, name in (("x", x), ("y", y)):
        if name not in names:
            fail(422, f"{field} must be a searched parameter", {field: [f"one of {names}"]})
    if x == y:
        fail(422, "x and y must differ", {"y": ["choose a parameter other than x"]})
    return x, y


def _transform(info: dict[str, Any]) -> str:
    from engine.optimize.targets import DIRECTIONS

    return DIRECTIONS[info["optimization_target"]][1]
