"""The Monte Carlo fan chart: per-day percentiles of the book's value across simulated paths.

The run itself reduces each path to its final return and drawdown; the fan comes from the
run's first ``FAN_PATHS`` paths re-drawn day by day (``accel.montecarlo_paths``: the same
draws, so the same paths), which bounds its cost whatever the number of iterations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FAN_PATHS = 1000
FAN_PERCENTILES = (5, 25, 50, 75, 95)


def fan_document(values: np.ndarray, start_value: float) -> dict[str, Any]:
    """``values`` ``(paths, days)`` (the value at the end of each day) to the percentiles of
    each day, day 0 being the start value; amounts in the book's currency."""
    n_paths, horizon = values.shape
    levels = np.percentile(values, FAN_PERCENTILES, axis=0)
    start = np.full((len(FAN_PERCENTILES), 1), float(start_value))
    series = np.round(np.hstack([start, levels]), 2)
    return {
        "paths": int(n_paths),
        "days": list(range(horizon + 1)),
        "percentiles": {
            f"p{p}": row.tolist() for p, row in zip(FAN_PERCENTILES, series, strict=True)
        },
    }
