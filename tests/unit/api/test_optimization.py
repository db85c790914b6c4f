"""``POST /optimization/parameters`` refuses bad requests before any store is touched."""

from __future__ import annotations

import pytest

BASE = {
    "backtest_name": "base",
    "start_date": "2024-01-01",
    "end_date": "2024-06-30",
    "symbols": ["SPY", "QQQ"],
    "strategy_id": "sma_crossover",
    "strategy_parameters": {"fast_period": 5, "slow_period": 20},
    "data_sources": ["synthetic"],
}


@pytest.fixture
def small_limit_client(make_client):
    return make_client(NAUTILUS_OPTIMIZATION_MAX_SETS="1000")


def post(client, body):
    response = client.post("/optimization/parameters", json=body)
    return response.status_code, response.get_json()


def test_the_grid_guard_rail_gives_the_count_and_the_configured_limit(small_limit_client):
    body = {
        "base_spec": BASE,
        "parameter_ranges": {
            "fast_period": {"min": 1, "max": 60},
            "slow_period": {"min": 61, "max": 100},
        },
    }
    status, error = post(small_limit_client, body)
    assert status == 422
    assert "2,400 parameter sets" in error["message"] and "limit of 1,000" in error["message"]
    assert list(error["errors"]) == ["parameter_ranges"]


def test_field_errors_are_named(client):
    body = {"base_spec": {**BASE, "symbols": []}, "parameter_ranges": {"fast": [1]}, "method": "x"}
    status, error = post(client, body)
    assert status == 422
    assert "base_spec.symbols" in error["errors"] and "method" in error["errors"]
    status, error = post(client, {"base_spec": BASE, "parameter_ranges": {"fast_perod": [1]}})
    assert "Did you mean 'fast_period'?" in error["errors"]["parameter_ranges.fast_perod"][0]


def test_the_body_must_be_an_object(client):
    status, error = post(client, [1, 2])
    assert status == 400 and error["errors"] == {"body": ["expected a JSON object"]}


def test_the_routes_are_documented(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/optimization/parameters", "/optimization/{optimization_id}",
            "/optimization/{optimization_id}/trials", "/optimization/{optimization_id}/heatmap",
            "/optimization/{optimization_id}/cancel"} <= set(paths)  # fmt: skip
