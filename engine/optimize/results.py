"""From scored trials to the seed's optimization response: ranking, validation, heatmap.

A trial is a JSON dict ``{"index", "params", "scores": {window: metrics}, "blocks",
"searched", "baseline"}``: ``scores`` holds the metrics of each validation window, ``blocks``
the CSCV block sums on the selection window. The baseline (the base spec's own parameters) is
scored with the search but ranks only if the search itself proposed it. Scores in responses use
the results document's units: percent for returns, drawdowns, volatility and tail risk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from engine.metric_table import display
from engine.optimize.overfitting import (
    CSCV_METRICS,
    deflated_sharpe_of_trials,
    pbo_cscv,
)
from engine.optimize.targets import Target
from engine.optimize.windows import Fold, Window, selection_window

Trial = Mapping[str, Any]
STALL_SHARE = 0.2
STALL_MIN = 10
CONVERGENCE_TOLERANCE = 1e-3


def metric(trial: Trial, window: str, name: str) -> float | None:
    return (trial.get("scores") or {}).get(window, {}).get(name)


def searched(trials: Sequence[Trial]) -> list[Trial]:
    return [t for t in trials if t.get("searched", True)]


def ranked(trials: Sequence[Trial], target: Target, window: str) -> list[Trial]:
    """Searched trials best first on ``window``; undefined scores last, ties by index."""
    pool, scores, indices = _scored(trials, target, window)
    return [pool[i] for i in np.lexsort((indices, -scores))]


def best(trials: Sequence[Trial], target: Target, window: str) -> Trial | None:
    """``ranked(...)[0]`` without sorting: the top score, on a tie the lowest index."""
    pool, scores, indices = _scored(trials, target, window)
    if not pool:
        return None
    tied = np.flatnonzero(scores == scores.max())
    return pool[tied[np.argmin(indices[tied])]]


def _scored(
    trials: Sequence[Trial], target: Target, window: str
) -> tuple[list[Trial], np.ndarray, np.ndarray]:
    """The searched trials, their oriented scores (finite or -inf) and their indices."""
    pool = searched(trials)
    scores = target.score([metric(t, window, target.metric) for t in pool])
    return pool, scores, np.array([t["index"] for t in pool], dtype=np.int64)


def converged(trials: Sequence[Trial], target: Target, window: str, method: str) -> bool:
    """Grid: every point scored. Random and Bayesian: the best score (within 0.1 %) was
    reached before the last 20 % (at least 10) of the trials, which brought nothing better."""
    pool = sorted(searched(trials), key=lambda t: t["index"])
    if method == "grid":
        return bool(pool)
    scores = target.score([metric(t, window, target.metric) for t in pool])
    if not len(scores) or not np.isfinite(scores.max()):
        return False
    running = np.maximum.accumulate(scores)
    reached = int(np.argmax(running >= scores.max() - CONVERGENCE_TOLERANCE * abs(scores.max())))
    return len(pool) - 1 - reached >= max(STALL_MIN, STALL_SHARE * len(pool))


def fold_report(trials: Sequence[Trial], target: Target, fold: Fold) -> dict[str, Any]:
    """The fold's winner on its training window and how it scored on its test window."""
    winner = best(trials, target, fold.train.name)
    out: dict[str, Any] = {"train": _window(fold.train), "test": _window(fold.test)}
    if winner is None:
        return out
    out["parameters"] = dict(winner["params"])
    out["in_sample_score"] = display(target.metric, metric(winner, fold.train.name, target.metric))
    if fold.test is not None:
        out["out_of_sample_score"] = display(
            target.metric, metric(winner, fold.test.name, target.metric)
        )
    return out


def _window(window: Window | None) -> dict[str, int] | None:
    if window is None:
        return None
    return {"start_bar": window.start, "end_bar": window.stop - 1, "bars": window.n_bars}


def _mean(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite and len(finite) == len(values) else None


def overfitting(
    trials: Sequence[Trial], target: Target, window: str, periods_per_year: float
) -> dict[str, Any]:
    """PBO (CSCV) and DSR of the search on the selection window, where enough trials exist."""
    pool = [t for t in searched(trials) if t.get("blocks") is not None]
    if len(pool) < 2:
        return {"probability_of_backtest_overfitting": None, "deflated_sharpe_ratio": None}
    blocks = np.asarray([t["blocks"] for t in pool], dtype=np.float64)
    cscv_metric = target.metric if target.metric in CSCV_METRICS else "sharpe_ratio"
    maximize = target.maximize if cscv_metric == target.metric else True
    pbo = pbo_cscv(blocks, cscv_metric, periods_per_year, maximize=maximize)
    winner = best(pool, target, window)
    assert winner is not None  # the pool is not empty
    dsr = deflated_sharpe_of_trials(blocks, pool.index(winner))
    return {
        "probability_of_backtest_overfitting": pbo.describe(),
        "deflated_sharpe_ratio": dsr.describe(periods_per_year),
    }


def validation_section(
    trials: Sequence[Trial], target: Target, folds: Sequence[Fold], periods_per_year: float
) -> dict[str, Any]:
    """The seed's ``validation`` block plus PBO, DSR and each fold's result.

    In- and out-of-sample scores are means over the folds of each fold winner's scores;
    ``overfitting_score`` is the PBO (a probability; lower is better).
    """
    reports = [fold_report(trials, target, f) for f in folds]
    in_sample = _mean([r.get("in_sample_score") for r in reports])
    has_test = folds[0].test is not None
    out_of_sample = _mean([r.get("out_of_sample_score") for r in reports]) if has_test else None
    stats = overfitting(trials, target, selection_window(folds).name, periods_per_year)
    pbo = stats["probability_of_backtest_overfitting"]
    efficiency = None
    if in_sample and out_of_sample is not None:
        efficiency = out_of_sample / in_sample
    return {
        "in_sample_score": in_sample,
        "out_of_sample_score": out_of_sample,
        "overfitting_score": pbo["pbo"] if pbo else None,
        "overfitting_score_definition": "probability of backtest overfitting (CSCV)",
        "walk_forward_efficiency": efficiency,
        **stats,
        "folds": reports,
    }


def heatmap(trials: Sequence[Trial], target: Target, x: str, y: str, window: str) -> dict[str, Any]:
    """The target over two parameters: each cell holds the best trial with those two values."""
    pool = searched(trials)
    xs = sorted({t["params"][x] for t in pool}, key=_order)
    ys = sorted({t["params"][y] for t in pool}, key=_order)
    cells: dict[tuple[Any, Any], float | None] = {}
    for trial in pool:
        key = (trial["params"][x], trial["params"][y])
        value = metric(trial, window, target.metric)
        if key not in cells or target.better(value, cells[key]):
            cells[key] = value
    z = [[display(target.metric, cells.get((xv, yv))) for xv in xs] for yv in ys]
    return {"x": x, "y": y, "x_values": xs, "y_values": ys, "z": z,
            "metric": target.metric, "window": window}  # fmt: skip


def _order(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, int | float) else (1, 0, str(value))
