"""Bounded inputs: each is a 4xx that says what to fix, before any store is touched."""

from __future__ import annotations

import io

import pytest

from api.inputs import json_problem

VALID = {
    "backtest_name": "x",
    "start_date": "2024-01-01",
    "end_date": "2024-06-30",
    "symbols": ["SPY"],
    "strategy_id": "sma_crossover",
    "strategy_parameters": {"fast_period": 5, "slow_period": 20},
    "data_sources": ["synthetic"],
}


def refused(response, code: int, *words: str) -> dict:
    body = response.get_json()
    assert response.status_code == code, body
    assert body["code"] == code and body["request_id"] == response.headers["X-Request-ID"]
    for word in words:
        assert word in body["message"], body
    return body


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_deep_json_is_400_on_every_post(client, depth, content_type):
    body = '{"a":' + "[" * depth + "]" * depth + "}"
    for path in ("/backtests", "/backtests/query", "/optimization/parameters", "/session"):
        response = client.post(path, data=body, content_type=content_type)
        refused(response, 400, "nests deeper than 32")


@pytest.mark.parametrize("text", ["a\x00b", "tab\x01", "x" * 10_001])
def test_bad_strings_in_a_body_are_400(client, text):
    refused(client.post("/backtests", json={**VALID, "backtest_name": text}), 400, "string")
    refused(client.post("/backtests", json={**VALID, text: 1}), 400, "string")


def test_control_characters_in_the_url_are_400(client):
    refused(client.get("/backtests/bt_%00x"), 400, "control character")
    refused(client.get("/jobs?strategy_id=a%00b"), 400, "control character")
    refused(client.get("/jobs?a%01=1"), 400, "control character")


@pytest.mark.parametrize(
    ("request_args", "field"),
    [
        (("post", "/backtests/query", {"json": {"page": 1e30}}), "page"),
        (("post", "/backtests/query", {"json": {"page": 1e300, "page_size": -1}}), "page"),
        (("get", "/optimization/opt_x/trials?page=1e30", {}), "page"),
        (("get", "/jobs?limit=99999999999999999999", {}), "limit"),
        (("get", "/data/validate?symbols=SPY&start_date=&end_date=", {}), "start_date"),
        (("get", "/data/validate?symbols=SPY&start_date=1700-01-01&end_date=2024-01-01", {}),
         "start_date"),
        (("post", "/backtests", {"json": {**VALID, "start_date": "1700-01-01",
                                          "end_date": "2260-01-01"}}), "end_date"),
    ],
)  # fmt: skip
def test_numbers_and_dates_out_of_range_are_422(client, request_args, field):
    method, path, kwargs = request_args
    body = refused(getattr(client, method)(path, **kwargs), 422)
    assert field in body["errors"], body


@pytest.mark.parametrize("step", [1e-320, 1e-300, 5e-324])
def test_a_vanishing_step_is_422(client, step):
    request = {
        "base_spec": {**VALID, "strategy_id": "momentum_factor",
                      "strategy_parameters": {"lookback_period": 20}},
        "parameter_ranges": {"momentum_threshold": {"min": 0, "max": 0.1, "step": step}},
    }  # fmt: skip
    refused(client.post("/optimization/parameters", json=request), 422, "larger step")


def test_work_over_the_limit_is_422_with_the_size_and_the_limit(client):
    big = {
        **VALID,
        "symbols": [f"S{i}" for i in range(1000)],
        "frequency": "1m",
        "start_date": "2023-01-01",
        "end_date": "2024-01-01",
    }
    body = refused(client.post("/backtests", json=big), 422, "NAUTILUS_MAX_WORK_BACKTEST")
    assert body["work_requested"] == 1000 * 525_601 and body["work_limit"] == 50_000_000


def test_a_stress_test_counts_every_scenario(client):
    request = {
        "portfolio": {"SPY": 1.0},
        "data_sources": ["synthetic"],
        "monte_carlo_iterations": 200_000,
        "horizon_days": 2520,
        "scenarios": [{"name": f"shock {i}", "market_shocks": {"SPY": -0.1}} for i in range(5)],
    }
    body = refused(client.post("/stress-test", json=request), 422, "NAUTILUS_MAX_WORK_MONTECARLO")
    assert body["work_requested"] == 200_000 * 2520 * 6


def test_bodies_over_the_limit_are_413_while_streaming_chunked_too(client):
    huge = b"x" * 2_000_000
    refused(client.post("/backtests", data=huge, content_type="application/json"), 413)
    chunked = client.post(
        "/backtests",
        input_stream=io.BytesIO(huge),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    refused(chunked, 413)


def test_the_walk_never_recurses():
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    assert "deeper than 32" in json_problem(deep, 32, 100)
    assert json_problem({"a": ["ok", {"b": "fine\tline\n"}]}, 32, 100) is None
