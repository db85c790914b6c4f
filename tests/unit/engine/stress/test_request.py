"""Stress-test requests, scenario P&L and the stress-test document."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from accel.montecarlo import BLOCK
from engine.errors import DataError, SpecError
from engine.stress.fan import FAN_PATHS, FAN_PERCENTILES
from engine.stress.montecarlo import (
    Book,
    History,
    inline_book,
    market_betas,
    parametric_model,
    run_stress_test,
)
from engine.stress.request import check_book_symbols, parse_stress_request
from engine.stress.scenarios import BUILTIN_SCENARIOS, Scenario, expected_loss, scenario_pnl

SEED_BODY = {
    "backtest_id": "bt_base_config",
    "scenarios": [
        {
            "name": "Market Crash Scenario",
            "description": "Simulate 2008-style market crash",
            "market_shocks": {"SPY": -40.0, "QQQ": -45.0, "IWM": -50.0},
            "volatility_multipliers": {"SPY": 3.0, "QQQ": 3.5, "IWM": 4.0},
            "probability": 0.05,
        }
    ],
    "include_monte_carlo": True,
    "monte_carlo_iterations": 10000,
}
INLINE = {"portfolio": {"SPY": 0.6, "TLT": 0.3}, "initial_value": 1e6}


def _errors(payload) -> dict[str, list[str]]:
    with pytest.raises(SpecError) as info:
        parse_stress_request(payload)
    return info.value.errors


def _scenario(**fields):
    return {**INLINE, "scenarios": [{"name": "s", "market_shocks": {"SPY": -10}, **fields}]}


def test_the_seed_example_parses_with_documented_defaults():
    request = parse_stress_request(SEED_BODY)
    assert request.backtest_id == "bt_base_config" and not request.inline
    assert request.monte_carlo_iterations == 10_000
    assert (request.method, request.horizon_days, request.seed) == ("parametric_normal", 252, 42)
    scenario = request.scenarios[0]
    assert scenario.market_shocks["IWM"] == -50.0 and scenario.probability == 0.05


def test_requests_round_trip_through_their_payload_with_a_stable_hash():
    for body in (
        SEED_BODY,
        {**INLINE, "scenarios": ["2020_covid_crash"], "method": "parametric_t"},
        {**INLINE, "scenarios": [{"name": "2022_rate_shock", "probability": 0.1}]},
        {**INLINE, "method": "bootstrap", "block_size": 10, "drift": "zero"},
    ):
        request = parse_stress_request(body)
        again = parse_stress_request(json.loads(request.canonical_json()))
        assert again == request and again.content_hash() == request.content_hash()


@pytest.mark.parametrize(
    ("fields", "where", "says"),
    [
        ({"market_shocks": {"SPX": -10}}, "scenarios[0].market_shocks.SPX", "Did you mean 'SPY'"),
        ({"probability": 1.5}, "scenarios[0].probability", "at most 1"),
        ({"probability": -0.1}, "scenarios[0].probability", "at least 0"),
        ({"market_shocks": {"SPY": -120}}, "scenarios[0].market_shocks.SPY", "at least -100"),
        ({"volatility_multipliers": {"SPY": 0}}, "scenarios[0].volatility_multipliers.SPY", "0"),
        ({"volatility_multipliers": {"GLD": 2}}, "scenarios[0].volatility_multipliers.GLD", "not"),
        ({"shocks": {}}, "scenarios[0].shocks", "Did you mean 'market_shocks'"),
    ],
)
def test_bad_scenarios_are_refused_naming_the_field(fields, where, says):
    errors = _errors(_scenario(**fields))
    assert where in errors and says in " ".join(errors[where])


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        ({**INLINE, "monte_carlo_iterations": 0}, "monte_carlo_iterations", "1 to 1000000"),
        ({**INLINE, "monte_carlo_iterations": 1_000_001}, "monte_carlo_iterations", "1000000"),
        ({**INLINE, "method": "garch"}, "method", "'parametric_normal', 'parametric_t'"),
        ({**INLINE, "degrees_of_freedom": 4}, "degrees_of_freedom", "parametric_t"),
        (
            {**INLINE, "method": "parametric_t", "degrees_of_freedom": 2},
            "degrees_of_freedom",
            "greater than 2",
        ),
        ({**INLINE, "scenario": []}, "scenario", "Did you mean 'scenarios'"),
        ({**INLINE, "scenarios": ["2008_crisis"]}, "scenarios[0]", "2008_financial_crisis"),
        ({**SEED_BODY, "portfolio": {"SPY": 1}}, "portfolio", "drop it or drop backtest_id"),
        ({"scenarios": []}, "portfolio", "without backtest_id"),
        ({**INLINE, "portfolio": {"SPY": 11}}, "portfolio.SPY", "-10 to 10"),
        ({**INLINE, "include_monte_carlo": False}, "scenarios", "nothing to compute"),
        (
            {**INLINE, "horizon_days": 2520, "monte_carlo_iterations": 10**6},
            "monte_carlo_",
            "lower",
        ),
    ],
)
def test_bad_requests_are_refused_naming_the_field(body, where, says):
    errors = _errors(body)
    hits = [k for k in errors if k.startswith(where)]
    assert hits and says in " ".join(errors[hits[0]]), errors


def test_scenario_names_must_be_unique_and_probabilities_exclusive():
    shocks = {"market_shocks": {"SPY": -5}}
    body = {**INLINE, "scenarios": [{"name": "a", **shocks, "probability": 0.7}] * 2}
    messages = " ".join(_errors(body)["scenarios"])
    assert "more than once" in messages and "add up to 1.4" in messages


def test_backtest_scenarios_are_checked_against_the_book_once_it_is_known():
    request = parse_stress_request(SEED_BODY)
    check_book_symbols(request, ("SPY", "QQQ", "IWM"))
    with pytest.raises(SpecError) as info:
        check_book_symbols(request, ("SPY", "QQQ"))
    assert set(info.value.errors) == {
        "scenarios[0].market_shocks.IWM",
        "scenarios[0].volatility_multipliers.IWM",
    }


def test_scenario_pnl_equals_the_hand_computation():
    scenario = Scenario("s", market_shocks={"A": -10.0, "B": 20.0, "C": -50.0}, probability=0.2)
    result = scenario_pnl(scenario, ("A", "B", "C"), np.array([1000.0, -500.0, 0.0]), 200.0, None)
    # A: -10 % of 1000 = -100; B short 500, up 20 % = -100; C holds nothing
    assert result["pnl"] == pytest.approx(-200.0)
    assert result["value_before"] == pytest.approx(700.0)
    assert result["return_pct"] == pytest.approx(-200.0 / 700.0 * 100)
    assert result["weighted_loss"] == pytest.approx(0.2 * 200.0)
    assert [w["symbol"] for w in result["worst_symbols"]] == ["A", "B"]
    gain = scenario_pnl(Scenario("g", market_shocks={"A": 5.0}, probability=0.5), ("A",),
                        np.array([100.0]), 0.0, None)  # fmt: skip
    assert gain["weighted_loss"] == 0.0
    assert expected_loss([result, gain]) == pytest.approx(40.0)


def test_builtin_shocks_unlisted_symbols_by_their_beta_to_the_market():
    crisis = BUILTIN_SCENARIOS["2008_financial_crisis"]
    result = scenario_pnl(crisis, ("SPY", "XYZ"), np.array([100.0, 100.0]), 0.0, np.array([1, 1.5]))
    assert result["symbol_shocks_pct"]["SPY"] == pytest.approx(crisis.market_shocks["SPY"])
    assert result["symbol_shocks_pct"]["XYZ"] == pytest.approx(1.5 * crisis.market_shock)
    assert crisis.source and all(s.source for s in BUILTIN_SCENARIOS.values())


def test_market_betas_recover_a_planted_beta():
    rng = np.random.default_rng(1)
    market = rng.normal(0, 0.01, 500)
    assets = np.column_stack([1.5 * market + rng.normal(0, 1e-3, 500), rng.normal(0, 0.01, 500)])
    betas = market_betas(History(assets, market=market))
    assert betas[0] == pytest.approx(1.5, abs=0.02) and abs(betas[1]) < 0.15


def test_parametric_model_scales_the_covariance_by_the_volatility_multipliers():
    rng = np.random.default_rng(2)
    log_r = rng.multivariate_normal([0, 0], [[1e-4, 3e-5], [3e-5, 2e-4]], size=400)
    base = parametric_model(log_r, "historical", np.ones(2), 5.0, np.float64)
    stressed = parametric_model(log_r, "zero", np.array([2.0, 3.0]), 5.0, np.float64)
    cov = np.asarray(base.chol @ base.chol.T)
    assert np.allclose(stressed.chol @ stressed.chol.T, cov * np.outer([2, 3], [2, 3]))
    assert np.allclose(base.drift, log_r.mean(axis=0))
    assert np.allclose(stressed.drift, -0.5 * np.diag(cov) * [4, 9])  # zero expected growth


def _history(n_symbols=2, n_days=300, seed=3):
    rng = np.random.default_rng(seed)
    assets = rng.normal(3e-4, 0.01, (n_days, n_symbols))
    return History(assets, market=assets[:, 0], strategy=assets.mean(axis=1))


def _request(**fields):
    body = {**INLINE, "scenarios": ["2008_financial_crisis"], "monte_carlo_iterations": BLOCK}
    return parse_stress_request({**body, "horizon_days": 10, **fields})


def test_stress_document_is_json_safe_reproducible_and_complete():
    request = _request()
    book, history = inline_book(request), _history()
    doc = run_stress_test(request, book, history)
    json.dumps(doc, allow_nan=False)
    again = run_stress_test(request, book, history)
    assert {**again, "processing_time_ms": 0} == {**doc, "processing_time_ms": 0}
    mc = doc["monte_carlo"]
    assert mc["var_99"] <= mc["var_95"] <= mc["return_percentiles"]["p50"]
    assert mc["cvar_99"] <= mc["var_99"] and sum(mc["histogram"]["counts"]) == BLOCK
    assert mc["var_95_amount"] == pytest.approx(mc["var_95"] / 100 * 1e6)
    crisis = doc["scenarios"][0]
    assert crisis["pnl"] == pytest.approx(6e5 * -0.568 + 3e5 * 0.20)
    stressed = crisis["monte_carlo"]
    assert stressed["return_percentiles"]["p50"] < mc["return_percentiles"]["p5"]
    spread = [
        m["return_percentiles"]["p95"] - m["return_percentiles"]["p5"] for m in (mc, stressed)
    ]
    assert spread[1] > spread[0]  # volatility x 2.5 after a 30 % loss still widens the spread


@pytest.mark.parametrize(
    "method", [{"method": "parametric_t"}, {"method": "bootstrap", "block_size": 3}]
)
def test_the_fan_is_drawn_from_the_runs_own_first_paths(method):
    """With at most FAN_PATHS iterations the fan holds every path of the run: its last day's
    percentiles are the run's terminal return percentiles, in money."""
    request = _request(**method, monte_carlo_iterations=FAN_PATHS)
    book = inline_book(request)
    mc = run_stress_test(request, book, _history())["monte_carlo"]
    fan = mc["fan"]
    assert fan["paths"] == FAN_PATHS and fan["days"] == list(range(11))
    for level in FAN_PERCENTILES:
        series = fan["percentiles"][f"p{level}"]
        assert series[0] == round(book.value, 2) and len(series) == 11
        terminal = book.value * (1 + mc["return_percentiles"][f"p{level}"] / 100)
        assert series[-1] == pytest.approx(terminal, rel=1e-6)  # float32 on a GPU
    larger = _request(monte_carlo_iterations=2 * FAN_PATHS, scenarios=[])
    assert run_stress_test(larger, book, _history())["monte_carlo"]["fan"]["paths"] == FAN_PATHS


