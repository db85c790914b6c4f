"""Shared unit fixtures: a SQLite database built by the migrations, holding one running
optimization (``opt_1``) of owner ``u``."""

from __future__ import annotations

import pytest

from store import jobs
from store.db import make_engine, make_session_factory, transaction
from store.models import utcnow
from store.schema import upgrade


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'trials.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = utcnow()
    with transaction(factory) as session:
        jobs.insert_job(session, {"id": "opt_1", "kind": "optimization", "status": "running",
                                  "owner": "u", "spec": {}, "spec_hash": "h",
                                  "workload": "optimize", "pool": "cpu", "queue": "optimize.cpu",
                                  "created_at": now, "updated_at": now})  # fmt: skip
    yield factory
    engine.dispose()
