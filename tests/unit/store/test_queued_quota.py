"""The queued-jobs quota inside the insert (SQLite here; PostgreSQL in tests/integration/
test_limits.py): refused at the limit, per owner, and counted only up to the limit."""

from __future__ import annotations

import pytest

from store import jobs
from store.db import transaction
from store.models import utcnow


def queue(sessions, owner: str, n: int, limit: int) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        values = {"id": f"bt_{owner}_{n}", "kind": "backtest", "status": jobs.QUEUED,
                  "owner": owner, "spec": {}, "spec_hash": "h", "workload": "backtest",
                  "pool": "cpu", "queue": "backtest.cpu", "created_at": now,
                  "updated_at": now}  # fmt: skip
        jobs.insert_job(session, values, limit)


def test_an_owner_at_the_limit_is_refused_and_another_is_not(sessions):
    for n in range(3):
        queue(sessions, "alice", n, limit=3)
    with pytest.raises(jobs.QuotaExceeded) as refused:
        queue(sessions, "alice", 3, limit=3)
    assert refused.value.queued == 3
    queue(sessions, "bob", 0, limit=3)


def test_a_backlog_over_a_lowered_limit_still_refuses(sessions):
    for n in range(5):
        queue(sessions, "alice", n, limit=10)
    with pytest.raises(jobs.QuotaExceeded) as refused:  # 5 queued, counted up to 2: refused
        queue(sessions, "alice", 5, limit=2)
    assert refused.value.queued == 5  # the refusal reports the whole backlog
    queue(sessions, "alice", 6, limit=6)
