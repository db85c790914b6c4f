"""Which pool runs a job: decided from its workload, its size and the pools that are alive.

GPU only pays for itself on large array programs (kernel launches and transfers dominate
small ones), so a job goes to the GPU pool when a GPU worker heart-beats and the job's work is
at least ``gpu_min_cells`` (parameter sets x bars x symbols). Otherwise, or with no live GPU
worker, the CPU pool takes it: a job is never parked on a queue nobody consumes.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.queues import queue_name


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
