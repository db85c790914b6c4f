"""What an owner stores: the bytes of their jobs' requests, results and optimization trials,
and of their uploaded signal sets.

Measured by the database itself, as stored: ``pg_column_size`` on PostgreSQL (after TOAST
compression, read from the value's header without fetching it), the JSON text's length in
bytes on SQLite. Market data (stored bars) is shared and imported by admins, so it counts for
no owner.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Job, Result
from store.signal_sets import SignalSet
from store.trials import OptimizationTrial


def _size(session: Session, *columns: Any) -> Any:
    """The stored bytes of ``columns`` of one row, as a SQL expression (NULL counts 0)."""
    if session.get_bind().dialect.name == "postgresql":
        sizes = [sa.func.coalesce(sa.func.pg_column_size(c), 0) for c in columns]
    else:
        sizes = [sa.func.coalesce(sa.func.length(sa.cast(c, sa.LargeBinary)), 0) for c in columns]
    return sum(sizes[1:], sizes[0])


def stored_bytes(session: Session, owner: str) -> int:
    """Bytes the owner holds: their jobs' requests, result documents (with their sections) and
    optimization trials, and their signal sets (four sums in one query: one round trip)."""
    mine = sa.select(Job.id).where(Job.owner == owner).scalar_subquery()
    parts = [
        sa.select(sa.func.sum(_size(session, Job.spec, Job.summary))).where(Job.owner == owner),
        sa.select(sa.func.sum(_size(session, Result.document, Result.sections))).where(
            Result.job_id.in_(mine)
        ),
        sa.select(
            sa.func.sum(
                _size(
                    session, OptimizationTrial.params, OptimizationTrial.scores,
                    OptimizationTrial.block_sums,
                )
            )
        ).where(OptimizationTrial.job_id.in_(mine)),
        sa.select(sa.func.sum(_size(session, SignalSet.symbols, SignalSet.weights))).where(
            SignalSet.owner == owner
        ),
    ]  # fmt: skip
    sums = sa.select(*(sa.func.coalesce(part.scalar_subquery(), 0) for part in parts))
    return sum(int(value) for value in session.execute(sums).one())
