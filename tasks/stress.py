"""``run_stress_test(job_id)``: claim the job, load its book and history, run the engine, store.

Safe to run twice: the claim and every later write are fenced by the job's lease, and the
result is an upsert keyed by the job id. A backtest's book comes from its stored result
document, its history from the backtest's own bars; an inline portfolio's history from the
request's window. Events are ``STRESS_TEST_RESULT`` with ``data.stage``: ``started``,
``progress`` (pub/sub only), then ``completed``, ``failed`` or ``cancelled``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from store import jobs
from store.db import transaction
from store.results import get_result, save_result
from tasks.context import TaskContext, context
from tasks.devices import note_devices
from tasks.lease import Lease, LeaseKeeper, LeaseLost, acquire
from tasks.market import load_market
from tasks.outcomes import end, fail, publish, retry_or_fail, unclaimable
from tasks.progress import ProgressReporter, peak_rss_mb
from workers import events
from workers.app import celery_app
from workers.celery_config import RUN_STRESS_TEST
from workers.settings import get_settings

log = logging.getLogger(__name__)
KIND = "stress_test"
TRANSIENT: tuple[type[Exception], ...] = (OperationalError, ConnectionError, TimeoutError)


@celery_app.task(
    name=RUN_STRESS_TEST,
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=get_settings().task_max_retries,
)
def run_stress_test(self: Task, job_id: str) -> str:
    """Run the stress-test job ``job_id``; returns what happened to it (for logs and Flower)."""
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
        job = jobs.get_job(session, lease.job_id)
        if job is None:
            return "lease lost"
        payload, queue = job.spec, job.queue
    stage(ctx, lease.job_id, "started", worker=lease.worker, queue=queue)
    with LeaseKeeper(ctx, lease) as keeper:
        reporter = ProgressReporter(ctx, lease, keeper, _progress_publisher(ctx, lease))
        try:
            document, digest, version = compute(ctx, payload, reporter)
            return complete(ctx, lease, document, digest, version)
        except LeaseLost:
            log.warning("job %s: lease lost, another delivery owns it", lease.job_id)
            return "lease lost"
        except Cancelled as exc:
            return end(ctx, lease, KIND, jobs.CANCELLED, {"reason": str(exc)})
        except SoftTimeLimitExceeded:
            return fail(ctx, lease, KIND, "time_limit", "the job ran past its soft time limit")
        except NautilusError as exc:
            return fail(ctx, lease, KIND, exc.code, str(exc), getattr(exc, "errors", None))
        except TRANSIENT:
            raise
        except Exception as exc:  # an engine bug must still end the job, and loudly
            log.exception("job %s failed", lease.job_id)
            return fail(ctx, lease, KIND, "internal_error", f"{type(exc).__name__}: {exc}")


def compute(ctx: TaskContext, payload: dict[str, Any], reporter: Any) -> tuple[dict, str, str]:
    """The stress-test document, its input digest and the dataset version it read."""
    from engine.montecarlo import run_stress_test as engine_run_stress_test
    from engine.strategy_paths import rerun_strategy
    from engine.stress import parse_stress_request
    from engine.stress_inputs import backtest_inputs, backtest_window, inline_inputs, inline_window

    request = parse_stress_request(payload)
    reporter(0.0, "loading the book and its history")
    rerun = None
    if request.inline:
        market = load_history(inline_window(request))
        book, history = inline_inputs(request, market)
        base = ""
    else:
        spec, document, base = load_backtest(ctx, request.backtest_id)
        market = load_history(backtest_window(spec, request.market_proxy))
        book, history = backtest_inputs(document, market, request.market_proxy)
        rerun = functools.partial(rerun_strategy, spec, market, request)
    result = engine_run_stress_test(request, book, history, progress=reporter, strategy_rerun=rerun)
    text = f"{request.content_hash()}:{base}:{market.source}:{market.version}"
    return result, hashlib.sha256(text.encode()).hexdigest(), market.version


def load_history(window: Any) -> Any:
    """The window's bars; without the market proxy when the data has none (betas are then 1)."""
    from engine.errors import DataError

    try:
        return load_market(window)
    except DataError:
        if window.benchmark_symbol is None:
            raise
        log.warning("no bars for market proxy %s; betas default to 1", window.benchmark_symbol)
        return load_market(window.without_benchmark())


def load_backtest(ctx: TaskContext, backtest_id: str) -> tuple[Any, dict[str, Any], str]:
    """The base backtest's spec, stored result document and result digest."""
    from engine.errors import DataError
    from engine.spec import parse_spec

    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, backtest_id)
        result = get_result(session, backtest_id)
        if job is None or job.kind != "backtest" or result is None:
            raise DataError(f"backtest {backtest_id} has no stored result")
        spec, document, digest = job.spec, result.document, result.digest
    return parse_spec(spec), document, digest


def complete(ctx: TaskContext, lease: Lease, document: dict, digest: str, version: str) -> str:
    """Store the result and mark the job completed in one transaction (only with the lease)."""
    final = {
        "progress_percentage": 100.0,
        "progress_message": "completed",
        "processing_time_ms": document["processing_time_ms"],
        "hardware_used": document["hardware_used"],
        "memory_usage_mb": round(peak_rss_mb(), 1),
    }
    with transaction(ctx.sessions) as session:
        if not jobs.finish(session, lease.job_id, lease.lease_id, jobs.COMPLETED, **final):
            raise LeaseLost(lease.job_id)
        save_result(session, lease.job_id, document=document, sections={}, digest=digest,
                    dataset_version=version or None)  # fmt: skip
    note_devices(ctx, lease.worker)
    stage(ctx, lease.job_id, jobs.COMPLETED, results=f"/stress-test/{lease.job_id}",
          **completion_summary(document))  # fmt: skip
    return jobs.COMPLETED


def completion_summary(document: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers a subscriber gets with the completion event."""
    mc = document.get("monte_carlo") or {}
    return {
        "scenarios": [
            {"name": s["name"], "pnl": s["pnl"], "return_pct": s["return_pct"]}
            for s in document["scenarios"]
        ],  # fmt: skip
        "expected_loss": document["expected_loss"],
        "worst_scenario": document["worst_scenario"],
        **{k: mc.get(k) for k in ("var_95", "cvar_95", "var_99", "cvar_99")},
        "processing_time_ms": document["processing_time_ms"],
    }


def stage(ctx: TaskContext, job_id: str, name: str, **data: Any) -> None:
    publish(ctx, events.STRESS_TEST_RESULT, job_id, KIND, {"stage": name, **data})


def _progress_publisher(ctx: TaskContext, lease: Lease) -> Any:
    def publish_progress(type_: str, data: dict[str, Any]) -> None:
        stage(ctx, lease.job_id, "progress", **data)

    return publish_progress
