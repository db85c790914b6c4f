"""Response bodies of the optimization endpoints, from the job row, its trials and its result.

Numbers come from the engine (stored trials and the stored result document); this module only
arranges them, in the results document's units (percent for returns and drawdowns).
"""

from __future__ import annotations

from math import ceil
from typing import Any

from store.result_sections import CURVES_SECTION
from store.results import ordered_document
from store.trials import Progress
from workers.timestamps import iso_utc


def links(job_id: str) -> dict[str, str]:
    base = f"/optimization/{job_id}"
    return {
        "status": base,
        "trials": f"{base}/trials",
        "heatmap": f"{base}/heatmap",
        "cancel": f"{base}/cancel",
    }


def submitted(job: Any, mean_seconds: float | None) -> dict[str, Any]:
    """The seed's ``POST /optimization/parameters`` response."""
    info = job.summary
    return {
        "status": job.status,
        "optimization_id": job.id,
        "estimated_completion_minutes": round(mean_seconds / 60.0, 4) if mean_seconds else None,
        "parameter_combinations": info["parameter_combinations"],
        "optimization_target": info["optimization_target"],
        "method": info["method"],
        "started_at": iso_utc(job.created_at),
        "queue": job.queue,
        "links": links(job.id),
    }


def metric_display(name: str, value: Any) -> Any:
    """A stored metric in the results document's units (counts stay whole numbers)."""
    from engine.optimize.results import display

    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if name in ("orders", "trades"):
        return int(value)
    return display(name, value)


def progress_section(job: Any, progress: Progress) -> dict[str, Any]:
    """Iterations and the best trial so far (on the selection window)."""
    info = job.summary
    planned = max(info["parameter_combinations"], progress.total)
    window, target = info["selection_window"], info["optimization_target"]
    best = (progress.best_scores or {}).get(window, {}).get(target)
    return {
        "iterations_completed": progress.completed,
        "iterations_total": planned,
        "percentage": round(100.0 * progress.completed / planned, 2) if planned else 0.0,
        "best_score": metric_display(target, best),
        "best_parameters": progress.best_params,
    }


def status_document(job: Any, progress: Progress, result: Any) -> dict[str, Any]:
    """``GET /optimization/{id}``: status and progress; the result once there is one (a
    completed job, or a cancelled one with the best of the trials scored before the cancel)."""
    info = job.summary
    body: dict[str, Any] = {
        "optimization_id": job.id,
        "status": job.status,
        "progress": progress_section(job, progress),
    }
    if result is not None:
        body.update(ordered_document(result, {CURVES_SECTION: False}))
    else:
        body["optimization_summary"] = {
            "optimization_target": info["optimization_target"],
            "direction": info["direction"],
            "method": info["method"],
            "iterations_completed": progress.completed,
            "iterations_planned": info["parameter_combinations"],
        }
        body["parameters"] = {
            "original": info["original_parameters"],
            "optimized": progress.best_params,
        }
    body["hardware_acceleration"] = {
        "neural_engine_used": False,
        "parallel_optimization": info["use_parallel"],
        "pool": job.pool,
        "hardware_used": job.hardware_used,
    }
    body.update(_job_fields(job))
    return body


def _job_fields(job: Any) -> dict[str, Any]:
    return {
        "queue": job.queue,
        "attempts": job.attempts,
        "error": job.error,
        "created_at": iso_utc(job.created_at),
        "started_at": iso_utc(job.started_at),
        "finished_at": iso_utc(job.finished_at),
        "links": links(job.id),
    }


def trial_item(trial: dict[str, Any], window: str, target: str) -> dict[str, Any]:
    metrics = (trial.get("scores") or {}).get(window) or {}
    return {
        "index": trial["index"],
        "parameters": trial["params"],
        "searched": trial["searched"],
        "baseline": trial["baseline"],
        "round": trial["round"],
        "score": metric_display(target, metrics.get(target)),
        "metrics": {k: metric_display(k, v) for k, v in metrics.items()},
    }


def trials_page(
    items: list[dict[str, Any]], total: int, args: dict[str, Any], window: str, target: str
) -> dict[str, Any]:
    return {
        "items": [trial_item(t, window, target) for t in items],
        "window": window,
        "sort": args["sort"],
        "order": args["order"],
        "page": args["page"],
        "page_size": args["page_size"],
        "total": total,
        "pages": ceil(total / args["page_size"]) if total else 0,
    }
