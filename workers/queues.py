"""Queue names: ``<workload>.<pool>`` for the work, plus ``control`` for bookkeeping."""

from __future__ import annotations

from workers.kinds import WORKLOADS

POOLS = ("cpu", "gpu")
CONTROL = "control"


def queue_name(workload: str, pool: str) -> str:
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; expected one of {WORKLOADS}")
    if pool not in POOLS:
        raise ValueError(f"unknown pool {pool!r}; expected one of {POOLS}")
    return f"{workload}.{pool}"


def pool_queues(pool: str) -> list[str]:
    """The queues a worker of ``pool`` consumes (CPU workers also do the control work)."""
    queues = [queue_name(workload, pool) for workload in WORKLOADS]
    return queues + [CONTROL] if pool == "cpu" else queues


def pool_of_queues(queues: list[str]) -> str:
    """The pool a worker belongs to, from the queues it consumes."""
    return "gpu" if any(q.endswith(".gpu") for q in queues) else "cpu"


ALL_QUEUES = [queue_name(w, p) for w in WORKLOADS for p in POOLS] + [CONTROL]
