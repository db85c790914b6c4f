"""The schema comes only from the migrations, and the models agree with it on both backends."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store import jobs, trials
from store.db import make_engine, make_session_factory, transaction
from store.models import Base, utcnow
from store.schema import alembic_config, upgrade
from tests.integration.conftest import empty_pg_database

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


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'steps.db'}"
        return
    with empty_pg_database() as url:
        yield url


def test_block_sums_are_converted_both_ways(empty_url):
    """0009 turns the trials' JSON block sums (NaN stored as null) into float64 bytes, and back."""
    upgrade(empty_url, "0008")
    engine = make_engine(empty_url)
    now = utcnow()
    with engine.begin() as conn:
        jobs.insert_job(conn, {"id": "opt_1", "kind": "optimization", "status": "running",
                               "owner": "u", "spec": {}, "spec_hash": "h",
                               "workload": "optimize", "pool": "cpu", "queue": "optimize.cpu",
                               "created_at": now, "updated_at": now})  # fmt: skip
        conn.execute(
            sa.text(
                "INSERT INTO optimization_trials (job_id, idx, round, params, searched, "
                "baseline, blocks) VALUES ('opt_1', 0, 0, '{}', true, false, :b), "
                "('opt_1', 1, 0, '{}', true, false, NULL)"
            ),
            {"b": "[[3.0, 0.5, null], [2.0, -0.25, 1e-300]]"},
        )
    engine.dispose()
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with transaction(make_session_factory(engine)) as session:
        rows = trials.all_trials(session, "opt_1", scored_only=False)
    engine.dispose()
    expected = np.array([[3.0, 0.5, math.nan], [2.0, -0.25, 1e-300]])
    np.testing.assert_array_equal(rows[0]["blocks"], expected)
    assert rows[1]["blocks"] is None
    command.downgrade(alembic_config(empty_url), "0008")
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT blocks FROM optimization_trials ORDER BY idx"))
        back = [row[0] for row in stored]
    engine.dispose()
    if isinstance(back[0], str):  # SQLite hands JSON back as text through a textual query
        back = [json.loads(b) if b else None for b in back]
    assert back == [[[3.0, 0.5, None], [2.0, -0.25, 1e-300]], None]
