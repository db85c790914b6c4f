"""``run_backtest(job_id)``: claim the job, run the engine on its market, store, publish.

Safe to run twice: the claim and every later write are guarded by the job's status and lease,
and the result is an upsert keyed by the job id, so a redelivered message completes a job once.
Only transient infrastructure errors are retried; a bad spec or missing data fails the job.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from store import jobs
from store.db import transaction
from store.models import Job
from store.result_sections import SECTIONS, section_patches
from store.results import save_result
from tasks.context import TaskContext, context
from tasks.devices import note_devices
from tasks.lease import Lease, LeaseKeeper, LeaseLost, acquire
from tasks.market import load_market
from tasks.outcomes import end, fail, publish, retry_or_fail, unclaimable
from tasks.progress import ProgressReporter, peak_rss_mb
from workers import events
from workers.app import celery_app
from workers.celery_config import RUN_BACKTEST
from workers.settings import get_settings

log = logging.getLogger(__name__)
KIND = "backtest"
TRANSIENT: tuple[type[Exception], ...] = (OperationalError, ConnectionError, TimeoutError)


@celery_app.task(
    name=RUN_BACKTEST,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=get_settings().task_max_retries,
)
def run_backtest(self: Task, job_id: str) -> str:
    """Run the backtest job ``job_id``; returns what happened to it (for logs and Flower)."""
    ctx = context()
    lease = acquire(ctx, job_id, self.request.hostname or "unknown")
    if lease is None:
        return unclaimable(ctx, job_id)
    try:
        return run_leased(ctx, lease)
    except TRANSIENT as exc:
        return retry_or_fail(self, ctx, lease, KIND, exc)


def run_leased(ctx: TaskContext, lease: Lease) -> str:
    from engine.errors import Cancelled, NautilusError

    with transaction(ctx.sessions) as session:
        job = _load(session, lease.job_id)
        payload, kind, queue = job.spec, job.kind, job.queue
    publish(
        ctx, events.BACKTEST_START, lease.job_id, kind, {"worker": lease.worker, "queue": queue}
    )
    with LeaseKeeper(ctx, lease) as keeper:
        reporter = ProgressReporter(ctx, lease, keeper, _progress_publisher(ctx, lease, kind))
        try:
            result = compute(payload, reporter)
            return complete(ctx, lease, kind, result)
        except LeaseLost:
            log.warning("job %s: lease lost, another delivery owns it", lease.job_id)
            return "lease lost"
        except Cancelled as exc:
            return end(ctx, lease, kind, jobs.CANCELLED, {"reason": str(exc)})
        except SoftTimeLimitExceeded:
            return fail(ctx, lease, kind, "time_limit", "the job ran past its soft time limit")
        except NautilusError as exc:
            return fail(ctx, lease, kind, exc.code, str(exc), getattr(exc, "errors", None))
        except TRANSIENT:
            raise
        except Exception as exc:  # an engine bug must still end the job, and loudly
            log.exception("job %s failed", lease.job_id)
            return fail(ctx, lease, kind, "internal_error", f"{type(exc).__name__}: {exc}")


def compute(payload: dict[str, Any], reporter: ProgressReporter) -> Any:
    """Parse the stored spec, build its market and run the engine (all numbers are the engine's)."""
    from engine.backtest import run_backtest as engine_run_backtest
    from engine.spec import parse_spec

    spec = parse_spec(payload)
    reporter(0.0, "loading market data")
    market = load_market(spec)
    reporter(0.0, "market data ready")
    return engine_run_backtest(spec, market, progress=reporter)


def complete(ctx: TaskContext, lease: Lease, kind: str, result: Any) -> str:
    """Store the result and mark the job completed in one transaction (only with the lease)."""
    summary = result.summary()
    document = result.document()
    with transaction(ctx.sessions) as session:
        if not jobs.finish(
            session, lease.job_id, lease.lease_id, jobs.COMPLETED, **_final(summary)
        ):
            raise LeaseLost(lease.job_id)
        save_result(
            session,
            lease.job_id,
            document=document,
            sections=section_patches(document, renderings(result, document)),
            digest=result.input_digest,
            dataset_version=result.market.version or None,
        )
    note_devices(ctx, lease.worker)
    data = {"status": jobs.COMPLETED, "results": f"/backtests/{lease.job_id}/results", **summary}
    publish(ctx, events.BACKTEST_COMPLETE, lease.job_id, kind, data)
    return jobs.COMPLETED


def renderings(
    result: Any, full: dict[str, Any]
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per optional section, a rendering with it and one without it, otherwise alike.

    Sections are rendered independently, so each pair differs by that section alone; the
    pairs avoid re-rendering the costly full document once per section.
    """
    off = dict.fromkeys(SECTIONS, False)
    base = result.document(**off)
    pairs = {flag: (result.document(**(off | {flag: True})), base) for flag in SECTIONS[1:]}
    pairs[SECTIONS[0]] = (full, result.document(**{SECTIONS[0]: False}))
    return pairs


def _progress_publisher(ctx: TaskContext, lease: Lease, kind: str) -> Any:
    def publish_progress(type_: str, data: dict[str, Any]) -> None:
        publish(ctx, type_, lease.job_id, kind, data)

    return publish_progress


def _load(session: Any, job_id: str) -> Job:
    job = jobs.get_job(session, job_id)
    if job is None:
        raise LeaseLost(job_id)
    return job


def _utc(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _final(summary: dict[str, Any]) -> dict[str, Any]:
    current = summary.get("current_date")
    return {
        "progress_percentage": 100.0,
        "progress_message": "completed",
        "processing_time_ms": summary.get("processing_time_ms"),
        "data_points_processed": summary.get("data_points_processed"),
        "orders_executed": summary.get("orders_executed"),
        "trades_completed": summary.get("trades_completed"),
        "hardware_used": summary.get("hardware_used"),
        "bar_time": _utc(current) if current else None,
        "memory_usage_mb": round(peak_rss_mb(), 1),
    }
