"""job headline metrics and request summary

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:00:00

``metrics``: a completed backtest's ``performance_metrics`` on its job row, so that job queries
return and sort by them (a leaderboard) without reading result documents. ``summary``: what
status views need from a request without parsing it again (an optimization's target, windows,
planned sets).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.add_column('jobs', sa.Column('metrics', JSON, nullable=True))
    op.add_column('jobs', sa.Column('summary', JSON, nullable=True))


def downgrade() -> None:
    op.drop_column('jobs', 'summary')
    op.drop_column('jobs', 'metrics')
