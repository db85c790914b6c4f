"""Candidate sets: seeded random draws and Optuna rounds are reproducible, distinct, feasible."""

from __future__ import annotations

import numpy as np

from engine.optimize.adaptive import propose
from engine.optimize.request import parse_optimization_request


def random_request(body, seed=11, n=25, **ranges):
    body.update(method="random", seed=seed, max_iterations=n)
    body["parameter_ranges"] = ranges or {
        "fast_period": {"distribution": "int_uniform", "low": 2, "high": 40},
        "slow_period": {"min": 10, "max": 200, "step": 10},
        "allow_short": [True, False],
    }
    return parse_optimization_request(body)


def test_random_search_is_reproducible_with_its_seed(body):
    first = random_request(dict(body)).candidates()
    again = random_request(dict(body)).candidates()
    other = random_request(dict(body), seed=12).candidates()
    assert first == again
    assert first != other
    keys = {(s["fast_period"], s["slow_period"], s["allow_short"]) for s in first}
    assert len(first) == 25 and len(keys) == 25  # distinct
    assert all(s["fast_period"] < s["slow_period"] for s in first)  # the strategy's rule


def test_random_draws_stay_in_their_distributions(body):
    body["base_spec"] = {**body["base_spec"], "strategy_id": "mean_reversion",
                         "strategy_parameters": {}}  # fmt: skip
    request = random_request(
        body,
        n=200,
        entry_z={"distribution": "log_uniform", "low": 0.5, "high": 4.0},
        exit_z={"distribution": "uniform", "low": 0.0, "high": 1.0, "step": 0.25},
    )
    sets = request.candidates()
    entry = np.array([s["entry_z"] for s in sets])
    exit_ = np.array([s["exit_z"] for s in sets])
    assert entry.min() >= 0.5 and entry.max() <= 4.0
    # log-uniform: about half the draws fall below the geometric midpoint sqrt(0.5 * 4)
    assert 0.35 < np.mean(entry < np.sqrt(2.0)) < 0.65
    assert set(exit_) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert all(s["exit_z"] <= s["entry_z"] for s in sets)  # the strategy's rule


def test_random_search_stops_when_the_space_is_exhausted(body):
    request = random_request(body, n=50, fast_period=[3, 5, 8], slow_period=[4, 20])
    sets = request.candidates()
    # (3, 4), (3, 20), (5, 20), (8, 20): (5, 4) and (8, 4) break fast < slow
    assert sorted((s["fast_period"], s["slow_period"]) for s in sets) == [
        (3, 4), (3, 20), (5, 20), (8, 20),
    ]  # fmt: skip


def quadratic_history(sets):
    """A known objective with its maximum at fast 12, slow 80."""
    return [
        (s, -((s["fast_period"] - 12) ** 2) - ((s["slow_period"] - 80) / 10) ** 2) for s in sets
    ]


def test_bayesian_rounds_are_reproducible_and_avoid_known_sets(body):
    request = random_request(dict(body))
    body["method"] = "bayesian"
    history = quadratic_history(request.candidates())
    first = propose(request.space, history, 8, seed=3, round_no=1)
    assert first == propose(request.space, history, 8, seed=3, round_no=1)
    assert first != propose(request.space, history, 8, seed=3, round_no=2)
    known = {request.space.key(p) for p, _ in history}
    keys = [request.space.key(p) for p in first]
    assert len(set(keys)) == 8 and not set(keys) & known
    assert all(p["fast_period"] < p["slow_period"] for p in first)


def test_bayesian_rounds_move_towards_the_optimum(body):
    """After 25 random trials TPE proposes sets closer to the optimum than fresh random ones."""
    request = random_request(dict(body), n=25)
    history = quadratic_history(request.candidates())
    for round_no in range(1, 6):
        history += quadratic_history(propose(request.space, history, 8, 3, round_no))
    tpe_last = [score for _, score in history[-16:]]
    fresh = quadratic_history(random_request(dict(body), seed=99, n=16).candidates())
    assert np.median(tpe_last) > np.median([score for _, score in fresh])
    assert max(score for _, score in history) > max(score for _, score in history[:25])
