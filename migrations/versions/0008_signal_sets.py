"""signal sets

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 00:00:00

``signal_sets``: uploaded target weights (``POST /data/signals``), one row per set, owned by
the uploader.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'signal_sets',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('frequency', sa.String(length=8), nullable=False),
        sa.Column('symbols', JSON, nullable=False),
        sa.Column('first_ts', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_ts', sa.DateTime(timezone=True), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('weights', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_sets')),
    )
    op.create_index(op.f('ix_signal_sets_owner'), 'signal_sets', ['owner'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_signal_sets_owner'), table_name='signal_sets')
    op.drop_table('signal_sets')
