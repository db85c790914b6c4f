"""The lease a task holds on a running job, and the thread that keeps it alive.

A delivery of ``run_backtest`` first claims the job (a guarded UPDATE). While it computes, a
background thread refreshes the job's heartbeat; if the worker dies the heartbeat goes stale and
the job can be claimed again (by a redelivery or the reconciler's re-enqueue). Writes after the
claim are fenced by the lease id, so a run that lost its lease cannot overwrite the new one.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from store import jobs
from store.db import transaction
from store.models import utcnow
from tasks.context import TaskContext
from tasks.transient import in_place

log = logging.getLogger(__name__)
T = TypeVar("T")


class LeaseLost(Exception):
    """Another delivery owns the job now; this one must stop without writing."""


class OwnerBusy(Exception):
    """The job's owner already runs as many jobs as ``NAUTILUS_MAX_RUNNING_PER_OWNER`` allows:
    the job stays queued, untouched, until a later delivery finds a free turn."""

    def __init__(self, job_id: str, running: int) -> None:
        super().__init__(f"job {job_id}: its owner runs {running} jobs")
        self.job_id, self.running = job_id, running


@dataclass(frozen=True)
class Lease:
    job_id: str
    lease_id: str
    worker: str


def acquire(
    ctx: TaskContext, job_id: str, worker: str, then: Callable[[Session, Lease], T]
) -> tuple[Lease, T] | None:
    """Claim ``job_id`` for this delivery and run ``then`` in the claim's transaction (the
    started event commits with the claim); None when the job is not ours to run, ``OwnerBusy``
    when its owner has no free turn. A transient database error is retried in place
    (``tasks.transient``) before it reaches the task."""
    lease = Lease(job_id, uuid.uuid4().hex, worker)
    stale_before = utcnow() - timedelta(seconds=ctx.settings.job_stale_after_s)
    limit = ctx.settings.max_running_per_owner

    def claim() -> tuple[Lease, T] | None:
        with transaction(ctx.sessions) as session:
            running = jobs.running_of_owner(session, job_id, stale_before) if limit else 0
            if limit and running >= limit:
                raise OwnerBusy(job_id, running)
            if not jobs.claim(
                session, job_id, lease_id=lease.lease_id, worker=worker, stale_before=stale_before
            ):
                return None
            return lease, then(session, lease)

    return in_place(claim)


class LeaseKeeper(threading.Thread):
    """Refreshes the job's heartbeat every ``job_heartbeat_s`` and notes what it sees."""

    def __init__(self, ctx: TaskContext, lease: Lease) -> None:
        super().__init__(name=f"lease-{lease.job_id}", daemon=True)
        self._ctx, self._lease = ctx, lease
        self._stopped = threading.Event()
        self.status: str | None = jobs.RUNNING
        self.lost = False

    def run(self) -> None:
        while not self._stopped.wait(self._ctx.settings.job_heartbeat_s):
            self.refresh()

    def refresh(self, **progress: object) -> str | None:
        """Heartbeat (with optional progress fields); the job's status, None once lost."""
        try:
            with transaction(self._ctx.sessions) as session:
                status = jobs.touch(session, self._lease.job_id, self._lease.lease_id, **progress)
        except SQLAlchemyError as exc:  # a missed beat is not fatal; staleness takes 6 of them
            log.warning("heartbeat of %s failed: %s", self._lease.job_id, exc)
            return self.status
        self.status = status
        self.lost = status is None
        return status

    def __enter__(self) -> LeaseKeeper:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self.join(timeout=5)
