"""``GET /metrics``: Prometheus text, or the same samples as JSON with ``Accept: application/json``.

Request counters and latencies cover every API process when ``PROMETHEUS_MULTIPROC_DIR`` is set
(``nautilus-bt serve`` sets it: see ``api/gunicorn_conf.py``), else this process alone; job,
queue and worker gauges are read from the database and Redis at scrape time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g, request
from flask_smorest import Blueprint
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from api import probes
from api.context import ServiceContext, service

blp = Blueprint("metrics", __name__, description="Prometheus metrics")
REGISTRY_KEY = "nautilus_metrics"
HTTP_KEY = "nautilus_http_metrics"


class ServiceCollector(Collector):
    """Gauges computed from the stores at scrape time."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[Metric]:
        ctx = self._ctx
        stats = probes.job_stats(ctx)
        jobs_gauge = GaugeMetricFamily(
            "nautilus_jobs", "Backtest jobs by status", labels=["status"]
        )
        for status, count in sorted((stats.counts if stats else {}).items()):
            jobs_gauge.add_metric([status], count)
        yield jobs_gauge
        mean = stats.mean_run_seconds if stats else None
        yield GaugeMetricFamily(
            "nautilus_job_run_seconds_mean",
            "Mean run time of recently completed backtests",
            value=float("nan") if mean is None else mean,
        )
        depth = GaugeMetricFamily("nautilus_queue_depth", "Messages waiting", labels=["queue"])
        for queue, n in probes.queue_depths(ctx).items():
            depth.add_metric([queue], float("nan") if n is None else n)
        yield depth
        alive = GaugeMetricFamily("nautilus_workers_alive", "Live workers", labels=["pool"])
        for pool, workers in probes.workers_by_pool(ctx)[0].items():
            alive.add_metric([pool], len(workers))
        yield alive
        yield GaugeMetricFamily(
            "nautilus_uptime_seconds",
            "Seconds since this API process started",
            value=time.time() - ctx.started,
        )


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.requests = Counter(
            "nautilus_http_requests",
            "HTTP requests served",
            ["method", "endpoint", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "nautilus_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "endpoint"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )


def install(app: Flask, ctx: ServiceContext) -> None:
    """Create the app's registry and the request hooks that feed it."""
    registry = CollectorRegistry()
    registry.register(ServiceCollector(ctx))
    if ctx.settings.prometheus_multiproc_dir:
        # samples live in files shared by every worker; the collector sums them at scrape time
        MultiProcessCollector(registry, path=ctx.settings.prometheus_multiproc_dir)
        http = HttpMetrics(None)
    else:
        http = HttpMetrics(registry)
    app.extensions[REGISTRY_KEY] = registry
    app.extensions[HTTP_KEY] = http

    @app.before_request
    def _start_timer() -> None:
        g.nautilus_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        started = g.get("nautilus_started")
        if started is not None:
            http.latency.labels(request.method, endpoint).observe(time.perf_counter() - started)
        http.requests.labels(request.method, endpoint, str(response.status_code)).inc()
        return response


@blp.route("/metrics", methods=["GET"])
@blp.response(200, content_type=CONTENT_TYPE_LATEST)
def metrics() -> Response | dict[str, Any]:
    """Prometheus exposition (or JSON when the client prefers ``application/json``)."""
    from flask import current_app

    registry: CollectorRegistry = current_app.extensions[REGISTRY_KEY]
    service()  # the collectors need the app's context
    if prefers_json():
        return as_json(registry)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def prefers_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/plain", "application/json"])
    return best == "application/json" and request.accept_mimetypes["application/json"] > 0


def as_json(registry: CollectorRegistry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in registry.collect():
        samples = [
            {"name": s.name, "labels": s.labels, "value": _finite(s.value)} for s in metric.samples
        ]
        out[metric.name] = {"type": metric.type, "help": metric.documentation, "samples": samples}
    return out


def _finite(value: float) -> float | None:
    return None if value != value else value  # NaN is not JSON
