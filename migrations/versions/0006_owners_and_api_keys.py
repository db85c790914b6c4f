"""owners and API keys

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-29 21:00:00

``api_keys``: one row per key (owner, role, HMAC of the key, revocation). ``jobs.owner``: who
submitted the job; callers see only their own. Jobs stored before owners existed get the
owner ``''``, which only admins see.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'api_keys',
        sa.Column('id', sa.String(length=12), nullable=False),
        sa.Column('owner', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=8), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'member')", name=op.f('ck_api_keys_role_known')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('digest', name=op.f('uq_api_keys_digest')),
    )
    op.create_index(op.f('ix_api_keys_owner'), 'api_keys', ['owner'], unique=False)
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('owner', sa.String(length=64), nullable=False, server_default=''))
    with op.batch_alter_table('jobs') as batch:
        batch.alter_column('owner', server_default=None)
    op.create_index(op.f('ix_jobs_owner_status'), 'jobs', ['owner', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_jobs_owner_status'), table_name='jobs')
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('owner')
    op.drop_index(op.f('ix_api_keys_owner'), table_name='api_keys')
    op.drop_table('api_keys')
