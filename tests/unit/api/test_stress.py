"""``POST /stress-test`` refuses bad bodies before any I/O, naming the field (no stores here)."""

from __future__ import annotations

SHAPE = {"code", "status", "message", "errors", "request_id"}


def check(response, code: int) -> dict:
    body = response.get_json()
    assert response.status_code == code, body
    assert set(body) == SHAPE and body["code"] == code
    return body


def test_a_body_without_a_book_is_422_naming_portfolio(client):
    assert "portfolio" in check(client.post("/stress-test", json={}), 422)["errors"]


def test_a_bad_scenario_is_422_naming_its_field(client):
    body = {
        "portfolio": {"SPY": 1.0},
        "scenarios": [{"name": "x", "market_shocks": {"SPY": -150}, "probability": 2}],
    }
    errors = check(client.post("/stress-test", json=body), 422)["errors"]
    assert {"scenarios[0].market_shocks.SPY", "scenarios[0].probability"} <= set(errors)


def test_a_body_that_is_not_an_object_is_400(client):
    check(client.post("/stress-test", data="[1, 2]", content_type="application/json"), 400)


def test_the_route_is_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "post" in paths["/stress-test"] and "get" in paths["/stress-test/{stress_test_id}"]
