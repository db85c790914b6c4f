"""``GET /health``: what is true now, each part measured, nothing assumed.

Anyone may ask; anonymous callers and members get the contract's fields (status, engine,
message bus, hardware acceleration, execution and performance figures, live workers per pool)
and nothing that names a host, a process, a version, a port or a path: those (components with
their errors, workers with host names and pids, queues, uptime) are for admin keys only.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api import probes
from api.auth import is_admin
from api.context import service
from api.metrics import REGISTRY_KEY as REGISTRY
from workers.settings import VERSION

blp = Blueprint("health", __name__, description="Service health")


@blp.route("/health", methods=["GET"])
@blp.response(200)
@blp.alt_response(503, description="the database or the broker is unreachable")
def health() -> tuple[dict[str, Any], int]:
    """Reachability of the database, broker and result store; workers, queues and job counts."""
    ctx = service()
    database, broker = probes.probe_database(ctx), probes.probe_broker(ctx)
    result_store = probes.probe_result_store(ctx)
    workers, stalled = probes.workers_by_pool(ctx)
    status = overall(database.ok and broker.ok and result_store.ok, workers)
    body = {
        "status": status,
        "engine": "backtesting",
        "messagebus_connected": broker.ok,
        "workers_alive": {pool: len(found) for pool, found in workers.items()},
        "workers_stalled": {pool: len(found) for pool, found in stalled.items()},
        "execution_metrics": probes.execution_metrics(
            probes.job_stats(ctx) if database.ok else None
        ),
        "performance_metrics": probes.performance_metrics(ctx, current_app.extensions[REGISTRY]),
        "hardware_acceleration": hardware(workers),
        "hardware_optimization": contract_hardware(workers),
    }
    if is_admin():
        body |= {
            "port": ctx.settings.port,
            "version": VERSION,
            "uptime_seconds": round(time.time() - ctx.started, 3),
            "components": {
                "database": {**database.as_dict(), "backend": ctx.engine.dialect.name},
                "broker": broker.as_dict(),
                "result_store": result_store.as_dict(),
            },
            "workers": dict(workers),
            "queues": probes.queue_depths(ctx) if broker.ok else {},
        }
    return body, 200 if status != "unhealthy" else 503


def overall(stores_ok: bool, workers: dict[str, list[Any]]) -> str:
    if not stores_ok:
        return "unhealthy"
    return "healthy" if workers.get("cpu") else "degraded"


def hardware(workers: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What accelerators live workers own now (from their heartbeats)."""
    gpu = workers.get("gpu", [])
    devices = sorted({d for w in gpu for d in w.get("devices", [])})
    return {
        "enabled": bool(gpu),
        "gpu_workers_alive": len(gpu),
        "gpu_devices": devices,
    }


def contract_hardware(workers: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The contract's ``hardware_optimization`` fields that can be true here (docs/service.md
    says why ``m4_max_detected`` and ``neural_engine_available`` are left out)."""
    return {
        "vectorized_operations_enabled": True,  # every strategy runs as one batched kernel
        "optimization_active": bool(workers.get("gpu")),
    }
