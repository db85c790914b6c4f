"""Filtering, sorting and paging of job rows for ``POST /backtests/query``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.metric_table import BY_NAME
from store.models import Job

COLUMNS = {
    "created_at": Job.created_at,
    "started_at": Job.started_at,
    "finished_at": Job.finished_at,
    "status": Job.status,
    "backtest_name": Job.name,
    "processing_time_ms": Job.processing_time_ms,
    "progress_percentage": Job.progress_percentage,
}
SORTABLE = (*COLUMNS, *BY_NAME)


@dataclass(frozen=True)
class JobQuery:
    kind: str = "backtest"
    owner: str | None = None  # None: every owner's jobs
    statuses: tuple[str, ...] = ()
    backtest_type: str | None = None
    strategy_id: str | None = None
    name_contains: str | None = None
    spec_hash: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: tuple[str, ...] = field(default=("-created_at",))
    page: int = 1
    page_size: int = 50


def search_jobs(session: Session, query: JobQuery) -> tuple[list[Job], int]:
    """One page of matching jobs and the total number of matches."""
    where = _conditions(query)
    total = session.scalar(sa.select(sa.func.count()).select_from(Job).where(*where)) or 0
    stmt = (
        sa.select(Job)
        .where(*where)
        .order_by(*_ordering(query.sort))
        .offset((query.page - 1) * query.page_size)
        .limit(query.page_size)
    )
    return list(session.scalars(stmt)), int(total)


def _conditions(q: JobQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Job.kind == q.kind]
    if q.owner is not None:
        where.append(Job.owner == q.owner)
    if q.statuses:
        where.append(Job.status.in_(q.statuses))
    if q.backtest_type:
        where.append(Job.backtest_type == q.backtest_type)
    if q.strategy_id:
        where.append(Job.strategy_id == q.strategy_id)
    if q.spec_hash:
        where.append(Job.spec_hash == q.spec_hash)
    if q.name_contains:
        pattern = "%" + q.name_contains.replace("%", r"\%").replace("_", r"\_") + "%"
        where.append(Job.name.ilike(pattern, escape="\\"))
    if q.created_after:
        where.append(Job.created_at >= q.created_after)
    if q.created_before:
        where.append(Job.created_at < q.created_before)
    return where


def _sort_key(name: str) -> Any:
    """A column, or a metric of ``engine.metric_table`` from the row's ``metrics`` JSON."""
    if name in COLUMNS:
        return COLUMNS[name]
    return Job.metrics[name].as_float()


def _ordering(sort: tuple[str, ...]) -> list[Any]:
    order: list[Any] = []
    for key in sort:
        column = _sort_key(key.lstrip("-"))
        order.append((column.desc() if key.startswith("-") else column.asc()).nulls_last())
    order.append(Job.id.desc())  # ids are ULIDs: a stable tie-break
    return order
