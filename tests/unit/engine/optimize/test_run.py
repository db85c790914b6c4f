"""Optimizations end to end in one process: the known best, the response, cancellation."""

from __future__ import annotations

import numpy as np
import pytest

from engine.optimize.overfitting import pbo_cscv
from engine.optimize.request import parse_optimization_request
from engine.optimize.results import heatmap, ranked
from engine.optimize.run import optimize
from tests.unit.engine.optimize.markets import OSCILLATION, spec_payload, synthetic, zigzag

ZIGZAG_SPEC = {
    "backtest_name": "zigzag",
    "start_date": "2020-01-01",
    "end_date": "2030-01-01",
    "symbols": ["ZZ"],
    "strategy_id": "breakout",
    "strategy_parameters": {"window": 20},
    "fill": "close",
    "commission_rate": 0.001,
}


def test_grid_search_finds_the_set_the_market_was_built_for():
    request = parse_optimization_request(
        {
            "base_spec": ZIGZAG_SPEC,
            "parameter_ranges": {
                "window": [2, 3, 4, 6, 8, 10, 14, 20, 5],
                "allow_short": [False, True],
            },
            "optimization_target": "total_return",
            "validation": {"scheme": "none"},
        }
    )
    out = optimize(request, zigzag())
    document = out["document"]
    assert document["parameters"]["optimized"] == {"window": len(OSCILLATION), "allow_short": True}
    assert document["parameters"]["original"] == {"window": 20, "allow_short": False}
    summary = document["optimization_summary"]
    assert summary["iterations_completed"] == 18 and summary["convergence_achieved"]
    assert summary["optimized_score"] > summary["original_score"]
    top = ranked(out["trials"], request.target, "full")
    assert top[0]["scores"]["full"]["total_return"] > top[1]["scores"]["full"]["total_return"]


def holdout_request(**changes):
    body = {
        "base_spec": spec_payload(),
        "parameter_ranges": {
            "fast_period": [3, 5, 8, 13],
            "slow_period": {"min": 10, "max": 40, "step": 10},
        },
        "optimization_target": "sharpe_ratio",
        "validation": {"scheme": "holdout", "out_of_sample_fraction": 0.3, "cscv_blocks": 6},
        **changes,
    }
    return parse_optimization_request(body)


@pytest.fixture(scope="module")
def holdout_run():
    request = holdout_request()
    return request, optimize(request, synthetic(), batch_size=7)


def test_the_response_is_built_from_the_trials(holdout_run):
    request, out = holdout_run
    trials, document = out["trials"], out["document"]
    searched = [t for t in trials if t["searched"]]
    assert len(searched) == 15 and len({t["index"] for t in trials}) == len(trials)
    scores = [t["scores"]["in_sample"]["sharpe_ratio"] for t in searched]
    winner = searched[int(np.nanargmax(np.array(scores, dtype=float)))]
    baseline = next(t for t in trials if t["baseline"])
    summary, validation = document["optimization_summary"], document["validation"]
    assert document["parameters"]["optimized"] == winner["params"]
    assert summary["optimized_score"] == winner["scores"]["in_sample"]["sharpe_ratio"]
    assert summary["original_score"] == baseline["scores"]["in_sample"]["sharpe_ratio"]
    expected = (summary["optimized_score"] - summary["original_score"]) / abs(
        summary["original_score"]
    )
    assert summary["improvement_percentage"] == pytest.approx(100 * expected)
    assert validation["in_sample_score"] == summary["optimized_score"]
    assert validation["out_of_sample_score"] == winner["scores"]["out_of_sample"]["sharpe_ratio"]
    blocks = np.array([t["blocks"] for t in searched])
    assert blocks.shape == (15, 6, 7)  # (13, 10) breaks fast < slow
    assert validation["overfitting_score"] == pbo_cscv(blocks, "sharpe_ratio", 252).pbo
    dsr = validation["deflated_sharpe_ratio"]
    assert dsr["n_trials"] == 15 and 0 <= dsr["dsr"] <= 1
    assert dsr["sharpe_ratio"] == pytest.approx(summary["optimized_score"], rel=1e-9)


def test_the_heatmap_holds_the_best_trial_of_each_cell(holdout_run):
    request, out = holdout_run
    grid = heatmap(out["trials"], request.target, "fast_period", "slow_period", "in_sample")
    assert grid["x_values"] == [3, 5, 8, 13] and grid["y_values"] == [10, 20, 30, 40]
    for trial in (t for t in out["trials"] if t["searched"]):
        row = grid["y_values"].index(trial["params"]["slow_period"])
        col = grid["x_values"].index(trial["params"]["fast_period"])
        assert grid["z"][row][col] == trial["scores"]["in_sample"]["sharpe_ratio"]


def test_stopping_keeps_the_best_so_far():
    request = holdout_request()
    calls = []

    def stop_after_one_batch():
        calls.append(1)
        return len(calls) > 1

    out = optimize(request, synthetic(), batch_size=5, should_stop=stop_after_one_batch)
    assert out["status"] == "cancelled"
    assert len(out["trials"]) == 5
    best = max(out["trials"], key=lambda t: t["scores"]["in_sample"]["sharpe_ratio"] or -np.inf)
    assert out["document"]["parameters"]["optimized"] == best["params"]
    assert out["document"]["optimization_summary"]["iterations_completed"] == 5


@pytest.mark.parametrize("method", ["random", "bayesian"])
def test_random_and_bayesian_runs_repeat_with_their_seed(method):
    changes = {
        "method": method,
        "seed": 21,
        "max_iterations": 12,
        "round_size": 6,
        "parameter_ranges": {
            "fast_period": {"distribution": "int_uniform", "low": 2, "high": 15},
            "slow_period": {"min": 10, "max": 60, "step": 5},
        },
    }
    first = optimize(holdout_request(**changes), synthetic(), batch_size=64)
    again = optimize(holdout_request(**changes), synthetic(), batch_size=64)
    assert first["trials"] == again["trials"]
    assert sum(t["searched"] for t in first["trials"]) == 12
    first["document"]["optimization_summary"].pop("optimization_time_seconds")
    again["document"]["optimization_summary"].pop("optimization_time_seconds")
    assert first["document"] == again["document"]
