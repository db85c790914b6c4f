"""A polled optimization's progress is counted again only when its job row changed."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from api.optimization import trial_progress
from store import trials
from store.db import transaction
from store.models import utcnow


def scored(i: int, sharpe: float) -> dict:
    return {"index": i, "params": {"fast": i}, "scores": {"in_sample": {"sharpe_ratio": sharpe}},
            "score": sharpe}  # fmt: skip


def test_progress_is_recounted_when_the_row_changes_only(sessions):
    with transaction(sessions) as session:
        trials.save_scores(session, "opt_1", [scored(0, 0.5)])
    now = utcnow()
    row = SimpleNamespace(id="opt_1", updated_at=now)
    with transaction(sessions) as session:
        assert trial_progress(session, row).completed == 1
        trials.save_scores(session, "opt_1", [scored(1, 0.9)])
    with transaction(sessions) as session:
        assert trial_progress(session, row).completed == 1  # the row did not change: kept
        moved = SimpleNamespace(id="opt_1", updated_at=now + timedelta(microseconds=1))
        progress = trial_progress(session, moved)
    assert (progress.completed, progress.best_index) == (2, 1)
