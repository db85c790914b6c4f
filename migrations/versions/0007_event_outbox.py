"""event outbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:00:00

``event_outbox``: lifecycle events written in the transaction of the job state change they
report, deleted once relayed to the Redis stream (``store/outbox.py``, ``workers/relay.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'event_outbox',
        sa.Column(
            'seq',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column('event_id', sa.String(length=32), nullable=False),
        sa.Column('job_id', sa.String(length=40), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_event_outbox')),
        sa.UniqueConstraint('event_id', name=op.f('uq_event_outbox_event_id')),
    )


def downgrade() -> None:
    op.drop_table('event_outbox')
