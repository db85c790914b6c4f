"""The event outbox: a lifecycle event is a row written in the transaction of the state change
it reports, so a committed change always has its event, whatever crashes next.

A relay (``workers/relay.py``) sends each row to Redis and then deletes it; a row is deleted
only once the stream has it, so every event is delivered at least once. Rows carry the event's
unique id, which consumers deduplicate on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import Base, UTCDateTime, utcnow


class OutboxEvent(Base):
    """One lifecycle event not yet known to be in the Redis stream."""

    __tablename__ = "event_outbox"

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    job_id: Mapped[str] = mapped_column(sa.String(40))
    body: Mapped[str] = mapped_column(sa.Text)  # the envelope, as JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def add(session: Session, event_id: str, job_id: str, body: str) -> None:
    """Record an event in the caller's transaction."""
    session.add(OutboxEvent(event_id=event_id, job_id=job_id, body=body, created_at=utcnow()))


def pending(session: Session, created_before: datetime, limit: int = 500) -> list[str]:
    """Bodies of events recorded before ``created_before`` and not yet relayed, oldest first."""
    stmt = (
        sa.select(OutboxEvent.body)
        .where(OutboxEvent.created_at < created_before)
        .order_by(OutboxEvent.seq)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def remove(session: Session, event_ids: Sequence[str]) -> int:
    """Forget relayed events; how many rows went."""
    if not event_ids:
        return 0
    stmt = sa.delete(OutboxEvent).where(OutboxEvent.event_id.in_(list(event_ids)))
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def count(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) or 0)
