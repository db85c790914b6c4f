"""Optimization trials on SQLite built by the migrations: created once, scored, paged, ranked."""

from __future__ import annotations

import math

import numpy as np

from store import trials
from store.db import transaction
from store.models import Float64Matrix


def stub(i: int, fast: int, **flags) -> dict:
    return {"index": i, "params": {"fast": fast}, "searched": True, "baseline": False, **flags}


def scored(i: int, sharpe: float | None, ret: float, **stub_fields) -> dict:
    metrics = {"sharpe_ratio": sharpe, "total_return": ret}
    return {
        **stub(i, i, **stub_fields),
        "scores": {"in_sample": metrics},
        "blocks": [[1.0] * 7],
        "score": sharpe,
    }


def test_first_round_rows_are_written_by_their_scores_and_later_rounds_are_stored(sessions):
    planned = [stub(0, 3), stub(1, 5), stub(2, 8)]  # the first round: computed, never stored
    with transaction(sessions) as session:
        assert trials.unscored(session, "opt_1", len(planned)) == [0, 1, 2]
        assert trials.stubs_between(session, "opt_1", 1, 3, planned) == [
            {**stub(1, 5), "round": 0},
            {**stub(2, 8), "round": 0},
        ]
        trials.save_scores(session, "opt_1", [scored(0, 0.5, 0.1), scored(2, None, 0.3)])
        trials.save_scores(session, "opt_1", [scored(0, 0.5, 0.1)])  # a redelivery: same row
        trials.insert_trials(session, "opt_1", [stub(3, 13, searched=False)], 1)  # round 1
        trials.insert_trials(session, "opt_1", [stub(3, 99)], 1)  # planned twice: kept
    with transaction(sessions) as session:
        assert trials.trial_count(session, "opt_1") == 3
        assert trials.unscored(session, "opt_1", len(planned)) == [1, 3]
        assert trials.stubs_between(session, "opt_1", 0, 4, planned) == [
            {**stub(1, 5), "round": 0},
            {**stub(3, 13, searched=False), "round": 1},
        ]
        assert trials.latest_round(session, "opt_1") == 1
        progress = trials.progress(session, "opt_1")
        rows = trials.all_trials(session, "opt_1")
    assert (progress.total, progress.completed, progress.best_index) == (2, 2, 0)
    assert progress.best_scores == {"in_sample": {"sharpe_ratio": 0.5, "total_return": 0.1}}
    assert [r["index"] for r in rows] == [0, 2] and rows[0]["blocks"].tolist() == [[1.0] * 7]
    assert rows[0]["params"] == {"fast": 0} and rows[0]["round"] == 0


def test_ranking_reads_the_metric_of_each_window_and_the_block_sums(sessions):
    with transaction(sessions) as session:
        trials.save_scores(session, "opt_1", [scored(0, 0.5, 0.1), scored(2, None, 0.3)])
        rows = trials.ranking_trials(session, "opt_1", "sharpe_ratio", ["in_sample", "test"])
    assert [r["scores"] for r in rows] == [
        {"in_sample": {"sharpe_ratio": 0.5}, "test": {"sharpe_ratio": None}},
        {"in_sample": {"sharpe_ratio": None}, "test": {"sharpe_ratio": None}},
    ]
    assert [r["params"] for r in rows] == [{"fast": 0}, {"fast": 2}]
    assert rows[0]["blocks"].shape == (1, 7) and rows[0]["score"] == 0.5


def test_block_sums_keep_their_shape_and_every_float():
    column = Float64Matrix()
    matrix = [[1.5, math.nan, math.inf], [-math.inf, -0.0, 1e-300]]
    stored = column.process_bind_param(matrix, None)
    back = column.process_result_value(stored, None)
    assert back.shape == (2, 3) and back.dtype == np.float64
    np.testing.assert_array_equal(back, np.array(matrix))
    assert column.process_bind_param(None, None) is None
    assert column.process_result_value(None, None) is None


def test_pages_sort_by_any_metric_with_undefined_last(sessions):
    with transaction(sessions) as session:
        values = [(0.2, 0.05), (None, 0.5), (0.9, -0.1), (0.4, 0.2), (-0.3, 0.0)]
        trials.save_scores(session, "opt_1", [scored(i, s, r) for i, (s, r) in enumerate(values)])

    def order(sort, descending, page=1, size=5):
        with transaction(sessions) as session:
            items, total = trials.page_trials(
                session, "opt_1", window="in_sample", sort=sort, descending=descending,
                page=page, page_size=size,
            )  # fmt: skip
        assert total == 5
        return [t["index"] for t in items]

    assert order("sharpe_ratio", True) == [2, 3, 0, 4, 1]
    assert order("sharpe_ratio", False) == [4, 0, 3, 2, 1]  # None last either way
    assert order("total_return", True) == [1, 3, 0, 4, 2]
    assert order("index", False, page=2, size=2) == [2, 3]
