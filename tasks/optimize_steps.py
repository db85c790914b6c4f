"""The steps the optimization tasks take: load a job, create trials, score a batch, end the job.

Thin glue between the job store and ``engine.optimize``: every number comes from the engine.
A worker process keeps the last few parsed requests and markets, so the batches of one job that
land on the same process parse and load once.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store import jobs, trials
from store.db import transaction
from store.models import utcnow
from store.result_sections import CURVES_SECTION, diff
from tasks import outcomes
from tasks.context import TaskContext
from tasks.lease import Lease, LeaseKeeper, LeaseLost
from tasks.market import load_market
from tasks.outcomes import Completion, end, publish
from tasks.progress import ProgressReporter, peak_rss_mb
from workers.kinds import OPTIMIZATION, PROGRESS

CACHED_JOBS = 4
_requests: OrderedDict[str, Any] = OrderedDict()
_markets: OrderedDict[str, Any] = OrderedDict()
_plans: OrderedDict[str, Any] = OrderedDict()


@dataclass(frozen=True)
class Batch:
    first: int
    last: int

    def __str__(self) -> str:
        return f"batch of trials {self.first}-{self.last - 1}"


@dataclass(frozen=True)
class JobView:
    """What the tasks read from an optimization job's row."""

    id: str
    status: str
    lease_id: str | None
    queue: str
    attempt: int
    started_at: datetime | None
    request: Any  # engine.optimize.OptimizationRequest


def _remember(cache: OrderedDict, key: str, make) -> Any:
    if key not in cache:
        cache[key] = make()
        while len(cache) > CACHED_JOBS:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def load_job(ctx: TaskContext, job_id: str) -> JobView:
    """The job's row and its parsed request (a SpecError if the stored request is invalid)."""
    from engine.optimize import parse_optimization_request

    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, job_id)
        if job is None:
            raise LookupError(f"no job {job_id}")
        payload = job.spec
        view = (job.id, job.status, job.lease_id, job.queue, job.attempts, job.started_at)
    limit = ctx.settings.optimization_max_sets
    request = _remember(
        _requests, job_id, lambda: parse_optimization_request(payload, max_grid_size=limit)
    )
    return JobView(*view, request=request)


def job_market(job: JobView) -> Any:
    return _remember(_markets, job.id, lambda: load_market(job.request.base_spec))


def folds_of(job: JobView) -> Any:
    from engine.optimize.run import spec_folds

    return spec_folds(job.request, job_market(job))


def first_stubs(job: JobView) -> list[dict[str, Any]]:
    """The trials of round 0: the grid or the random draws, or Bayesian round 0, with the
    baseline; ``[i]["index"] == i``. Deterministic, so the plan and every batch compute the
    same list (once per process) instead of storing it. Checks the data and windows."""
    from engine.optimize.run import first_round

    return _remember(_plans, job.id, lambda: first_round(job.request, folds_of(job)))


def unscored(ctx: TaskContext, job: JobView) -> list[int]:
    """Indices of the job's trials still to score (first round and stored later rounds)."""
    with transaction(ctx.sessions) as session:
        return trials.unscored(session, job.id, len(first_stubs(job)))


def next_stubs(ctx: TaskContext, job: JobView, round_no: int) -> bool:
    """Create Bayesian round ``round_no + 1`` from the trials scored so far; False when done."""
    from engine.optimize.run import next_round

    with transaction(ctx.sessions) as session:
        done = ranked_trials(session, job)
        first = trials.trial_count(session, job.id)
    sets = next_round(job.request, done, folds_of(job)[-1].train.name, round_no + 1)
    if not sets:
        return False
    stubs = [
        {"index": first + i, "params": p, "searched": True, "baseline": False}
        for i, p in enumerate(sets)
    ]
    with transaction(ctx.sessions) as session:
        trials.insert_trials(session, job.id, stubs, round_no + 1)
    return True


def ranked_trials(session: Any, job: JobView) -> list[dict[str, Any]]:
    """The job's scored trials with the target metric of each window: what ranking reads."""
    from engine.optimize.windows import window_names

    request = job.request
    windows = window_names(request.validation)
    return trials.ranking_trials(session, job.id, request.target.metric, windows)


