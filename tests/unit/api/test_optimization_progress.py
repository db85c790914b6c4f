"""A polled optimization's progress is counted again only when its job row changed."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from api.optimization import trial_progress
from store import jobs, trials
from store.db import make_engine, make_session_factory, transaction
from store.models import utcnow
from store.schema import upgrade


def scored(i: int, sharpe: float) -> dict:
    return {"index": i, "params": {"fast": i}, "scores": {"in_sample": {"sharpe_ratio": sharpe}},
            "score": sharpe}  # fmt: skip


def test_progress_is_recounted_when_the_row_changes_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'progress.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = utcnow()
    with transaction(sessions) as session:
        jobs.insert_job(session, {"id": "opt_p", "kind": "optimization", "status": "running",
                                  "owner": "u", "spec": {}, "spec_hash": "h",
                                  "workload": "optimize", "pool": "cpu", "queue": "optimize.cpu",
                                  "created_at": now, "updated_at": now})  # fmt: skip
        trials.save_scores(session, "opt_p", [scored(0, 0.5)])
    row = SimpleNamespace(id="opt_p", updated_at=now)
    with transaction(sessions) as session:
        assert trial_progress(session, row).completed == 1
        trials.save_scores(session, "opt_p", [scored(1, 0.9)])
    with transaction(sessions) as session:
        assert trial_progress(session, row).completed == 1  # the row did not change: kept
        moved = SimpleNamespace(id="opt_p", updated_at=now + timedelta(microseconds=1))
        progress = trial_progress(session, moved)
    engine.dispose()
    assert (progress.completed, progress.best_index) == (2, 1)
