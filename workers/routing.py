"""Which pool runs a job: decided from its workload, its size and the pools that are alive.

GPU only pays for itself on large array programs (kernel launches and transfers dominate
small ones), so a job goes to the GPU pool when a GPU worker heart-beats and the job's work is
at least ``gpu_min_cells`` (parameter sets x bars x symbols). Otherwise, or with no live GPU
worker, the CPU pool takes it: a job is never parked on a queue nobody consumes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from workers.queues import queue_name

_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 2629746}
_FREQUENCY = re.compile(r"^\s*(\d*)\s*(s|min|m|h|d|w|mo)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Workload:
    kind: str  # "backtest", "optimize" or "montecarlo"
    cells: int  # parameter sets x bars x symbols
    acceleration_requested: bool = False


@dataclass(frozen=True)
class Route:
    pool: str
    queue: str
    reason: str


def choose_route(work: Workload, live_pools: set[str], gpu_min_cells: int) -> Route:
    """The pool and queue for ``work`` given the pools with live workers."""
    if "gpu" not in live_pools:
        reason = "no GPU worker alive" if work.acceleration_requested else "CPU by default"
        return Route("cpu", queue_name(work.kind, "cpu"), reason)
    if work.cells >= gpu_min_cells:
        return Route("gpu", queue_name(work.kind, "gpu"), f"{work.cells} cells on a live GPU")
    reason = f"{work.cells} cells is below the GPU threshold {gpu_min_cells}"
    return Route("cpu", queue_name(work.kind, "cpu"), reason)


def bar_seconds(frequency: str) -> int:
    """Seconds per bar of a frequency such as ``1d``, ``1h``, ``5m``, ``1w`` (``m`` = minutes)."""
    match = _FREQUENCY.match(frequency)
    if not match:
        raise ValueError(f"unknown frequency {frequency!r}")
    count = int(match.group(1) or 1)
    return max(1, count) * _SECONDS[match.group(2).lower()]


def estimate_bars(start: datetime, end: datetime, frequency: str) -> int:
    """Upper estimate of the bars between ``start`` and ``end`` (calendar time, no holidays)."""
    try:
        step = bar_seconds(frequency)
    except ValueError:
        step = _SECONDS["d"]
    return max(1, int((end - start).total_seconds() // step) + 1)
