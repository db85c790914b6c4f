"""Tables of the job service: one row per job (the truth of its state) and one per result.

The schema changes only through Alembic migrations in ``migrations/``; a test fails when these
models and the migrations disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

QUEUED, RUNNING, CANCELLING = "queued", "running", "cancelling"
COMPLETED, FAILED, CANCELLED = "completed", "failed", "cancelled"
ACTIVE = (QUEUED, RUNNING, CANCELLING)
TERMINAL = (COMPLETED, FAILED, CANCELLED)
STATUSES = ACTIVE + TERMINAL

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Float64Matrix(sa.TypeDecorator):
    """A 2-D float64 array stored as its column count (4 bytes) and its little-endian values.

    Read back as a numpy array without parsing: a 10,000-set optimization's CSCV block sums
    load in a sixth of the time their JSON took, and NaN and infinities survive the trip."""

    impl = sa.LargeBinary
    cache_ok = True
    HEADER = np.dtype("<u4")

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None:
            return None
        matrix = np.asarray(value, dtype="<f8")
        if matrix.ndim != 2:
            raise ValueError(f"a 2-D array is needed, got shape {matrix.shape}")
        return np.asarray(matrix.shape[1], dtype=self.HEADER).tobytes() + matrix.tobytes()

    def process_result_value(self, value: bytes | None, dialect: Any) -> np.ndarray | None:
        if value is None:
            return None
        columns = int.from_bytes(value[: self.HEADER.itemsize], "little")
        return np.frombuffer(value, dtype="<f8", offset=self.HEADER.itemsize).reshape(-1, columns)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class Job(Base):
    """A submitted unit of work and everything the status endpoint reports about it."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        sa.Index(None, "status", "created_at"),
        sa.Index(None, "kind", "created_at"),
        sa.Index(None, "owner", "status"),
    )

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    owner: Mapped[str] = mapped_column(sa.String(64))  # the API key's owner who submitted it
    status: Mapped[str] = mapped_column(sa.String(16), default=QUEUED)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    backtest_type: Mapped[str | None] = mapped_column(sa.String(64))
    strategy_id: Mapped[str | None] = mapped_column(sa.String(128))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    spec_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    symbols_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    acceleration_requested: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    workload: Mapped[str] = mapped_column(sa.String(16))
    pool: Mapped[str] = mapped_column(sa.String(8))
    queue: Mapped[str] = mapped_column(sa.String(32))
    task_id: Mapped[str | None] = mapped_column(sa.String(64))

    progress_percentage: Mapped[float] = mapped_column(sa.Float, default=0.0)
    progress_message: Mapped[str | None] = mapped_column(sa.String(200))
    bar_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processing_time_ms: Mapped[float | None] = mapped_column(sa.Float)
    data_points_processed: Mapped[int | None] = mapped_column(sa.BigInteger)
    orders_executed: Mapped[int | None] = mapped_column(sa.Integer)
    trades_completed: Mapped[int | None] = mapped_column(sa.Integer)
    hardware_used: Mapped[str | None] = mapped_column(sa.String(64))
    memory_usage_mb: Mapped[float | None] = mapped_column(sa.Float)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)

    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(sa.Integer, default=3)
    lease_id: Mapped[str | None] = mapped_column(sa.String(32))
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    result: Mapped[Result | None] = relationship(back_populates="job", uselist=False)


class Result(Base):
    """The stored result document of a completed job, written once per job (upsert by id)."""

    __tablename__ = "results"

    job_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    sections: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    digest: Mapped[str] = mapped_column(sa.String(64))
    dataset_version: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    job: Mapped[Job] = relationship(back_populates="result")


# The bar store's and the optimization trials' tables live in their own modules; importing them
# here puts them on Base.metadata wherever the models are loaded (Alembic, the schema check).
from store import keys, outbox, signal_sets, trials  # noqa: E402, F401
from store.bars import models as bar_models  # noqa: E402, F401
