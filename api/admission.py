"""Admitting a job before anything is stored or enqueued: its work size and its owner's quota.

The work of a request is its kind's ``JobLabels.cells`` (symbols x bars for a backtest, times
parameter sets for an optimization, paths x days x assets x runs for a stress test); a request
over its kind's limit is a 422 that states the size asked and the limit. An owner with
``NAUTILUS_QUOTA_QUEUED_JOBS`` jobs waiting is refused with 429 until some start or end (the
count is checked inside the insert itself: ``store.jobs.insert_job``). An owner whose jobs
already hold ``NAUTILUS_QUOTA_STORED_BYTES`` (requests, results, trials, signal sets:
``store.usage``) is refused with 422 stating the size and the limit, for jobs and for signal
uploads alike.
"""

from __future__ import annotations

from typing import NoReturn

from api.context import ServiceContext
from api.errors import fail
from workers.kinds import JobKind

WORK_UNITS = {
    "backtest": "symbols x bars",
    "optimize": "parameter sets x symbols x bars",
    "montecarlo": "paths x days x assets x runs (the base run and each scenario)",
}
RETRY_AFTER_S = 5


def check_work(ctx: ServiceContext, kind: JobKind, cells: int) -> None:
    """422 when the request asks for more work than its kind's limit."""
    limit = ctx.settings.max_work(kind.workload)
    if cells <= limit:
        return
    variable = f"NAUTILUS_MAX_WORK_{kind.workload.upper()}"
    message = (
        f"this {kind.label} asks for {cells:,} units of work ({WORK_UNITS[kind.workload]}); "
        f"the limit is {limit:,} ({variable}): shorten the dates, use fewer symbols, a coarser "
        "frequency or fewer sets"
    )
    fail(422, message, {"work": [message]}, extra={"work_requested": cells, "work_limit": limit})


def check_stored(ctx: ServiceContext, owner: str) -> None:
    """422 when the owner's stored bytes already reach ``NAUTILUS_QUOTA_STORED_BYTES``."""
    limit = ctx.settings.quota_stored_bytes
    if not limit:
        return
    used = ctx.stored_bytes(owner)
    if used < limit:
        return
    message = (
        f"{owner} stores {used:,} bytes of requests, results and signal sets, the most allowed "
        f"(NAUTILUS_QUOTA_STORED_BYTES={limit:,}); an operator can raise the limit"
    )
    fail(
        422,
        message,
        {"stored_bytes": [message]},
        extra={"stored_bytes": used, "stored_bytes_limit": limit},
    )


def over_quota(ctx: ServiceContext, owner: str, queued: int) -> NoReturn:
    """429: the owner already has as many queued jobs as the quota allows."""
    limit = ctx.settings.quota_queued_jobs
    fail(
        429,
        f"{owner} has {queued} queued jobs, the most allowed (NAUTILUS_QUOTA_QUEUED_JOBS="
        f"{limit}); retry once some have started",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