def test_bootstrap_of_a_backtest_resamples_the_strategy_returns():
    request = _request(method="bootstrap", block_size=5)
    history = _history()
    book = Book(("SPY", "TLT"), np.array([6e5, 3e5]), 1e5)
    as_book = run_stress_test(request, book, History(history.assets, history.market))
    as_strategy = run_stress_test(request, book, history)
    assert as_book["monte_carlo"]["basis"] == "book"
    assert as_strategy["monte_carlo"]["basis"] == "strategy_returns"
    assert as_book["monte_carlo"]["var_95"] != as_strategy["monte_carlo"]["var_95"]


def test_zero_drift_gives_zero_expected_growth_within_the_error():
    request = _request(drift="zero", scenarios=[], monte_carlo_iterations=8 * BLOCK)
    doc = run_stress_test(request, inline_book(request), _history())["monte_carlo"]
    width = doc["return_percentiles"]["p75"] - doc["return_percentiles"]["p25"]
    se = width / 1.35 / math.sqrt(8 * BLOCK)
    assert abs(doc["mean_return"]) < 4 * se


def test_unusable_inputs_are_refused():
    request = _request(method="bootstrap", block_size=50, scenarios=[])
    short = History(np.full((30, 2), 1e-3))
    with pytest.raises(SpecError, match="block_size"):
        run_stress_test(request, inline_book(request), short)
    with pytest.raises(DataError, match="at least"):
        run_stress_test(_request(), inline_book(_request()), History(np.full((5, 2), 1e-3)))
    with pytest.raises(DataError, match="positive"):
        run_stress_test(_request(), Book(("SPY",), np.array([-10.0]), 5.0), _history(1))


def test_antithetic_runs_are_asked_for_by_name_and_leave_older_digests_alone():
    plain, paired = _request(), _request(antithetic=True)
    assert "antithetic" not in plain.to_payload() and paired.to_payload()["antithetic"] is True
    assert parse_stress_request(paired.to_payload()) == paired
    assert plain.content_hash() != paired.content_hash()
    book, history = inline_book(paired), _history()
    doc = run_stress_test(paired, book, history)["monte_carlo"]
    assert doc["antithetic"] is True
    assert doc != run_stress_test(plain, book, history)["monte_carlo"]
