"""Request validation: every bad field is named with how to fix it; grids are guarded."""

from __future__ import annotations

import pytest

from engine.errors import SpecError
from engine.optimize.request import parse_optimization_request
from engine.requests import DataCheck, StoredBacktest
from engine.spec import parse_spec
from tests.unit.engine.optimize.conftest import BASE_SPEC


def errors_of(body, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(SpecError) as info:
        parse_optimization_request(body, **kwargs)
    return info.value.errors


def test_a_valid_grid_request_is_expanded_with_constraints(body):
    request = parse_optimization_request(body)
    sets = request.candidates()
    assert request.method == "grid" and request.target.maximize
    # the strategy's own rule fast < slow holds in every set; 3 x 3 = 9 points all satisfy it
    assert len(sets) == 9 and all(s["fast_period"] < s["slow_period"] for s in sets)
    assert sets[0] == {"fast_period": 3, "slow_period": 10, "allow_short": False}
    assert request.planned_sets == 9


def test_request_constraints_filter_the_grid(body):
    body["constraints"] = ["2 * fast_period <= slow_period"]
    sets = parse_optimization_request(body).candidates()
    assert {(s["fast_period"], s["slow_period"]) for s in sets} == {
        (3, 10), (3, 20), (3, 30), (5, 10), (5, 20), (5, 30), (8, 20), (8, 30),
    }  # fmt: skip


def test_the_payload_round_trips(body):
    body.update(method="random", seed=7, max_iterations=5, validation={"scheme": "walk_forward"})
    request = parse_optimization_request(body)
    again = parse_optimization_request(request.to_payload())
    assert again == request
    assert again.candidates() == request.candidates()


class StoredBacktests:
    """A resolver that knows one completed backtest and no stored data problems."""

    max_parameter_sets = 100_000

    def __init__(self, backtest_id: str, spec) -> None:
        self.known = {backtest_id: StoredBacktest(spec, "completed", len(spec.symbols))}

    def backtest(self, backtest_id: str):
        return self.known.get(backtest_id)

    def check_data(self, window):
        return DataCheck()


def test_backtest_id_uses_the_stored_spec_and_stores_it_inline(body):
    del body["base_spec"]
    body["backtest_id"] = "bt_123"
    spec = parse_spec(BASE_SPEC)
    request = parse_optimization_request(body, StoredBacktests("bt_123", spec))
    assert request.base_spec == spec and request.summary()["backtest_id"] == "bt_123"
    stored = request.to_payload()
    assert "backtest_id" not in stored and parse_optimization_request(stored) == request
    assert "no backtest 'bt_123'" in errors_of(body)["backtest_id"][0]


def test_base_spec_or_backtest_id_is_required(body):
    del body["base_spec"]
    assert "is required" in errors_of(body)["backtest_id"][0]
    body.update(backtest_id="bt_1", base_spec=BASE_SPEC)
    assert "not both" in errors_of(body)["base_spec"][0]


def test_inline_spec_errors_are_prefixed(body):
    body["base_spec"] = {**BASE_SPEC, "commission_rate": -1}
    assert "base_spec.commission_rate" in errors_of(body)


def test_target_weights_cannot_be_optimized(body):
    body["base_spec"] = {**BASE_SPEC, "strategy_id": "target_weights", "strategy_parameters": {},
                         "signal_set_id": "s1"}  # fmt: skip
    assert "no parameters to optimize" in errors_of(body)["base_spec.strategy_id"][0]


def test_base_spec_exits_are_kept(body):
    body["base_spec"] = {**BASE_SPEC, "exits": {"stop_loss": 0.05}}
    request = parse_optimization_request(body)
    assert request.base_spec.exits == {"stop_loss": {"fraction": 0.05}}
    assert (
        parse_optimization_request(request.to_payload()).base_spec.exits == request.base_spec.exits
    )


def test_unknown_parameter_names_the_valid_ones(body):
    body["parameter_ranges"]["slow_periods"] = [10]
    message = errors_of(body)["parameter_ranges.slow_periods"][0]
    assert "Did you mean 'slow_period'?" in message
    assert "['allow_short', 'fast_period', 'slow_period']" in message


def test_every_problem_is_reported_together(body):
    body.update(
        method="annealing",
        max_iterations=0,
        optimization_target="sharpe",
        validation={"scheme": "holdout", "out_of_sample_fraction": 0.95},
        constraints=["fast_priod < slow_period"],
        use_paralel=True,
    )
    body["parameter_ranges"]["fast_period"] = [0, 5]
    errors = errors_of(body)
    assert "must be one of ['grid', 'random', 'bayesian']" in errors["method"][0]
    assert "from 1 to" in errors["max_iterations"][0]
    assert "Did you mean 'sharpe_ratio'?" in errors["optimization_target"][0]
    assert "0.05 to 0.8" in errors["validation.out_of_sample_fraction"][0]
    assert "Did you mean 'fast_period'?" in errors["constraints[0]"][0]
    assert "Did you mean 'use_parallel'?" in errors["use_paralel"][0]
    assert "between 1 and 1000" in errors["parameter_ranges.fast_period[0]"][0]


@pytest.mark.parametrize(
    ("ranges", "field", "message"),
    [
        ({"fast_period": []}, "parameter_ranges.fast_period", "at least one value"),
        ({"fast_period": [5, 5]}, "parameter_ranges.fast_period", "more than once"),
        ({"fast_period": {"min": 9, "max": 3}}, "parameter_ranges.fast_period", "must not exceed"),
        ({"fast_period": {"min": 1, "max": 9, "step": 0.5}}, "parameter_ranges.fast_period.step",
         "positive whole number"),
        ({"fast_period": {"min": 1, "max": 5000}}, "parameter_ranges.fast_period.max",
         "between 1 and 1000"),
        ({"allow_short": {"min": 0, "max": 1}}, "parameter_ranges.allow_short", "list its values"),
        ({"fast_period": {"distribution": "uniform", "low": 2, "high": 9}},
         "parameter_ranges.fast_period", "use int_uniform"),
        ({"fast_period": {"distribution": "normal"}}, "parameter_ranges.fast_period.distribution",
         "must be one of"),
        ({"fast_period": "5..10"}, "parameter_ranges.fast_period", "must be a list"),
    ],
)  # fmt: skip
def test_range_errors(body, ranges, field, message):
    body["parameter_ranges"] = ranges
    body["method"] = "random"
    assert message in errors_of(body)[field][0]


def test_a_grid_over_the_limit_is_refused_with_count_and_limit(body):
    body["parameter_ranges"] = {
        "fast_period": {"min": 1, "max": 100},
        "slow_period": {"min": 2, "max": 101},
    }
    message = errors_of(body, max_grid_size=5_000)["parameter_ranges"][0]
    assert "10,000 parameter sets" in message and "limit of 5,000" in message
    feasible = sum(1 for f in range(1, 101) for s in range(2, 102) if f < s)
    assert parse_optimization_request(body, max_grid_size=10_000).planned_sets == feasible


def test_max_iterations_is_capped_by_the_same_limit(body):
    body.update(method="random", max_iterations=2_000)
    assert "from 1 to 1000" in errors_of(body, max_grid_size=1_000)["max_iterations"][0]


def test_grid_refuses_distributions_and_empty_feasible_sets(body):
    body["parameter_ranges"]["fast_period"] = {"distribution": "int_uniform", "low": 2, "high": 9}
    assert "need method 'random' or 'bayesian'" in errors_of(body)["parameter_ranges"][0]
    body["parameter_ranges"] = {"fast_period": [50], "slow_period": [10, 20]}
    assert "none of the 2 grid points" in errors_of(body)["constraints"][0]


def test_benchmark_targets_need_a_benchmark(body):
    body["optimization_target"] = "information_ratio"
    assert "benchmark_symbol" in errors_of(body)["optimization_target"][0]
    body["base_spec"] = {**BASE_SPEC, "benchmark_symbol": "SPY"}
    assert parse_optimization_request(body).target.metric == "information_ratio"


def test_targets_carry_their_direction(body):
    body["optimization_target"] = "max_drawdown"
    target = parse_optimization_request(body).target
    assert target.direction == "minimize"
    # a 5 % drawdown is better than a 20 % one, and undefined is worst
    assert list(target.score([-0.20, -0.05, None])) == [-0.20, -0.05, float("-inf")]
    assert target.improvement_percentage(-0.20, -0.05) == pytest.approx(75.0)


def test_walk_forward_validation_is_read(body):
    body["validation"] = {"scheme": "walk_forward", "windows": 3, "anchored": False}
    validation = parse_optimization_request(body).validation
    assert (validation.windows, validation.anchored, validation.out_of_sample_fraction) == (
        3,
        False,
        0.3,
    )
    body["validation"] = {"scheme": "holdout", "windows": 3, "cscv_blocks": 7}
    errors = errors_of(body)
    assert "use scheme walk_forward" in errors["validation.windows"][0]
    assert "even number" in errors["validation.cscv_blocks"][0]
