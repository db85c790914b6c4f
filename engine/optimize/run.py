"""An optimization end to end, in one process: the reference for the service's chord.

The chord runs the same steps apart: ``trial_sets`` lists what to score, header tasks call
``score_sets`` on batches, the callback calls ``optimization_document`` on the stored trials.
Bayesian searches loop over ``next_round`` between batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.errors import Cancelled
from engine.market import Market
from engine.optimize.adaptive import propose
from engine.optimize.evaluate import evaluate_batch, window_market
from engine.optimize.request import OptimizationRequest
from engine.optimize.results import best, converged, display, metric, validation_section
from engine.optimize.windows import Fold, distinct_windows, folds, selection_window

ShouldStop = Callable[[], bool]


def spec_folds(request: OptimizationRequest, market: Market) -> tuple[Fold, ...]:
    """The validation folds over the base spec's bars in ``market``."""
    traded, _ = window_market(request.base_spec, market)
    return folds(request.validation, traded.n_bars)


def with_baseline(request: OptimizationRequest, sets: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Trial stubs for ``sets`` plus the base parameters (unsearched, unless proposed)."""
    base = dict(request.base_spec.strategy_parameters)
    space = request.space
    stubs: list[dict[str, Any]] = [
        {"params": dict(p), "searched": True, "baseline": False} for p in sets
    ]
    keys = [space.key(s["params"]) for s in stubs]
    if space.key(base) in keys:
        stubs[keys.index(space.key(base))]["baseline"] = True
    else:
        stubs.append({"params": base, "searched": False, "baseline": True})
    return [{"index": i, **s} for i, s in enumerate(stubs)]


def first_round(request: OptimizationRequest, fold_list: tuple[Fold, ...]) -> list[dict]:
    """The trials scored first: the grid or the random draws, or Bayesian round 0, with the
    baseline. Deterministic, so planning twice gives the same trials."""
    if not request.adaptive:
        return with_baseline(request, request.candidates())
    window = selection_window(fold_list).name
    return with_baseline(request, next_round(request, [], window, 0))


def score_sets(
    request: OptimizationRequest,
    market: Market,
    stubs: Sequence[Mapping[str, Any]],
    fold_list: tuple[Fold, ...],
    *,
    memory_budget: int | None = None,
) -> list[dict[str, Any]]:
    """Score trial stubs on every window (one sweep each); block sums on the selection window."""
    chosen = selection_window(fold_list).name
    params = [s["params"] for s in stubs]
    trials = [{**s, "scores": {}, "blocks": None} for s in stubs]
    for window in distinct_windows(fold_list):
        blocks = request.validation.cscv_blocks if window.name == chosen else 0
        scored = evaluate_batch(
            request.base_spec, market, params, window, blocks=blocks, memory_budget=memory_budget
        )
        for trial, result in zip(trials, scored, strict=True):
            trial["params"] = result["params"]
            trial["scores"][window.name] = result["metrics"]
            if blocks:
                trial["blocks"] = result["blocks"]
    return trials


def next_round(
    request: OptimizationRequest, trials: Sequence[Mapping[str, Any]], window: str, round_no: int
) -> list[dict[str, Any]]:
    """The next Bayesian batch given the searched trials scored so far."""
    done = [t for t in trials if t.get("searched", True)]
    left = request.max_iterations - len(done)
    if left <= 0:
        return []
    target = request.target
    history = [
        (t["params"], float(target.score([metric(t, window, target.metric)])[0])) for t in done
    ]
    return propose(request.space, history, min(request.round_size, left), request.seed, round_no)


def optimize(
    request: OptimizationRequest,
    market: Market,
    *,
    batch_size: int = 1024,
    should_stop: ShouldStop | None = None,
) -> dict[str, Any]:
    """Run the whole search here; ``should_stop()`` is checked between batches (best so far
    is kept). Returns ``{"document", "trials", "status"}``."""
    started = time.perf_counter()
    fold_list = spec_folds(request, market)
    window = selection_window(fold_list).name
    trials: list[dict[str, Any]] = []
    status = "completed"
    for stubs in _batches(request, trials, window, batch_size):
        if should_stop and should_stop():
            status = "cancelled"
            break
        trials += score_sets(request, market, stubs, fold_list)
    if not any(t.get("searched", True) for t in trials):
        raise Cancelled("stopped before any parameter set was scored")
    elapsed = time.perf_counter() - started
    document = optimization_document(request, trials, fold_list, elapsed_s=elapsed)
    return {"document": document, "trials": trials, "status": status}


def _batches(request: OptimizationRequest, trials: list, window: str, batch_size: int):
    if not request.adaptive:
        stubs = with_baseline(request, request.candidates())
        for start in range(0, len(stubs), batch_size):
            yield stubs[start : start + batch_size]
        return
    round_no = 0
    while sets := next_round(request, trials, window, round_no):
        stubs = with_baseline(request, sets) if round_no == 0 else _numbered(sets, len(trials))
        yield stubs
        round_no += 1


def _numbered(sets: Sequence[Mapping[str, Any]], first: int) -> list[dict[str, Any]]:
    return [
        {"index": first + i, "params": dict(p), "searched": True, "baseline": False}
        for i, p in enumerate(sets)
    ]


def optimization_document(
    request: OptimizationRequest,
    trials: Sequence[Mapping[str, Any]],
    fold_list: tuple[Fold, ...],
    *,
    elapsed_s: float,
) -> dict[str, Any]:
    """The seed's result sections from stored trials: summary, parameters, validation, search."""
    target, window = request.target, selection_window(fold_list).name
    winner = best(trials, target, window)
    baseline = next((t for t in trials if t.get("baseline")), None)
    original = metric(baseline, window, target.metric) if baseline else None
    optimized = metric(winner, window, target.metric) if winner else None
    done = sum(1 for t in trials if t.get("searched", True))
    return {
        "optimization_summary": {
            "optimization_target": target.metric,
            "direction": target.direction,
            "method": request.method,
            "original_score": display(target.metric, original),
            "optimized_score": display(target.metric, optimized),
            "improvement_percentage": target.improvement_percentage(original, optimized),
            "iterations_completed": done,
            "iterations_planned": request.planned_sets,
            "convergence_achieved": converged(trials, target, window, request.method),
            "optimization_time_seconds": round(elapsed_s, 3),
        },
        "parameters": {
            "original": dict(request.base_spec.strategy_parameters),
            "optimized": dict(winner["params"]) if winner else None,
        },
        "validation": validation_section(
            trials, target, fold_list, request.base_spec.periods_per_year
        ),
        "search": _search_section(request, window),
    }


def _search_section(request: OptimizationRequest, window: str) -> dict[str, Any]:
    return {
        "method": request.method,
        "seed": request.seed if request.method != "grid" else None,
        "parameter_ranges": dict(request.parameter_ranges),
        "constraints": list(request.constraints),
        "target": request.target.describe(),
        "validation": request.validation.describe(),
        "selection_window": window,
    }
