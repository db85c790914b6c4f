"""The constraint language: parsing, evaluation on scalars and arrays, and its errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine.optimize.constraints import ConstraintSyntaxError, feasible, parse_constraint


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("fast < slow", {"fast": 5, "slow": 20}, True),
        ("fast < slow", {"fast": 20, "slow": 20}, False),
        ("fast <= slow", {"fast": 20, "slow": 20}, True),
        ("2 * fast <= slow", {"fast": 11, "slow": 20}, False),
        ("2*fast<=slow", {"fast": 10, "slow": 20}, True),
        ("5 <= fast < slow", {"fast": 4, "slow": 20}, False),
        ("5 <= fast < slow", {"fast": 5, "slow": 20}, True),
        ("slow - fast >= 10", {"fast": 5, "slow": 14}, False),
        ("(fast + slow) / 2 > 12.5", {"fast": 5, "slow": 21}, True),
        ("-fast > -3", {"fast": 2, "slow": 0}, True),
        ("fast > 1e1", {"fast": 11, "slow": 0}, True),
        ("fast >= .5", {"fast": 0.25, "slow": 0}, False),
    ],
)
def test_constraints_evaluate_like_python_comparisons(text, values, expected):
    assert bool(parse_constraint(text)(values)) is expected


def test_names_are_collected():
    assert parse_constraint("2 * fast_period <= slow_period").names == {
        "fast_period",
        "slow_period",
    }


def test_a_batch_is_filtered_in_one_step():
    values = {"fast": np.array([1.0, 5.0, 9.0, 3.0]), "slow": np.array([2.0, 5.0, 30.0, 10.0])}
    constraints = [parse_constraint("fast < slow"), parse_constraint("slow <= 10")]
    np.testing.assert_array_equal(feasible(constraints, values), [True, False, False, True])


def test_division_by_zero_is_infeasible_not_an_error():
    assert not parse_constraint("fast / slow > 1")({"fast": 0.0, "slow": 0.0})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "needs a comparison"),
        ("fast <", "ends too early"),
        ("fast < slow )", "unexpected ')'"),
        ("fast == slow", "unexpected character '='"),
        ("__import__('os') < 1", "unexpected character"),
        ("(fast < slow", "expected ')'"),
        ("", "non-empty"),
        ("fast < < slow", "unexpected '<'"),
    ],
)
def test_bad_constraints_say_what_is_wrong(text, message):
    with pytest.raises(ConstraintSyntaxError, match=re.escape(message)):
        parse_constraint(text)