def score_stubs(ctx: TaskContext, lease: Lease, batch: Batch, keeper: LeaseKeeper) -> int:
    """Score the batch's unscored trials, store them, report progress; the number scored."""
    from accel.device import device_label
    from engine.optimize.run import score_sets

    job = load_job(ctx, lease.job_id)
    planned = first_stubs(job)
    with transaction(ctx.sessions) as session:
        stubs = trials.stubs_between(session, job.id, batch.first, batch.last, planned)
    if not stubs:
        return 0
    folds = folds_of(job)
    scored = score_sets(job.request, job_market(job), stubs, folds)
    window = folds[-1].train.name
    for trial in scored:
        trial["score"] = oriented(job.request.target, trial, window)
    with transaction(ctx.sessions) as session:
        trials.save_scores(session, job.id, scored)
        progress = trials.progress(session, job.id)
    report(ctx, keeper, job, progress, window, hardware_used=device_label())
    return len(scored)


def oriented(target: Any, trial: dict[str, Any], window: str) -> float | None:
    value = float(target.score([trial["scores"][window].get(target.metric)])[0])
    return value if math.isfinite(value) else None


def report(
    ctx: TaskContext, keeper: LeaseKeeper, job: JobView, progress: Any, window: str, **fields: Any
) -> None:
    """Progress on the job row (percentage, message) and a PARAMETER_OPTIMIZATION event."""
    planned = max(job.request.planned_sets, progress.total, 1)
    best = _display_best(job, progress, window)
    message = f"{progress.completed}/{planned} parameter sets scored"
    fraction = min(progress.completed / planned, ProgressReporter.CAP)  # 100 %: once stored
    keeper.refresh(
        progress_percentage=round(100.0 * fraction, 2),
        progress_message=message[:200],
        memory_usage_mb=round(peak_rss_mb(), 1),
        processing_time_ms=elapsed_ms(job),
        **fields,
    )
    data = {"iterations_completed": progress.completed, "iterations_total": planned, **best}
    publish(ctx, OPTIMIZATION, PROGRESS, job.id, data)


def elapsed_ms(job: JobView) -> float | None:
    """An optimization's processing time: from its plan's first claim, across its batches."""
    if job.started_at is None:
        return None
    return round((utcnow() - job.started_at).total_seconds() * 1000.0, 3)


def _display_best(job: JobView, progress: Any, window: str) -> dict[str, Any]:
    from engine.optimize.results import display

    if progress.best_scores is None:
        return {"best_score": None, "best_parameters": None}
    metric = job.request.target.metric
    raw = progress.best_scores.get(window, {}).get(metric)
    return {"best_score": display(metric, raw), "best_parameters": progress.best_params}


def complete(ctx: TaskContext, lease: Lease, job: JobView, status: str) -> str:
    """Build the result from every scored trial, store it and end the job in ``status``."""
    from engine.canonical import input_digest
    from engine.optimize.curves import CURVES, best_set_curves
    from engine.optimize.run import optimization_document
    from engine.optimize.windows import selection_window

    with transaction(ctx.sessions) as session:
        scored = ranked_trials(session, job)
    if not any(t["searched"] for t in scored):
        error = {"code": status, "message": "no parameter set was scored"}
        return end(ctx, lease, OPTIMIZATION, status, error)
    elapsed = (elapsed_ms(job) or 0.0) / 1000.0
    market = job_market(job)
    folds = folds_of(job)
    document = optimization_document(job.request, scored, folds, elapsed_s=elapsed)
    curves = best_set_curves(job.request, market, scored, selection_window(folds))
    base_hash = job.request.base_spec.content_hash()
    full = {**document, CURVES: curves}
    done = Completion(
        document=full,
        sections={CURVES_SECTION: diff(full, document)},
        digest=input_digest(base_hash, market.source, market.version),
        dataset_version=market.version or None,
        row={"processing_time_ms": round(elapsed * 1000.0, 3)},
        event={
            **document["optimization_summary"],
            "parameters": document["parameters"]["optimized"],
        },
    )
    try:
        return outcomes.complete(ctx, OPTIMIZATION, lease, done, status)
    except LeaseLost:
        return "lease lost"
