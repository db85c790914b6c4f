"""Validation windows: every fold trains strictly before it tests, and scoring never looks ahead."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.errors import DataError
from engine.optimize.evaluate import evaluate_batch
from engine.optimize.windows import (
    Validation,
    distinct_windows,
    folds,
    selection_name,
    selection_window,
    window_names,
)
from engine.spec import parse_spec
from tests.unit.engine.optimize.markets import SETS, spec_payload, synthetic
from tests.unit.engine.optimize.test_evaluate import WINDOW


@given(
    n_bars=st.integers(20, 5000),
    scheme=st.sampled_from(["holdout", "walk_forward"]),
    windows=st.integers(1, 12),
    fraction=st.floats(0.05, 0.8),
    anchored=st.booleans(),
)
def test_folds_never_train_on_their_future(n_bars, scheme, windows, fraction, anchored):
    windows = 1 if scheme == "holdout" else windows
    validation = Validation(scheme, fraction, windows, anchored)
    try:
        fold_list = folds(validation, n_bars)
    except DataError:
        assume(False)
    tests = [f.test for f in fold_list]
    for fold in fold_list:
        assert 0 <= fold.train.start < fold.train.stop == fold.test.start < fold.test.stop
        assert fold.test.stop <= n_bars
        assert fold.train.start == 0 or not anchored
    # the test windows tile the out-of-sample span, in order, without overlap
    assert all(a.stop == b.start for a, b in zip(tests, tests[1:], strict=False))
    assert tests[-1].stop == n_bars
    assert tests[0].start == n_bars - round(n_bars * fraction)
    if not anchored:
        assert len({f.train.n_bars for f in fold_list}) == 1  # a rolling window keeps its length
    assert selection_window(fold_list) == fold_list[-1].train


def test_walk_forward_example():
    fold_list = folds(Validation("walk_forward", 0.3, 3, anchored=False), 1000)
    spans = [((f.train.start, f.train.stop), (f.test.start, f.test.stop)) for f in fold_list]
    assert spans == [((0, 700), (700, 800)), ((100, 800), (800, 900)), ((200, 900), (900, 1000))]
    anchored = folds(Validation("walk_forward", 0.3, 3, anchored=True), 1000)
    assert [f.train.start for f in anchored] == [0, 0, 0]
    assert [w.name for w in distinct_windows(anchored)][:3] == [
        "fold_1_train", "fold_1_test", "fold_2_train",
    ]  # fmt: skip


def test_too_short_windows_are_refused_with_advice():
    with pytest.raises(DataError, match="fewer windows"):
        folds(Validation("walk_forward", 0.1, 10), 300)
    assert folds(Validation("none"), 50)[0].test is None


def test_scores_on_a_window_ignore_every_later_bar():
    """Rewrite every bar after the window: the window's scores must not move by a bit."""
    spec = parse_spec(spec_payload())
    market = synthetic()
    span_start = int(
        np.searchsorted(market.timestamps, np.datetime64(spec.start_date.tz_localize(None)))
    )
    future = slice(span_start + WINDOW.stop, None)
    rng = np.random.default_rng(0)
    fields = {}
    for name in ("open", "high", "low", "close"):
        values = getattr(market, name).copy()
        values[future] *= rng.uniform(0.5, 2.0, values[future].shape)
        fields[name] = values
    altered = dataclasses.replace(market, **fields)
    assert not np.array_equal(altered.close, market.close)
    before = evaluate_batch(spec, market, SETS, WINDOW, blocks=4)
    after = evaluate_batch(spec, altered, SETS, WINDOW, blocks=4)
    assert before == after


@pytest.mark.parametrize(
    "validation",
    [Validation("none"), Validation("holdout"), Validation("walk_forward", 0.3, 3, False)],
)
def test_window_names_are_known_before_the_bars(validation):
    fold_list = folds(validation, 1000)
    assert sorted(window_names(validation)) == sorted(w.name for w in distinct_windows(fold_list))
    assert selection_name(validation) == selection_window(fold_list).name
