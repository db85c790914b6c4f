"""Error mapping: every failure has {code, status, message, errors}; bad input is never a 500."""

from __future__ import annotations

import pytest

from api.errors import flatten

SHAPE = {"code", "status", "message", "errors", "request_id"}
VALID = {
    "backtest_name": "x",
    "start_date": "2024-01-01T00:00:00Z",
    "end_date": "2024-06-30T00:00:00Z",
    "symbols": ["SPY"],
    "strategy_id": "buy_and_hold",
    "strategy_parameters": {},
    "data_sources": ["synthetic"],
}


def check(response, code: int) -> dict:
    body = response.get_json()
    assert response.status_code == code, body
    assert set(body) == SHAPE
    assert body["code"] == code and body["message"]
    return body


def test_spec_errors_are_422_naming_each_field(client):
    body = check(client.post("/backtests", json={**VALID, "symbols": [], "end_date": "soon"}), 422)
    assert {"symbols", "end_date"} <= set(body["errors"])
    assert "symbols" in body["message"]


def test_unknown_strategy_names_the_field_and_suggests(client):
    body = check(client.post("/backtests", json={**VALID, "strategy_id": "buy_and_hodl"}), 422)
    assert "buy_and_hold" in " ".join(body["errors"]["strategy_id"])


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"text"', b""])
def test_a_body_that_is_not_a_json_object_is_400(client, data):
    response = client.post("/backtests", data=data, content_type="application/json")
    assert check(response, 400)["errors"] == {"body": ["expected a JSON object"]}


def test_oversized_idempotency_key_is_400(client):
    response = client.post("/backtests", json=VALID, headers={"Idempotency-Key": "k" * 201})
    assert "Idempotency-Key" in check(response, 400)["errors"]


def test_query_validation_names_the_field(client):
    body = check(client.post("/backtests/query", json={"page": 0, "sort": ["-colour"]}), 422)
    assert {"page", "sort"} <= set(body["errors"])
    body = check(client.post("/backtests/query", json={"filters": {"status": ["done"]}}), 422)
    assert "filters" in body["errors"]
    body = check(client.post("/backtests/query", json={"limit": 5}), 422)
    assert "limit" in body["errors"]


def test_results_flags_must_be_booleans(client):
    body = check(client.get("/backtests/bt_x/results?include_trades=maybe"), 422)
    assert "include_trades" in body["errors"]


def test_unknown_route_and_wrong_method(client):
    check(client.get("/nowhere"), 404)
    response = client.delete("/backtests/bt_x")
    check(response, 405)
    assert "GET" in response.headers["Allow"]


def test_too_large_body_is_413(client):
    response = client.post("/backtests", data=b"x" * 2_000_000, content_type="application/json")
    check(response, 413)


def test_store_outage_is_503_not_500(tmp_path, unit_store):
    # these settings name a SQLite file without tables: the key's lookup fails as a store error
    from api import create_app
    from workers.settings import load_settings

    app = create_app(load_settings({"NAUTILUS_VAR_DIR": str(tmp_path), "LOG_LEVEL": "ERROR"}))
    headers = {"Authorization": f"Bearer {unit_store[1]}"}
    check(app.test_client().get("/backtests/bt_01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=headers), 503)


def test_flatten_merges_locations():
    assert flatten({"json": {"a": ["x"]}, "query": {"b": ["y"]}}) == {"a": ["x"], "b": ["y"]}
    assert flatten(["oops"]) == {"_request": ["oops"]}
