"""Jobs of every kind for the dashboard: the newest first, filtered; the backtest leaderboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import COMPLETED, Job, Result

LEADERBOARD_SCAN = 1000
"""Completed backtests (newest first) a leaderboard ranks."""


@dataclass(frozen=True)
class JobFilter:
    kind: str | None = None
    status: str | None = None
    strategy_id: str | None = None
    limit: int = 100


def list_jobs(session: Session, query: JobFilter) -> list[Job]:
    """The newest jobs matching every filter given."""
    stmt = sa.select(Job)
    for column, value in ((Job.kind, query.kind), (Job.status, query.status),
                          (Job.strategy_id, query.strategy_id)):  # fmt: skip
        if value:
            stmt = stmt.where(column == value)
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(query.limit)
    return list(session.scalars(stmt))


def completed_statistics(session: Session, limit: int = LEADERBOARD_SCAN) -> list[dict[str, Any]]:
    """``{id, name, strategy_id, finished_at, statistics}`` of the newest completed backtests
    (only the statistics object is read from each stored document)."""
    stmt = (
        sa.select(
            Job.id,
            Job.name,
            Job.strategy_id,
            Job.finished_at,
            Result.document["statistics"].label("statistics"),
        )  # fmt: skip
        .join(Result, Result.job_id == Job.id)
        .where(Job.kind == "backtest", Job.status == COMPLETED)
        .order_by(Job.finished_at.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(stmt)]
