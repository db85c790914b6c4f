"""Trials of optimization jobs: one row per parameter set, written once, scored idempotently.

A first-round trial (the grid, the random draws, Bayesian round 0) is computed from the
request, not stored by the plan: the chord's header task that scores it writes its row
(``save_scores``, an upsert on ``(job_id, idx)``), so the serial plan step writes nothing and a
redelivered batch rewrites the same row. Later Bayesian rounds depend on earlier scores, so
their trials are stored first (``insert_trials``) and scored by the same upsert.
``score`` is the target metric, oriented so that higher is better, on the selection window;
``block_sums`` the CSCV block sums on it, as float64 bytes (``Float64Matrix``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import dialect_insert, finite_json
from store.models import Base, Float64Matrix, JSONDoc, UTCDateTime, utcnow


class OptimizationTrial(Base):
    """One parameter set of an optimization job, with its metrics per validation window."""

    __tablename__ = "optimization_trials"
    __table_args__ = (sa.Index(None, "job_id", "score"),)

    job_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    round: Mapped[int] = mapped_column(sa.Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    searched: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    baseline: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    block_sums: Mapped[Any] = mapped_column(Float64Matrix, nullable=True)
    score: Mapped[float | None] = mapped_column(sa.Float)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def insert_trials(session: Session, job_id: str, stubs: Sequence[dict[str, Any]], round_: int):
    """Create the rows of ``stubs`` (``index``, ``params``, ``searched``, ``baseline``) once."""
    table = cast(sa.Table, OptimizationTrial.__table__)
    rows = [
        {
            "job_id": job_id,
            "idx": s["index"],
            "round": round_,
            "params": s["params"],
            "searched": s.get("searched", True),
            "baseline": s.get("baseline", False),
        }
        for s in stubs
    ]
    if not rows:
        return
    # executemany: SQLAlchemy batches it ("insertmanyvalues"), 5x faster than one VALUES list
    stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=["job_id", "idx"])
    session.execute(stmt, rows)


def save_scores(session: Session, job_id: str, trials: Iterable[dict[str, Any]]) -> None:
    """Store scored trials (``index``, ``round``, ``params``, ``searched``, ``baseline``,
    ``scores``, ``blocks``, ``score``): one upsert, so a first-round trial is written once, by
    the batch that scores it, and a redelivered batch rewrites the same row."""
    table = cast(sa.Table, OptimizationTrial.__table__)
    now = utcnow()
    rows = [
        {
            "job_id": job_id,
            "idx": t["index"],
            "round": t.get("round", 0),
            "params": t["params"],
            "searched": t.get("searched", True),
            "baseline": t.get("baseline", False),
            "scores": t["scores"],
            "block_sums": t.get("blocks"),
            "score": t.get("score"),
            "scored_at": now,
        }
        for t in trials
    ]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(UPSERT_ARRAYS, _as_arrays(rows, job_id, now))
        return
    stmt = dialect_insert(session, table)
    scored = {c: stmt.excluded[c] for c in SCORED}
    session.execute(stmt.on_conflict_do_update(index_elements=["job_id", "idx"], set_=scored), rows)


SCORED = ("scores", "block_sums", "score", "scored_at")
ARRAY_COLUMNS = {
    "idx": "integer[]",
    "round": "integer[]",
    "searched": "boolean[]",
    "baseline": "boolean[]",
    "block_sums": "bytea[]",
    "score": "float8[]",
}
JSON_COLUMNS = ("params", "scores")
UPSERT_ARRAYS = sa.text(
    "INSERT INTO optimization_trials (job_id, idx, round, params, searched, baseline, scores, "
    "block_sums, score, scored_at) "
    "SELECT :job_id, t.idx, t.round, p.value, t.searched, t.baseline, s.value, t.block_sums, "
    "t.score, :scored_at FROM unnest("
    + ", ".join(f"CAST(:{c} AS {kind})" for c, kind in ARRAY_COLUMNS.items())
    + f") WITH ORDINALITY AS t({', '.join(ARRAY_COLUMNS)}, n) "
    "JOIN jsonb_array_elements(CAST(:params AS jsonb)) WITH ORDINALITY AS p(value, n) USING (n) "
    "JOIN jsonb_array_elements(CAST(:scores AS jsonb)) WITH ORDINALITY AS s(value, n) USING (n) "
    "ON CONFLICT (job_id, idx) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in SCORED)
)
"""On PostgreSQL a batch's rows go in one statement (column arrays, and one JSON document per
JSON column), not a pipeline of one INSERT per row: a worker host cut off part-way through
sending a pipeline leaves a session that holds the rows it has written and waits for the rest,
where no timeout applies (``idle_in_transaction_session_timeout`` starts after a whole
statement; docs/deploy.md), so the redelivered batch would wait on those rows for as long as
TCP takes to notice."""


def _as_arrays(rows: list[dict[str, Any]], job_id: str, now: Any) -> dict[str, Any]:
    matrix = Float64Matrix()
    arrays: dict[str, Any] = {"job_id": job_id, "scored_at": now}
    for column in ARRAY_COLUMNS:
        arrays[column] = [row[column] for row in rows]
    arrays["block_sums"] = [matrix.process_bind_param(v, None) for v in arrays["block_sums"]]
    for column in JSON_COLUMNS:
        arrays[column] = finite_json([row[column] for row in rows])
    return arrays


def unscored(session: Session, job_id: str, planned: int) -> list[int]:
    """Indices still to score, in order: those of the first ``planned`` trials (the plan's
    first round, whose rows the scoring batches create) without a scored row, and the stored
    trials of later rounds without scores."""
    t = OptimizationTrial
    rows = session.execute(sa.select(t.idx, t.scored_at.is_not(None)).where(t.job_id == job_id))
    scored: set[int] = set()
    stored: set[int] = set()
    for idx, done in rows:
        (scored if done else stored).add(idx)
    return sorted((set(range(planned)) - scored) | stored)


def stubs_between(
    session: Session, job_id: str, first: int, last: int, planned: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The trials to score with ``first <= idx < last``, as engine stubs: those of ``planned``
    (the first round, ``planned[i]["index"] == i``) without a scored row, and stored unscored
    trials of later rounds."""
    t = OptimizationTrial
    stmt = (
        sa.select(
            t.idx, t.round, t.params, t.searched, t.baseline,
            t.scored_at.is_not(None).label("scored"),
        )
        .where(t.job_id == job_id, t.idx >= first, t.idx < last)
        .order_by(t.idx)
    )  # fmt: skip
    rows = session.execute(stmt).all()
    scored = {r.idx for r in rows if r.scored}
    stubs = [{**s, "round": 0} for s in planned[first:last] if s["index"] not in scored]
    later = [
        {"index": r.idx, "round": r.round, "params": r.params, "searched": r.searched,
         "baseline": r.baseline}
        for r in rows
        if not r.scored and r.idx >= len(planned)
    ]  # fmt: skip
    return stubs + later


