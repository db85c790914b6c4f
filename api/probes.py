"""What /health and /metrics report: checks of the database, Redis, workers and queues, now."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from api.context import ServiceContext
from store import jobs
from workers import broker
from workers.heartbeats import consuming, live_workers
from workers.kinds import BACKTEST
from workers.queues import POOLS


@dataclass(frozen=True)
class Probe:
    ok: bool
    latency_ms: float | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "latency_ms": self.latency_ms, "error": self.error}


def timed(check: Any) -> Probe:
    start = time.perf_counter()
    try:
        check()
    except (SQLAlchemyError, redis.RedisError, OSError) as exc:
        return Probe(False, None, f"{type(exc).__name__}: {exc}"[:300])
    return Probe(True, round((time.perf_counter() - start) * 1000, 3))


def probe_database(ctx: ServiceContext) -> Probe:
    def check() -> None:
        with ctx.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    return timed(check)


def probe_broker(ctx: ServiceContext) -> Probe:
    return timed(lambda: broker.ping(ctx.celery, ctx.redis))


def probe_result_store(ctx: ServiceContext) -> Probe:
    return timed(lambda: ctx.celery.backend.client.ping())


def workers_by_pool(
    ctx: ServiceContext,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """Live workers per pool that are consuming, and those that stopped (``stalled``)."""
    pools: dict[str, list[dict[str, Any]]] = {pool: [] for pool in POOLS}
    stalled: dict[str, list[dict[str, Any]]] = {pool: [] for pool in POOLS}
    try:
        found = live_workers(ctx.redis)
    except redis.RedisError:
        return pools, stalled
    for worker in found:
        ok = consuming(worker, ctx.settings.worker_heartbeat_ttl_s)
        (pools if ok else stalled).setdefault(worker["pool"], []).append(worker)
    return pools, stalled


def queue_depths(ctx: ServiceContext) -> dict[str, int | None]:
    """Messages waiting per queue, from the broker (Flower omits queues nobody consumes)."""
    return broker.queue_depths(ctx.celery, ctx.redis)


def job_stats(ctx: ServiceContext) -> jobs.JobStats | None:
    try:
        with ctx.reads() as session:
            return jobs.job_stats(session)
    except SQLAlchemyError:
        return None


def execution_metrics(stats: jobs.JobStats | None) -> dict[str, Any]:
    """The seed's execution metrics, from the job table."""
    if stats is None:
        return {}
    counts = stats.counts
    done, failed = counts.get(jobs.COMPLETED, 0), counts.get(jobs.FAILED, 0)
    finished = done + failed
    mean = stats.mean_run_seconds
    return {
        "backtests_executed": finished + counts.get(jobs.CANCELLED, 0),
        "backtests_in_progress": counts.get(jobs.RUNNING, 0) + counts.get(jobs.CANCELLING, 0),
        "backtests_queued": counts.get(jobs.QUEUED, 0),
        "successful_backtests": done,
        "failed_backtests": failed,
        "cancelled_backtests": counts.get(jobs.CANCELLED, 0),
        "success_rate_percentage": round(100.0 * done / finished, 2) if finished else None,
        "error_rate_percentage": round(100.0 * failed / finished, 2) if finished else None,
        "average_execution_time_minutes": round(mean / 60.0, 4) if mean is not None else None,
    }


RECENT_JOBS = 200
"""How many of the latest finished backtests ``/health``'s performance figures cover."""


def performance_metrics(ctx: ServiceContext, registry: Any) -> dict[str, Any]:
    """Measured figures of the recent past: the latest finished backtests' outcomes, queue
    waits and run times (from the job table), and the API's submit latency (from the
    request histogram of ``/metrics``)."""
    try:
        with ctx.reads() as session:
            timings = jobs.recent_timings(session, BACKTEST.name, RECENT_JOBS)
    except SQLAlchemyError:
        timings = []
    done = sum(1 for t in timings if t.status == jobs.COMPLETED)
    return {
        "window_jobs": len(timings),
        "backtests_executed": len(timings),
        "success_rate_percentage": round(100.0 * done / len(timings), 2) if timings else None,
        "queue_wait_ms": _summary([t.wait_s for t in timings]),
        "run_time_ms": _summary([t.run_s for t in timings]),
        "submit_latency_ms": submit_latency_ms(registry),
    }


def _summary(seconds: list[float]) -> dict[str, float] | None:
    if not seconds:
        return None
    return {
        "mean": round(1000.0 * statistics.fmean(seconds), 3),
        "p50": round(1000.0 * statistics.median(seconds), 3),
    }


def submit_latency_ms(registry: Any) -> dict[str, Any] | None:
    """Mean and median of ``POST /backtests`` from the latency histogram (the median is
    interpolated within its bucket, as Prometheus' ``histogram_quantile`` does)."""
    labels = {"method": "POST", "endpoint": "/backtests"}
    buckets, total, count = [], 0.0, 0.0
    for metric in registry.collect():
        if metric.name != "nautilus_http_request_duration_seconds":
            continue
        for sample in metric.samples:
            if any(sample.labels.get(k) != v for k, v in labels.items()):
                continue
            if sample.name.endswith("_bucket"):
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
    if not count:
        return None
    p50 = _bucket_quantile(sorted(buckets), 0.5)
    return {
        "requests": int(count),
        "mean": round(1000.0 * total / count, 3),
        "p50": round(1000.0 * p50, 3) if p50 is not None else None,
    }


def _bucket_quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Linear interpolation inside the bucket where the cumulative count crosses ``q``."""
    if not buckets or not buckets[-1][1]:
        return None
    rank, lower, below = q * buckets[-1][1], 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if upper == float("inf"):
                return lower
            width = cumulative - below
            return lower + (upper - lower) * ((rank - below) / width if width else 0.0)
        lower, below = upper, cumulative
    return None
