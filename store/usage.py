"""What an owner stores: the bytes of their jobs' requests, results and optimization trials,
and of their uploaded signal sets.

Measured by the database itself, as stored: ``pg_column_size`` on PostgreSQL (after TOAST
compression, read from the value's header without fetching it), the JSON text's length in
bytes on SQLite. Market data (stored bars) is shared and imported by admins, so it counts for
no owner.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Job, Result
from store.signal_sets import SignalSet
from store.trials import OptimizationTrial


def stored_bytes(db: Session | sa.Connection, owner: str) -> int:
    """Bytes the owner holds: their jobs' requests, result documents (with their sections) and
    optimization trials, and their signal sets (four sums in one query: one round trip)."""
    dialect = (db.get_bind() if isinstance(db, Session) else db).dialect.name
    row = db.execute(_stored_bytes_query(dialect), {"owner": owner}).one()
    return sum(int(value) for value in row)


@functools.lru_cache(maxsize=4)
def _stored_bytes_query(dialect: str) -> Any:
    """The four sums for a bound ``owner``, built once per dialect: building the statement
    cost more CPU than PostgreSQL's answer for an owner with a hundred jobs."""
    owner = sa.bindparam("owner", type_=sa.String)
    mine = sa.select(Job.id).where(Job.owner == owner).scalar_subquery()
    parts = [
        sa.select(sa.func.sum(_size(dialect, Job.spec, Job.summary))).where(Job.owner == owner),
        sa.select(sa.func.sum(_size(dialect, Result.document, Result.sections))).where(
            Result.job_id.in_(mine)
        ),
        sa.select(
            sa.func.sum(
                _size(
                    dialect, OptimizationTrial.params, OptimizationTrial.scores,
                    OptimizationTrial.block_sums,
                )
            )
        ).where(OptimizationTrial.job_id.in_(mine)),
        sa.select(sa.func.sum(_size(dialect, SignalSet.symbols, SignalSet.weights))).where(
            SignalSet.owner == owner
        ),
    ]  # fmt: skip
    return sa.select(*(sa.func.coalesce(part.scalar_subquery(), 0) for part in parts))


def _size(dialect: str, *columns: Any) -> Any:
    """The stored bytes of ``columns`` of one row, as a SQL expression (NULL counts 0)."""
    if dialect == "postgresql":
        sizes = [sa.func.coalesce(sa.func.pg_column_size(c), 0) for c in columns]
    else:
        sizes = [sa.func.coalesce(sa.func.length(sa.cast(c, sa.LargeBinary)), 0) for c in columns]
    return sum(sizes[1:], sizes[0])
