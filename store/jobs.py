"""Job rows and their guarded state transitions.

Every transition is one ``UPDATE ... WHERE status IN (...)`` so two deliveries of the same task,
a reconciler and a cancel request can race without corrupting a job. A running job carries a
``lease_id``: only the holder of the lease may report progress or finish it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.db import changed_one
from store.models import (
    ACTIVE,
    CANCELLED,
    CANCELLING,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    TERMINAL,
    Job,
    utcnow,
)

LEASED = (RUNNING, CANCELLING)


class SubmittedJob(NamedTuple):
    """The columns a submission answers with (and enqueues from)."""

    id: str
    kind: str
    status: str
    name: str | None
    symbols_count: int
    pool: str
    queue: str
    task_id: str | None
    spec_hash: str
    summary: dict[str, Any] | None
    created_at: datetime


SUBMITTED = SubmittedJob._fields


class QuotaExceeded(Exception):
    """The owner already has as many queued jobs as the quota allows; nothing was inserted."""

    def __init__(self, queued: int) -> None:
        super().__init__(f"{queued} queued jobs")
        self.queued = queued


def insert_job(
    db: Session | sa.Connection, values: dict[str, Any], queued_limit: int | None = None
) -> tuple[SubmittedJob, bool]:
    """Insert a job; with an ``idempotency_key`` already present, return that job instead.

    Returns ``(job, created)``. With ``queued_limit``, the insert happens only while the owner
    has fewer queued jobs, checked in the same statement (``INSERT ... SELECT ... WHERE count <
    limit``): one round trip for a new job, quota included. Raises ``QuotaExceeded`` when the
    quota refused it. The API passes a Core connection (a submit needs no session).

    A new job's ``SUBMITTED`` columns are the values given; the insert returns only the id and
    any the values leave to the column defaults (each returned column cost the API's submit
    about 6 us of psycopg's result description, in process).
    """
    conn = db.connection() if isinstance(db, Session) else db
    table = Job.__table__
    key = values.get("idempotency_key")
    given = {name: values[name] for name in SUBMITTED if name in values}
    returned = ("id", *(name for name in SUBMITTED if name not in given))
    stmt = _insert_statement(
        conn.dialect.name, tuple(values), returned, queued_limit is not None, bool(key)
    )
    params = {f"v_{name}": value for name, value in values.items()}
    row = conn.execute(stmt, {**params, "queued_limit": queued_limit}).one_or_none()
    if row is not None:
        return SubmittedJob(**(given | dict(row._mapping))), True
    columns = [table.c[name] for name in SUBMITTED]
    existing = None
    if key:
        found = conn.execute(sa.select(*columns).where(table.c.idempotency_key == key))
        existing = found.one_or_none()
    if existing is None:
        raise QuotaExceeded(queued_count(conn, values["owner"]))
    return SubmittedJob(*existing), False


@functools.lru_cache(maxsize=32)
def _insert_statement(
    dialect: str,
    names: tuple[str, ...],
    returned: tuple[str, ...],
    guarded: bool,
    idempotent: bool,
) -> Any:
    """The job insert for these columns, built once: bound parameters ``v_<column>`` (and
    ``queued_limit`` when ``guarded`` by the owner's count of queued jobs), returning the
    ``returned`` columns."""
    table = Job.__table__
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(cast(sa.Table, table))
    binds = [sa.bindparam(f"v_{n}", type_=table.c[n].type) for n in names]
    if not guarded:
        stmt = insert.values(dict(zip(names, binds, strict=True)))
    else:
        limit = sa.bindparam("queued_limit", type_=sa.Integer)
        queued = (  # counted up to the limit only: the check costs the same at any backlog
            sa.select(sa.literal(1))
            .where(Job.owner == sa.bindparam("v_owner"), Job.status == QUEUED)
            .limit(limit)
            .subquery()
        )
        waiting = sa.select(sa.func.count()).select_from(queued).scalar_subquery()
        stmt = insert.from_select(names, sa.select(*binds).where(waiting < limit))
    if idempotent:
        stmt = stmt.on_conflict_do_nothing(index_elements=["idempotency_key"])
    return stmt.returning(*(table.c[name] for name in returned))


def queued_count(db: Session | sa.Connection, owner: str) -> int:
    query = sa.select(sa.func.count()).where(Job.owner == owner, Job.status == QUEUED)
    return int(db.scalar(query) or 0)


def get_job(session: Session, job_id: str, owner: str | None = None) -> Job | None:
    """The job ``job_id``; with ``owner``, only when that owner submitted it (else None)."""
    job = session.get(Job, job_id)
    return None if job is None or (owner is not None and job.owner != owner) else job


def get_columns(
    conn: sa.Connection, job_id: str, columns: tuple[str, ...], owner: str | None = None
) -> sa.Row[Any] | None:
    """The named columns of job ``job_id`` in one Core query (a status read, the service's most
    frequent query, needs no session and no request); with ``owner``, only when that owner
    submitted it."""
    params = {"job_id": job_id, "owner": owner}
    return conn.execute(_columns_select(columns, owner is not None), params).one_or_none()


@functools.lru_cache(maxsize=8)
def _columns_select(names: tuple[str, ...], by_owner: bool) -> Any:
    table = Job.__table__
    stmt = sa.select(*(table.c[name] for name in names)).where(table.c.id == sa.bindparam("job_id"))
    if by_owner:
        stmt = stmt.where(table.c.owner == sa.bindparam("owner"))
    return stmt


def mark_enqueued(session: Session, job_id: str, task_id: str, **values: Any) -> bool:
    """Record the message that now carries a queued job (its task id and when it was sent);
    False when the job is no longer queued."""
    return _update(session, job_id, (QUEUED,), task_id=task_id, enqueued_at=utcnow(), **values)


OWNER_LOCKS = 0x4E42
"""The first key of the per-owner advisory locks (``pg_advisory_xact_lock(OWNER_LOCKS, h)``)."""


def running_of_owner(session: Session, job_id: str, stale_before: datetime) -> int:
    """How many other jobs of ``job_id``'s owner hold a live lease (running or cancelling, with
    a heartbeat since ``stale_before``: a job whose worker died does not hold a turn).

    On PostgreSQL the count is taken under a per-owner advisory lock held to the end of the
    transaction, so two workers claiming one owner's jobs at once count one after the other
    (SQLite serializes writers anyway)."""
    owner = session.scalar(sa.select(Job.owner).where(Job.id == job_id))
    if owner is None:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        lock = sa.func.pg_advisory_xact_lock(OWNER_LOCKS, sa.func.hashtext(owner))
        session.execute(sa.select(lock))
    query = sa.select(sa.func.count()).where(
        Job.owner == owner,
        Job.status.in_(LEASED),
        Job.heartbeat_at >= stale_before,
        Job.id != job_id,
    )
    return int(session.scalar(query) or 0)


def claim(
    session: Session, job_id: str, *, lease_id: str, worker: str, stale_before: datetime
) -> bool:
    """Take the lease of a queued job, or of a running one whose holder stopped heart-beating."""
    now = utcnow()
    takeable = sa.or_(
        Job.status == QUEUED,
        sa.and_(Job.status == RUNNING, Job.heartbeat_at < stale_before),
    )
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, Job.attempts < Job.max_attempts, takeable)
        .values(
            status=RUNNING,
            lease_id=lease_id,
            worker=worker,
            attempts=Job.attempts + 1,
            heartbeat_at=now,
            started_at=sa.func.coalesce(Job.started_at, now),
            error=None,
            updated_at=now,
        )
    )
    return changed_one(session, stmt)


def touch(session: Session, job_id: str, lease_id: str, **progress: Any) -> str | None:
    """Refresh the lease's heartbeat (and progress fields); the job's status, None if lease lost."""
    now = utcnow()
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, Job.lease_id == lease_id, Job.status.in_(LEASED))
        .values(heartbeat_at=now, updated_at=now, **progress)
        .returning(Job.status)
    )
    return session.execute(stmt).scalar_one_or_none()


def finish(session: Session, job_id: str, lease_id: str, status: str, **values: Any) -> bool:
    """End a leased job in ``status``; False when the lease was lost (someone else owns it)."""
    assert status in TERMINAL
    now = utcnow()
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, Job.lease_id == lease_id, Job.status.in_(LEASED))
        .values(status=status, finished_at=now, updated_at=now, lease_id=None, **values)
    )
    return changed_one(session, stmt)


def release(session: Session, job_id: str, lease_id: str) -> bool:
    """Give a leased job back to the queue (a retry will claim it again)."""
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, Job.lease_id == lease_id, Job.status == RUNNING)
        .values(status=QUEUED, lease_id=None, updated_at=utcnow())
    )
    return changed_one(session, stmt)


def request_cancel(session: Session, job_id: str) -> tuple[str | None, bool]:
    """Cancel a queued job outright, or ask a running one to stop.

    Returns ``(status now, whether this call changed it)``; status None for an unknown job.
    """
    now = utcnow()
    if _update(session, job_id, (QUEUED,), status=CANCELLED, finished_at=now):
        return CANCELLED, True
    if _update(session, job_id, (RUNNING,), status=CANCELLING):
        return CANCELLING, True
    return session.scalar(sa.select(Job.status).where(Job.id == job_id)), False


def delete_ended(session: Session, job_id: str) -> tuple[str | None, bool]:
    """Delete a job that has ended (completed, failed, cancelled) with everything stored for it:
    its result and optimization trials go with the row (``ON DELETE CASCADE``, on SQLite too:
    ``store.db`` turns ``foreign_keys`` on). One guarded ``DELETE ... WHERE status IN (...)``,
    so a job that a worker or a cancel moves at the same moment is either deleted ended or left
    alone. Returns ``(status, deleted)``: the status it had, or has when it was left alone
    (queued, running or cancelling); status None for an unknown job. Its outbox rows stay (they
    are events not yet relayed: ``workers/relay.py`` still sends them)."""
    stmt = (
        sa.delete(Job)
        .where(Job.id == job_id, Job.status.in_(TERMINAL))
        .returning(Job.status)
        .execution_options(synchronize_session=False)
    )
    status = session.execute(stmt).scalar_one_or_none()
    if status is not None:
        return status, True
    return session.scalar(sa.select(Job.status).where(Job.id == job_id)), False


def active_naming(
    session: Session, field: str, value: str, kinds: tuple[str, ...] | None = None, limit: int = 5
) -> list[str]:
    """Ids of queued or running jobs (of ``kinds``, any owner's) whose stored request names
    ``value`` in its top-level ``field`` (a ``signal_set_id``, a ``backtest_id``), oldest first,
    at most ``limit``: what must not be deleted under them."""
    stmt = sa.select(Job.id).where(Job.status.in_(ACTIVE), Job.spec[field].as_string() == value)
    if kinds is not None:
        stmt = stmt.where(Job.kind.in_(kinds))
    return list(session.scalars(stmt.order_by(Job.created_at).limit(limit)))


def fail_abandoned(
    session: Session, job_id: str, error: dict[str, Any], stale_before: datetime
) -> bool:
    """Fail a job nobody holds: queued, or leased by a holder that stopped heart-beating."""
    abandoned = sa.or_(
        Job.status == QUEUED,
        sa.and_(Job.status.in_(LEASED), Job.heartbeat_at < stale_before),
    )
    now = utcnow()
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, abandoned)
        .values(status=FAILED, error=error, finished_at=now, updated_at=now, lease_id=None)
    )
    return changed_one(session, stmt)


def requeue_stale(session: Session, job_id: str, stale_before: datetime) -> bool:
    """Put a running job whose holder stopped heart-beating back in the queue."""
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, Job.status == RUNNING, Job.heartbeat_at < stale_before)
        .values(status=QUEUED, lease_id=None, enqueued_at=utcnow(), updated_at=utcnow())
    )
    return changed_one(session, stmt)


def cancel_stale(session: Session, job_id: str, stale_before: datetime) -> bool:
    """End a cancelling job whose holder died before it could stop."""
    stmt = (
        sa.update(Job)
        .where(Job.id == job_id, Job.status == CANCELLING, Job.heartbeat_at < stale_before)
        .values(status=CANCELLED, lease_id=None, finished_at=utcnow(), updated_at=utcnow())
    )
    return changed_one(session, stmt)


def stale_jobs(session: Session, stale_before: datetime, limit: int = 100) -> list[Job]:
    """Leased jobs whose heartbeat is older than ``stale_before``."""
    stmt = (
        sa.select(Job)
        .where(Job.status.in_(LEASED), Job.heartbeat_at < stale_before)
        .order_by(Job.heartbeat_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def waiting_jobs(
    session: Session, unsent_before: datetime, resend_before: datetime, limit: int = 100
) -> list[Job]:
    """Queued jobs never sent since ``unsent_before``, or last sent before ``resend_before``."""
    unsent = sa.and_(Job.enqueued_at.is_(None), Job.created_at < unsent_before)
    stmt = (
        sa.select(Job)
        .where(Job.status == QUEUED, sa.or_(unsent, Job.enqueued_at < resend_before))
        .order_by(Job.created_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def mark_unsent(session: Session, job_id: str) -> None:
    """The broker refused the job's message: let the reconciler send it soon."""
    _update(session, job_id, (QUEUED,), enqueued_at=None)


@dataclass(frozen=True)
class JobStats:
    counts: dict[str, int]
    mean_run_seconds: float | None


def job_stats(session: Session, kind: str = "backtest") -> JobStats:
    """Job counts per status and the mean run time of completed jobs, from the table itself."""
    rows = session.execute(
        sa.select(Job.status, sa.func.count()).where(Job.kind == kind).group_by(Job.status)
    )
    counts = {status: int(n) for status, n in rows}
    durations = session.execute(
        sa.select(Job.started_at, Job.finished_at)
        .where(Job.kind == kind, Job.status == COMPLETED, Job.started_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(200)
    ).all()
    seconds = [(end - start).total_seconds() for start, end in durations if start and end]
    return JobStats(counts, sum(seconds) / len(seconds) if seconds else None)


@dataclass(frozen=True)
class Timing:
    """How one finished job went: its status, its wait in the queue and its run, in seconds."""

    status: str
    wait_s: float
    run_s: float


def recent_timings(session: Session, kind: str, limit: int = 200) -> list[Timing]:
    """The most recently finished (completed or failed) jobs of ``kind``, newest first."""
    rows = session.execute(
        sa.select(Job.status, Job.created_at, Job.started_at, Job.finished_at)
        .where(Job.kind == kind, Job.status.in_((COMPLETED, FAILED)))
        .where(Job.started_at.is_not(None), Job.finished_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(limit)
    ).all()
    return [
        Timing(status, (started - created).total_seconds(), (done - started).total_seconds())
        for status, created, started, done in rows
        if started is not None and done is not None
    ]


def _update(session: Session, job_id: str, from_states: tuple[str, ...], **values: Any) -> bool:
    values.setdefault("updated_at", utcnow())
    stmt = sa.update(Job).where(Job.id == job_id, Job.status.in_(from_states)).values(**values)
    return changed_one(session, stmt)
