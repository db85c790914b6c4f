"""The progress callback handed to the engine: row, event and cancellation in one place."""

from __future__ import annotations

import logging
import resource
import time
from datetime import datetime
from typing import Any

from store import jobs
from tasks.context import TaskContext
from tasks.lease import Lease, LeaseKeeper, LeaseLost
from workers.events import ProgressThrottle
from workers.kinds import PROGRESS, JobKind
from workers.timestamps import iso_utc

log = logging.getLogger(__name__)


def peak_rss_mb() -> float:
    """Peak resident memory of this worker process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class ProgressReporter:
    """``progress(fraction, message, at=None)``: writes the job row and publishes the kind's
    progress event (both throttled), and raises ``Cancelled`` once a cancel was requested.

    ``fraction`` is of the whole job; it is capped below 1 because only the completion marks a
    job 100 %. ``at`` is the simulated time reached (the status's ``current_date``)."""

    CAP = 0.99

    def __init__(self, ctx: TaskContext, kind: JobKind, lease: Lease, keeper: LeaseKeeper) -> None:
        self._ctx, self._kind, self._lease, self._keeper = ctx, kind, lease, keeper
        self._throttle = ProgressThrottle(ctx.settings.progress_interval_s)
        self._started = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._started) * 1000.0

    def __call__(self, fraction: float, message: str = "", at: datetime | None = None) -> None:
        from engine.errors import Cancelled

        self._check_lease()
        if self._keeper.status == jobs.CANCELLING:
            raise Cancelled("cancel requested")
        if not self._throttle.allow(fraction):
            return
        percentage = round(max(0.0, min(self.CAP, float(fraction))) * 100.0, 2)
        fields: dict[str, Any] = {
            "progress_percentage": percentage,
            "progress_message": message[:200],
            "processing_time_ms": round(self.elapsed_ms(), 3),
            "memory_usage_mb": round(peak_rss_mb(), 1),
        }
        if at is not None:
            fields["bar_time"] = at
        status = self._keeper.refresh(**fields)
        self._check_lease()
        if status == jobs.CANCELLING:
            raise Cancelled(f"cancel requested at {percentage}%")
        self._publish(fields)

    def _publish(self, fields: dict[str, Any]) -> None:
        data = {k: v for k, v in fields.items() if k != "bar_time"}
        if "bar_time" in fields:
            data["current_date"] = iso_utc(fields["bar_time"])
        try:
            self._ctx.events.publish(self._kind, PROGRESS, self._lease.job_id, data)
        except Exception as exc:  # progress is fire and forget; the row already has it
            log.warning("could not publish progress of %s: %s", self._lease.job_id, exc)

    def _check_lease(self) -> None:
        if self._keeper.lost:
            raise LeaseLost(self._lease.job_id)
