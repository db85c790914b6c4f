"""The schema comes only from the migrations, and the models agree with it on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.db import make_engine
from store.models import Base
from store.schema import upgrade

pytestmark = pytest.mark.integration


def differences(url: str, metadata: sa.MetaData = Base.metadata) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_models_match_migrations_on_postgresql(pg_url):
    assert differences(pg_url) == []


def test_models_match_migrations_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    assert differences(url) == []


def test_the_check_catches_drift(tmp_path):
    """A model change without a migration must show up (so the tests above can fail)."""
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    upgrade(url)
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["jobs"].append_column(sa.Column("surprise", sa.Integer))
    assert any("surprise" in str(diff) for diff in differences(url, changed))
