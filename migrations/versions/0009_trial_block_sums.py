"""trials' CSCV block sums as float64 bytes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 18:00:00

``optimization_trials.blocks`` (JSON) becomes ``block_sums`` (``store.models.Float64Matrix``:
the column count and the little-endian float64 values). An optimization's finishing step reads
every trial's block sums for PBO; as JSON they were most of its time (the database writing
numerics as text, then parsing), and the finishing step is the serial part of a chord.
Existing rows are converted; a JSON null inside (how NaN was stored) becomes NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from store.models import Float64Matrix

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
CHUNK = 1000
TRIALS = sa.table(
    'optimization_trials',
    sa.column('job_id', sa.String),
    sa.column('idx', sa.Integer),
    sa.column('blocks', JSON),
    sa.column('block_sums', Float64Matrix()),
)


def upgrade() -> None:
    op.add_column('optimization_trials', sa.Column('block_sums', sa.LargeBinary(), nullable=True))
    _copy('blocks', 'block_sums', lambda blocks: blocks)
    with op.batch_alter_table('optimization_trials') as batch:
        batch.drop_column('blocks')


def downgrade() -> None:
    op.add_column('optimization_trials', sa.Column('blocks', JSON, nullable=True))
    _copy('block_sums', 'blocks', _finite_lists)
    with op.batch_alter_table('optimization_trials') as batch:
        batch.drop_column('block_sums')


def _finite_lists(matrix: Any) -> list[list[float | None]]:
    return [[x if math.isfinite(x) else None for x in row] for row in matrix.tolist()]


def _copy(source: str, target: str, convert: Any) -> None:
    """Every non-null ``source`` value converted into ``target``, a chunk of rows at a time."""
    conn = op.get_bind()
    update = (
        TRIALS.update()
        .where(TRIALS.c.job_id == sa.bindparam('b_job'), TRIALS.c.idx == sa.bindparam('b_idx'))
        .values({target: sa.bindparam('b_value', type_=TRIALS.c[target].type)})
    )
    for chunk in _chunks(conn, source):
        rows = [{'b_job': job, 'b_idx': idx, 'b_value': convert(value)} for job, idx, value in chunk]
        conn.execute(update, rows)


def _chunks(conn: sa.Connection, source: str) -> Iterator[list[Any]]:
    column = TRIALS.c[source]
    key = (TRIALS.c.job_id, TRIALS.c.idx)
    last: tuple[str, int] | None = None
    while True:
        stmt = sa.select(*key, column).where(column.is_not(None)).order_by(*key).limit(CHUNK)
        if last is not None:
            stmt = stmt.where(sa.tuple_(*key) > sa.tuple_(*(sa.literal(v) for v in last)))
        chunk = conn.execute(stmt).all()
        if not chunk:
            return
        yield chunk
        last = (chunk[-1][0], chunk[-1][1])
