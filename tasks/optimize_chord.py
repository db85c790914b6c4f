"""The shape of an optimization chord: how sets are batched, and the chord that scores them.

Header tasks each score one contiguous range of trial indices on the job's pool queue; the body
(on ``control``) reads every trial back from the database. Messages carry ids and integers only.
A GPU task takes thousands of sets (one kernel call keeps the device busy); CPU tasks are sized
so that every live CPU process gets work, and batches are equal so that they share one compiled
program shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from celery import chord

from workers.queues import CONTROL
from workers.settings import Settings

MIN_CPU_BATCH = 16


def batch_count(n_sets: int, pool: str, cpu_slots: int, settings: Settings, parallel: bool) -> int:
    """How many header tasks ``n_sets`` sets are split into."""
    if n_sets <= 0:
        return 0
    if not parallel:
        return 1
    if pool == "gpu":
        return math.ceil(n_sets / settings.optimization_gpu_batch)
    by_size = math.ceil(n_sets / settings.optimization_cpu_batch)
    by_slots = min(max(1, cpu_slots), math.ceil(n_sets / MIN_CPU_BATCH))
    return max(by_size, by_slots)


def batches(indices: Sequence[int], count: int) -> list[tuple[int, int]]:
    """``count`` half-open index ranges over sorted ``indices``, sizes differing by at most one."""
    if not indices or count <= 0:
        return []
    count = min(count, len(indices))
    bounds = [round(i * len(indices) / count) for i in range(count + 1)]
    return [(indices[a], indices[b - 1] + 1) for a, b in zip(bounds, bounds[1:], strict=False)]


def cpu_slots(workers: Sequence[dict[str, Any]]) -> int:
    """Pool processes of the live CPU workers (from their heartbeats)."""
    return sum(int(w.get("concurrency") or 1) for w in workers if w.get("pool") == "cpu")


def launch(
    batch_task: Any,
    finish_task: Any,
    job_id: str,
    lease_id: str,
    queue: str,
    ranges: Sequence[tuple[int, int]],
    round_no: int,
) -> None:
    """Send the chord of ``ranges`` with the finishing callback; no header: the callback alone
    (Celery never calls the body of an empty chord)."""
    body = finish_task.si(job_id, lease_id, round_no).set(queue=CONTROL)
    if not ranges:
        body.apply_async()
        return
    header = [batch_task.si(job_id, lease_id, a, b).set(queue=queue) for a, b in ranges]
    chord(header)(body)
