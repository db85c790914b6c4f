"""Jobs of every kind for the dashboard: the newest first, filtered."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Job


@dataclass(frozen=True)
class JobFilter:
    kind: str | None = None
    status: str | None = None
    strategy_id: str | None = None
    owner: str | None = None  # None: every owner's jobs
    limit: int = 100


def list_jobs(session: Session, query: JobFilter) -> list[Job]:
    """The newest jobs matching every filter given."""
    stmt = sa.select(Job)
    filters = (
        (Job.kind, query.kind),
        (Job.status, query.status),
        (Job.strategy_id, query.strategy_id),
        (Job.owner, query.owner),
    )
    for column, value in filters:
        if value:
            stmt = stmt.where(column == value)
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(query.limit)
    return list(session.scalars(stmt))
