"""The equity curves of an optimization's best parameter sets, for its report.

Trials store scores, not paths, so the finished job re-simulates its few best sets with the
single-backtest engine (``run_backtest``) on the same market and the base spec's whole dates:
in-sample and out-of-sample bars alike, so the curve shows how each set fared after the
window it was chosen on. Curves are thinned to at most ``MAX_POINTS`` points (evenly spaced
bars, the first and last kept) so that a minute-bar search stores a chart, not every bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from engine.backtest import run_backtest
from engine.market import Market
from engine.optimize.request import OptimizationRequest
from engine.optimize.results import Trial, ranked
from engine.optimize.windows import Window

BEST_CURVES = 5
MAX_POINTS = 2000
CURVES = "best_set_curves"
"""The curves' key in the stored result document."""


def thinned(n: int, limit: int = MAX_POINTS) -> np.ndarray:
    """At most ``limit`` evenly spaced indices of ``n`` points, first and last included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(np.int64))


def _iso(stamps: np.ndarray) -> list[str]:
    return [str(t) + "Z" for t in np.datetime_as_string(stamps, "s")]


def best_set_curves(
    request: OptimizationRequest,
    market: Market,
    trials: Sequence[Trial],
    selection: Window,
    n: int = BEST_CURVES,
) -> dict[str, Any]:
    """``{"timestamps", "selection_window", "curves": [{"rank", "index", "parameters",
    "equity", "final_equity"}]}`` for the ``n`` best searched sets on ``selection``."""
    base = request.base_spec
    runs = [
        (trial, run_backtest(replace(base, strategy_parameters=dict(trial["params"])), market))
        for trial in ranked(trials, request.target, selection.name)[:n]
    ]
    if not runs:
        return {"timestamps": [], "selection_window": None, "curves": []}
    stamps = runs[0][1].market.timestamps
    keep = thinned(len(stamps))
    window = _iso(stamps[[selection.start, selection.stop - 1]])
    return {
        "timestamps": _iso(stamps[keep]),
        "selection_window": {"name": selection.name, "start": window[0], "end": window[1]},
        "curves": [
            {
                "rank": rank,
                "index": trial["index"],
                "parameters": dict(trial["params"]),
                "equity": result.equity[keep].round(4).tolist(),
                "final_equity": float(result.equity[-1]),
            }
            for rank, (trial, result) in enumerate(runs, start=1)
        ],
    }
