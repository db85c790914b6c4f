"""The progress callback handed to the engine: row, event and cancellation in one place."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import Any

from store import jobs
from tasks.context import TaskContext
from tasks.lease import Lease, LeaseKeeper, LeaseLost
from workers.events import ProgressThrottle


def peak_rss_mb() -> float:
    """Peak resident memory of this worker process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class ProgressReporter:
    """``progress(fraction, message)``: writes the job row and publishes a progress event
    (both throttled), and raises ``Cancelled`` once a cancel was requested."""

    def __init__(
        self,
        ctx: TaskContext,
        lease: Lease,
        keeper: LeaseKeeper,
        publish: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self._ctx, self._lease, self._keeper, self._publish = ctx, lease, keeper, publish
        self._throttle = ProgressThrottle(ctx.settings.progress_interval_s)
        self._started = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._started) * 1000.0

    def __call__(self, fraction: float, message: str = "") -> None:
        from engine.errors import Cancelled

        self._check_lease()
        if self._keeper.status == jobs.CANCELLING:
            raise Cancelled("cancel requested")
        if not self._throttle.allow(fraction):
            return
        percentage = round(max(0.0, min(1.0, float(fraction))) * 100.0, 2)
        fields = {
            "progress_percentage": percentage,
            "progress_message": message[:200],
            "processing_time_ms": round(self.elapsed_ms(), 3),
            "memory_usage_mb": round(peak_rss_mb(), 1),
        }
        status = self._keeper.refresh(**fields)
        self._check_lease()
        if status == jobs.CANCELLING:
            raise Cancelled(f"cancel requested at {percentage}%")
        self._publish("backtest_progress", fields)

    def _check_lease(self) -> None:
        if self._keeper.lost:
            raise LeaseLost(self._lease.job_id)