def all_trials(session: Session, job_id: str, scored_only: bool = True) -> list[dict[str, Any]]:
    """Every trial of the job as an engine trial dict, in index order (Core rows: no ORM
    loading for what can be 100,000 rows)."""
    t = OptimizationTrial
    columns = (t.idx, t.round, t.params, t.searched, t.baseline, t.scores, t.block_sums, t.score)
    stmt = sa.select(*columns).where(t.job_id == job_id).order_by(t.idx)
    if scored_only:
        stmt = stmt.where(t.scored_at.is_not(None))
    return [as_dict(row) for row in session.connection().execute(stmt)]


def ranking_trials(
    session: Session, job_id: str, metric: str, windows: Sequence[str]
) -> list[dict[str, Any]]:
    """Every scored trial as an engine trial dict holding what ranking needs: ``scores`` keeps
    only ``metric`` on each of ``windows``, read out of the stored scores by the database.

    A 10,000-set job's full scores are megabytes of JSON that the finishing step would decode
    to read one number per window; its serial time bounds how a chord scales with workers."""
    t = OptimizationTrial
    values = [t.scores[w][metric].as_float() for w in windows]
    columns = (t.idx, t.round, t.params, t.searched, t.baseline, t.block_sums, t.score)
    stmt = (
        sa.select(*columns, *values)
        .where(t.job_id == job_id, t.scored_at.is_not(None))
        .order_by(t.idx)
    )
    first = len(columns)
    return [
        _trial(row, {w: {metric: row[first + i]} for i, w in enumerate(windows)})
        for row in session.connection().execute(stmt)  # Core rows: no ORM loading per row
    ]


def as_dict(row: Any) -> dict[str, Any]:
    return _trial(row, row.scores)


def _trial(row: Any, scores: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "index": row.idx,
        "round": row.round,
        "params": row.params,
        "searched": row.searched,
        "baseline": row.baseline,
        "scores": scores,
        "blocks": row.block_sums,
        "score": row.score,
    }


@dataclass(frozen=True)
class Progress:
    total: int  # searched trials created so far
    completed: int  # searched trials scored
    best_index: int | None
    best_score: float | None  # oriented
    best_params: dict[str, Any] | None
    best_scores: dict[str, Any] | None  # metrics per window


def progress(session: Session, job_id: str) -> Progress:
    """Counts of searched trials and the best scored one so far (two small queries)."""
    t = OptimizationTrial
    searched = sa.and_(t.job_id == job_id, t.searched.is_(True))
    total, completed = session.execute(
        sa.select(sa.func.count(), sa.func.count(t.scored_at)).where(searched)
    ).one()
    best = session.execute(
        sa.select(t.idx, t.score, t.params, t.scores)
        .where(searched, t.score.is_not(None))
        .order_by(t.score.desc(), t.idx)
        .limit(1)
    ).first()
    if best is None:
        return Progress(int(total), int(completed), None, None, None, None)
    return Progress(int(total), int(completed), best.idx, best.score, best.params, best.scores)


def latest_round(session: Session, job_id: str) -> int:
    """The latest round created (0 for grid and random searches)."""
    latest = session.scalar(
        sa.select(sa.func.max(OptimizationTrial.round)).where(OptimizationTrial.job_id == job_id)
    )
    return 0 if latest is None else int(latest)


def trial_count(session: Session, job_id: str) -> int:
    return int(
        session.scalar(sa.select(sa.func.count()).where(OptimizationTrial.job_id == job_id)) or 0
    )


SORT_KEYS = ("index", "score")


def page_trials(
    session: Session,
    job_id: str,
    *,
    window: str,
    sort: str,
    descending: bool,
    page: int,
    page_size: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of scored trials sorted by ``index``, ``score`` or any metric on ``window``.

    Trials whose sort value is undefined come last either way; ties keep index order.
    """
    t = OptimizationTrial
    where = sa.and_(t.job_id == job_id, t.scored_at.is_not(None))
    if sort == "index":
        key: Any = t.idx
    elif sort == "score":
        key = t.score
    else:
        key = t.scores[window][sort].as_float()
    ordered = key.desc() if descending else key.asc()
    stmt = (
        sa.select(t)
        .where(where)
        .order_by(ordered.nulls_last(), t.idx)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    total = int(session.scalar(sa.select(sa.func.count()).where(where)) or 0)
    return [as_dict(row) for row in session.scalars(stmt)], total
