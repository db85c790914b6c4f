"""Ranking trials: the best trial is the head of the full ranking, ties and gaps included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.optimize.results import best, ranked
from engine.optimize.targets import Target

scores = st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 0.5, 2.0]), st.floats(-3, 3))


@given(
    st.lists(st.tuples(scores, st.booleans()), max_size=30),
    st.sampled_from(["maximize", "minimize"]),
    st.sampled_from(["value", "magnitude"]),
)
def test_best_is_the_head_of_the_ranking(rows, direction, transform):
    """Few distinct values force ties (won by the lowest index); None is undefined (last);
    trials the search did not propose never win."""
    trials = [
        {"index": i, "searched": searched, "scores": {"full": {"sharpe_ratio": value}}}
        for i, (value, searched) in reversed(list(enumerate(rows)))
    ]
    target = Target("sharpe_ratio", direction, transform)
    order = ranked(trials, target, "full")
    assert best(trials, target, "full") is (order[0] if order else None)
