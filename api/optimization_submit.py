"""Accepting an optimization: validate, route, write the job row, enqueue after commit.

The job row's ``spec`` holds the validated request (with the base spec inline) and a summary the
status views read without parsing the request again: target, direction, planned sets, windows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from api.context import ServiceContext
from api.submit import Submission, insert_and_enqueue, new_job_fields
from store import jobs
from store.db import transaction
from workers.routing import Route, Workload, choose_route, estimate_bars

KIND = "optimization"
WORKLOAD = "optimize"


def submit_optimization(
    ctx: ServiceContext, payload: Mapping[str, Any], idempotency_key: str | None
) -> Submission:
    """Create (or, for a repeated ``Idempotency-Key``, find) the job and enqueue its plan."""
    from api.data_gate import check_data
    from engine.optimize import parse_optimization_request

    base = stored_spec(ctx, payload.get("backtest_id"))
    limit = ctx.settings.optimization_max_sets
    request = parse_optimization_request(payload, base, max_grid_size=limit)
    if base is None:
        check_data(ctx, request.base_spec, proceed=False)
    values = job_values(ctx, request, route_for(ctx, request), idempotency_key)
    return insert_and_enqueue(ctx, values)


def stored_spec(ctx: ServiceContext, backtest_id: Any) -> Any:
    """The spec of a stored backtest, or None (the request parser then names the field)."""
    from engine.errors import SpecError
    from engine.spec import parse_spec

    if not isinstance(backtest_id, str):
        return None
    with transaction(ctx.sessions) as session:
        job = jobs.get_job(session, backtest_id)
        payload = job.spec if job is not None and job.kind == "backtest" else None
    if payload is None:
        return None
    try:
        return parse_spec(payload)
    except SpecError:  # a stored spec that no longer validates (strategy removed, ...)
        return None


def route_for(ctx: ServiceContext, request: Any) -> Route:
    spec = request.base_spec
    symbols = len(set(spec.symbols) | ({spec.benchmark_symbol} if spec.benchmark_symbol else set()))
    bars = estimate_bars(spec.start_date, spec.end_date, spec.frequency)
    cells = request.planned_sets * bars * symbols
    work = Workload(WORKLOAD, cells, bool(spec.hardware_acceleration_requested))
    return choose_route(work, ctx.live_pools(), ctx.settings.gpu_min_cells)


def summary(request: Any) -> dict[str, Any]:
    """What status views need from the request, computed once at submission."""
    from engine.optimize.windows import selection_name, window_names

    return {
        "optimization_target": request.target.metric,
        "direction": request.target.direction,
        "method": request.method,
        "parameter_combinations": request.planned_sets,
        "parameters": list(request.space.names),
        "windows": list(window_names(request.validation)),
        "selection_window": selection_name(request.validation),
        "original_parameters": dict(request.base_spec.strategy_parameters),
        "use_parallel": request.use_parallel,
    }


def job_values(
    ctx: ServiceContext, request: Any, route: Route, idempotency_key: str | None
) -> dict[str, Any]:
    spec = request.base_spec
    stored = {"request": request.to_payload(), "summary": summary(request)}
    canonical = json.dumps(stored["request"], sort_keys=True, separators=(",", ":"))
    return {
        **new_job_fields(ctx, KIND, WORKLOAD, route, idempotency_key),
        "symbols_count": len(spec.symbols),
        "acceleration_requested": bool(spec.hardware_acceleration_requested),
        "name": f"optimize {spec.backtest_name}"[:200],
        "backtest_type": "parameter_optimization",
        "strategy_id": spec.strategy_id,
        "spec": stored,
        "spec_hash": hashlib.sha256(canonical.encode()).hexdigest(),
    }
