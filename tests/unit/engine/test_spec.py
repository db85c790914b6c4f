"""The run spec: every validation rule names its field and says how to fix it; hashes are stable."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import SpecError
from engine.spec import BacktestSpec, parse_spec
from engine.strategies import get_strategy, strategy_ids

BASE = {
    "backtest_name": "test",
    "start_date": "2024-01-01",
    "end_date": "2024-06-30",
    "symbols": ["SPY", "QQQ"],
    "strategy_id": "sma_crossover",
    "strategy_parameters": {},
}
DROP = object()
VALID = str(strategy_ids())  # the built-ins and any installed package's strategies


def errors_of(**changes) -> dict[str, list[str]]:
    """The errors of BASE with ``changes`` (DROP removes a field)."""
    payload = {**BASE, **changes}
    payload = {k: v for k, v in payload.items() if v is not DROP}
    with pytest.raises(SpecError) as caught:
        parse_spec(payload)
    return caught.value.errors


def spec_of(**changes) -> BacktestSpec:
    return parse_spec({**BASE, **changes})


CASES = [
    # unknown and missing fields
    ({"backtest_namee": "x"}, "backtest_namee", "unknown field. Did you mean 'backtest_name'?"),
    ({"strategy_parameter": {}}, "strategy_parameter", "unknown field. Did you mean "
     "'strategy_parameters'?"),
    ({"colour": "red"}, "colour", "unknown field."),
    ({"backtest_name": DROP}, "backtest_name", "is required"),
    ({"backtest_name": None}, "backtest_name", "is required"),
    ({"start_date": DROP}, "start_date", "is required"),
    ({"end_date": DROP}, "end_date", "is required"),
    ({"symbols": DROP}, "symbols", "is required"),
    ({"strategy_id": DROP}, "strategy_id", "is required"),
    ({"strategy_parameters": DROP}, "strategy_parameters", "is required"),
    # text
    ({"backtest_name": "   "}, "backtest_name", "must be a non-empty string"),
    ({"backtest_name": 7}, "backtest_name", "must be a non-empty string"),
    ({"backtest_name": "x" * 201}, "backtest_name", "must be at most 200 characters, got 201"),
    ({"backtest_type": "x" * 65}, "backtest_type", "must be at most 64 characters, got 65"),
    ({"description": "x" * 2001}, "description", "must be at most 2000 characters, got 2001"),
    # dates and calendar
    ({"start_date": "yesterday"}, "start_date",
     "must be an ISO 8601 date such as 2024-01-31, got 'yesterday'"),
    ({"end_date": "2024-02-30"}, "end_date",
     "must be an ISO 8601 date such as 2024-01-31, got '2024-02-30'"),
    ({"start_date": []}, "start_date", "must be an ISO 8601 date such as 2024-01-31, got []"),
    ({"start_date": 20240101}, "start_date",
     "must be an ISO 8601 date such as 2024-01-31, got 20240101"),
    ({"end_date": "2023-12-31"}, "end_date", "must be after start_date"),
    ({"end_date": "2024-01-01"}, "end_date", "must be after start_date"),
    ({"frequency": "2d"}, "frequency",
     "must be one of ['1m', '5m', '15m', '30m', '1h', '1d'], got '2d'"),
    ({"timezone": "Mars/Olympus"}, "timezone",
     "must be an IANA time zone such as 'UTC' or 'America/New_York', got 'Mars/Olympus'"),
    # symbols
    ({"symbols": []}, "symbols", "must be a non-empty list of symbols such as ['SPY', 'QQQ']"),
    ({"symbols": "SPY"}, "symbols", "must be a non-empty list of symbols such as ['SPY', 'QQQ']"),
    ({"symbols": ["SPY", "bad sym", 3]}, "symbols",
     "has invalid symbols ['bad sym', 3]: use letters, digits and .-_^="),
    ({"symbols": ["SPY", "QQQ", "SPY"]}, "symbols", "lists ['SPY'] more than once"),
    ({"symbols": [f"S{i}" for i in range(1001)]}, "symbols",
     "has 1001 symbols; at most 1000 are allowed"),
    ({"benchmark_symbol": "bad sym"}, "benchmark_symbol",
     "must be a symbol such as 'SPY', got 'bad sym'"),
    ({"universes": "sp500"}, "universes", "must be a list of strings"),
    ({"data_sources": ["file", 1]}, "data_sources", "must be a list of strings"),
    # numbers
    ({"initial_capital": 0.5}, "initial_capital",
     "must be at least 1.0 and at most 10000000000000.0, got 0.5"),
    ({"initial_capital": "lots"}, "initial_capital", "must be a number, got 'lots'"),
    ({"initial_capital": True}, "initial_capital", "must be a number, got True"),
    ({"initial_capital": float("inf")}, "initial_capital", "must be a number, got inf"),
    ({"initial_capital": 10**400}, "initial_capital", f"must be a number, got {10**400}"),
    ({"max_position_size": 0}, "max_position_size",
     "must be greater than 0.0 and at most 10.0, got 0"),
    ({"max_portfolio_leverage": 11}, "max_portfolio_leverage",
     "must be greater than 0.0 and at most 10.0, got 11"),
    ({"commission_rate": 0.2}, "commission_rate", "must be at least 0.0 and at most 0.1, got 0.2"),
    ({"commission_rate": -0.001}, "commission_rate",
     "must be at least 0.0 and at most 0.1, got -0.001"),
    ({"slippage_basis_points": 1001}, "slippage_basis_points",
     "must be at least 0.0 and at most 1000.0, got 1001"),
    ({"fee_per_order": -1}, "fee_per_order", "must be at least 0.0 and at most 1000000.0, got -1"),
    ({"risk_free_rate": 2}, "risk_free_rate", "must be at least -0.1 and at most 1.0, got 2"),
    ({"data_seed": -1}, "data_seed", "must be a whole number from 0 to 2147483647, got -1"),
    ({"data_seed": 1.5}, "data_seed", "must be a whole number from 0 to 2147483647, got 1.5"),
    # choices and flags
    ({"fill": "open"}, "fill", "must be one of ['next_open', 'close'], got 'open'"),
    ({"fractional_shares": "no"}, "fractional_shares", "must be true or false, got 'no'"),
    ({"use_neural_engine": 1}, "use_neural_engine", "must be true or false, got 1"),
    # risk limits and sectors
    ({"risk_limits": [0.1]}, "risk_limits", "must be an object of name: value pairs"),
    ({"risk_limits": {"max_drawdown": 0.2}}, "risk_limits.max_drawdown",
     "unknown risk limit; valid limits are ['max_single_position', 'max_sector_exposure']"),
    ({"risk_limits": {"max_single_position": 0}}, "risk_limits.max_single_position",
     "must be a fraction greater than 0 and at most 10, got 0"),
    ({"risk_limits": {"max_single_position": 10.5}}, "risk_limits.max_single_position",
     "must be a fraction greater than 0 and at most 10, got 10.5"),
    ({"risk_limits": {"max_single_position": True}}, "risk_limits.max_single_position",
     "must be a fraction greater than 0 and at most 10, got True"),
    ({"risk_limits": {"max_sector_exposure": 0.3}}, "risk_limits.max_sector_exposure",
     "needs sectors: {symbol: sector}"),
    ({"sectors": {"SPY": ""}}, "sectors",
     "must map each symbol to a sector name; bad entries for ['SPY']"),
    ({"sectors": {"SPY": "Index", "XOM": "Energy"}}, "sectors",
     "names symbols not in symbols: ['XOM']"),
    # strategies and their parameters
    ({"strategy_id": "sma_cross"}, "strategy_id",
     f"unknown strategy 'sma_cross'. Did you mean 'sma_crossover'? Valid strategies: {VALID}"),
    ({"strategy_id": "zzz"}, "strategy_id", f"unknown strategy 'zzz'. Valid strategies: {VALID}"),
    ({"strategy_parameters": [1]}, "strategy_parameters",
     "must be an object of name: value pairs"),
    ({"strategy_parameters": {"fast_perod": 5}}, "strategy_parameters.fast_perod",
     "unknown parameter 'fast_perod'. Did you mean 'fast_period'? Valid parameters: "
     "['allow_short', 'fast_period', 'slow_period']"),
    ({"strategy_parameters": {"speed": 5}}, "strategy_parameters.speed",
     "unknown parameter 'speed'. Valid parameters: ['allow_short', 'fast_period', 'slow_period']"),
    ({"strategy_parameters": {"fast_period": 0}}, "strategy_parameters.fast_period",
     "must be between 1 and 1000, got 0"),
    ({"strategy_parameters": {"slow_period": 1001}}, "strategy_parameters.slow_period",
     "must be between 2 and 1000, got 1001"),
    ({"strategy_parameters": {"fast_period": "10"}}, "strategy_parameters.fast_period",
     "must be a finite int, got '10'"),
    ({"strategy_parameters": {"fast_period": 10.5}}, "strategy_parameters.fast_period",
     "must be a whole number, got 10.5"),
    ({"strategy_parameters": {"fast_period": True}}, "strategy_parameters.fast_period",
     "must be a finite int, got True"),
    ({"strategy_parameters": {"allow_short": "yes"}}, "strategy_parameters.allow_short",
     "must be true or false, got 'yes'"),
    ({"strategy_parameters": {"fast_period": 30}}, "strategy_parameters.fast_period",
     "must be smaller than slow_period"),
    ({"strategy_parameters": {"fast_period": 20}}, "strategy_parameters.fast_period",
     "must be smaller than slow_period"),
    ({"strategy_id": "rsi", "strategy_parameters": {"lower": 80}}, "strategy_parameters.lower",
     "must be smaller than upper"),
    ({"strategy_id": "rsi", "strategy_parameters": {"upper": 100.5}}, "strategy_parameters.upper",
     "must be between 0.0 and 100.0, got 100.5"),
    ({"strategy_id": "mean_reversion", "strategy_parameters": {"exit_z": 3}},
     "strategy_parameters.exit_z", "must not exceed entry_z"),
    ({"strategy_id": "momentum_factor", "strategy_parameters": {"rebalance_frequency": "hourly"}},
     "strategy_parameters.rebalance_frequency",
     "must be one of ['daily', 'weekly', 'monthly'], got 'hourly'"),
    ({"strategy_id": "momentum_factor", "strategy_parameters": {"top_k": 0}},
     "strategy_parameters.top_k", "must be between 1 and 5000, got 0"),
    ({"strategy_id": "momentum_factor",
      "strategy_parameters": {"momentum_threshold": float("nan")}},
     "strategy_parameters.momentum_threshold", "must be a finite float, got nan"),
    ({"strategy_id": "momentum_factor",
      "strategy_parameters": {"momentum_threshold": 1e-310}},
     "strategy_parameters.momentum_threshold",
     "must be 0 or at least 2.2250738585072014e-308 in magnitude, got 1e-310 (accelerators read "
     "smaller numbers as 0)"),
    ({"strategy_id": "breakout", "strategy_parameters": {"window": 0}},
     "strategy_parameters.window", "must be between 1 and 1000, got 0"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "field", "message"), CASES)
def test_each_rule_names_its_field_and_the_fix(changes, field, message):
    errors = errors_of(**changes)
    assert field in errors, errors
    assert message in errors[field], errors
    assert message in str(SpecError(errors))


def test_a_missing_mapping_is_reported_once():
    assert errors_of(strategy_parameters=DROP)["strategy_parameters"] == ["is required"]


def test_a_body_must_be_an_object():
    with pytest.raises(SpecError) as caught:
        parse_spec(["not", "an", "object"])
    assert caught.value.errors == {"body": ["must be a JSON object with the backtest's fields"]}


def test_every_bad_field_is_reported_at_once():
    errors = errors_of(frequency="2d", symbols=[], commission_rate=1, colour="red")
    assert set(errors) == {"frequency", "symbols", "commission_rate", "colour"}
    errors = errors_of(
        strategy_id="momentum_factor",
        strategy_parameters={"top_k": 0, "rebalance_frequency": "hourly", "extra": 1},
    )
    assert set(errors) == {
        "strategy_parameters.top_k",
        "strategy_parameters.rebalance_frequency",
        "strategy_parameters.extra",
    }


def test_defaults_and_normalisation():
    spec = spec_of(frequency=None, start_date="2024-01-01T05:00:00+02:00")
    assert spec.frequency == "1d" and spec.timezone == "UTC" and spec.fill == "next_open"
    assert spec.start_date == pd.Timestamp("2024-01-01T03:00:00", tz="UTC")
    assert spec.end_date == pd.Timestamp("2024-06-30", tz="UTC")
    assert spec.symbols == ("SPY", "QQQ")
    assert dict(spec.strategy_parameters) == {
        "fast_period": 10,
        "slow_period": 20,
        "allow_short": False,
    }
    assert (
        type(spec_of(strategy_parameters={"fast_period": 5.0}).strategy_parameters["fast_period"])
        is int
    )
    assert (spec.initial_capital, spec.commission_rate, spec.fractional_shares) == (
        100_000.0,
        0.001,
        True,
    )


@pytest.mark.parametrize("alias", ["momentum_factor_v2.1", "momentum_factor_v2"])
def test_momentum_aliases_resolve(alias):
    spec = spec_of(strategy_id=alias, strategy_parameters={"top_k": 2})
    assert spec.strategy_id == "momentum_factor"
    assert get_strategy(alias) is get_strategy("momentum_factor")
    assert get_strategy(alias).version == "2.1"
    assert spec.strategy_parameters == {
        "lookback_period": 20,
        "momentum_threshold": 0.0,
        "rebalance_frequency": "weekly",
        "top_k": 2,
    }
    assert (
        spec.content_hash()
        == spec_of(strategy_id="momentum_factor", strategy_parameters={"top_k": 2}).content_hash()
    )


def test_registry_lists_every_builtin_with_a_schema():
    builtins = [s for s in strategy_ids() if get_strategy(s).package is None]
    assert builtins == sorted(
        ["breakout", "buy_and_hold", "mean_reversion", "momentum_factor", "rsi", "sma_crossover"]
    )
    described = get_strategy("sma_crossover").describe()
    assert described["parameters"]["fast_period"] == {
        "type": "int",
        "default": 10,
        "minimum": 1,
        "maximum": 1000,
        "description": "Bars in the fast simple moving average.",
    }


RICH = {
    **BASE,
    "backtest_type": "walk_forward",
    "description": "all the fields",
    "frequency": "1h",
    "timezone": "America/New_York",
    "universes": ["sp500"],
    "data_sources": ["file"],
    "initial_capital": 250_000,
    "max_position_size": 0.5,
    "max_portfolio_leverage": 1.5,
    "risk_limits": {"max_single_position": 0.4, "max_sector_exposure": 0.7},
    "commission_rate": 0.0005,
    "slippage_basis_points": 3,
    "fee_per_order": 1.25,
    "benchmark_symbol": "SPY",
    "risk_free_rate": 0.02,
    "fill": "close",
    "fractional_shares": False,
    "sectors": {"SPY": "Index", "QQQ": "Tech"},
    "data_seed": 7,
    "use_neural_engine": True,
    "strategy_id": "rsi",
    "strategy_parameters": {"period": 9, "lower": 25.5, "allow_short": True},
}


def test_to_payload_round_trips_through_parse_spec():
    spec = parse_spec(RICH)
    payload = spec.to_payload()
    assert json.loads(json.dumps(payload)) == payload
    again = parse_spec(payload)
    assert again == spec
    assert again.to_payload() == payload
    assert payload["start_date"] == "2024-01-01T00:00:00Z"
    assert payload["strategy_parameters"] == {
        "period": 9,
        "lower": 25.5,
        "upper": 70.0,
        "allow_short": True,
    }
    assert spec.hardware_acceleration_requested


def test_canonical_json_is_sorted_and_compact():
    spec = parse_spec(RICH)
    text = spec.canonical_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    assert spec.content_hash() == hashlib.sha256(text.encode()).hexdigest()


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(list(RICH)), inner=st.permutations(list(RICH["sectors"])))
def test_content_hash_ignores_key_order(order, inner):
    shuffled = {key: RICH[key] for key in order}
    shuffled["sectors"] = {key: RICH["sectors"][key] for key in inner}
    assert parse_spec(shuffled).content_hash() == parse_spec(RICH).content_hash()


def test_equal_specs_hash_equal_and_different_ones_do_not():
    explicit = spec_of(
        strategy_parameters={"fast_period": 10, "slow_period": 20, "allow_short": False},
        frequency="1d",
        fill="next_open",
    )
    assert explicit.content_hash() == spec_of().content_hash()
    assert spec_of(start_date="2024-01-01T00:00:00Z").content_hash() == spec_of().content_hash()
    different = [
        spec_of(strategy_parameters={"fast_period": 11}),
        spec_of(symbols=["QQQ", "SPY"]),
        spec_of(commission_rate=0.002),
        spec_of(end_date="2024-07-01"),
        spec_of(backtest_name="another name"),
    ]
    hashes = {s.content_hash() for s in different} | {spec_of().content_hash()}
    assert len(hashes) == len(different) + 1
