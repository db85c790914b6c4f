"""``/data`` requests that are refused before touching a store: each names its field."""

from __future__ import annotations

import pytest


def refused(response, field: str) -> dict:
    body = response.get_json()
    assert response.status_code == 422, body
    assert set(body) == {"code", "status", "message", "errors", "request_id"}
    assert field in body["errors"], body
    return body


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start_date=2024-01-01&end_date=2024-12-31", "symbols"),
        ("symbols=SPY&end_date=2024-12-31", "start_date"),
        ("symbols=SPY&start_date=yesterday&end_date=2024-12-31", "start_date"),
        ("symbols=SPY&start_date=2024-01-01&end_date=2024-12-31&frequency=2d", "frequency"),
        ("symbols=SPY,no%20way&start_date=2024-01-01&end_date=2024-12-31", "symbols"),
        ("symbols=SPY&start_date=2024-12-31&end_date=2024-01-01", "end_date"),
    ],
)
def test_validate_checks_its_arguments(client, query, field):
    refused(client.get(f"/data/validate?{query}"), field)


def test_import_refuses_a_file_with_wrong_columns_before_writing(client):
    body = b"Date,Open,High,Low,Price,Volume\n2024-01-02,1,1,1,1,1\n"
    response = client.post("/data/bars?symbol=SPY", data=body, content_type="text/csv")
    assert response.status_code == 422
    assert "missing column(s) Close" in response.get_json()["message"]


def test_import_refuses_unknown_on_error_policy(client):
    refused(client.post("/data/bars?on_error=maybe", data=b"", content_type="text/csv"), "on_error")


def test_backtest_flag_must_be_boolean(client):
    body = {"proceed_with_data_issues": "yes"}
    refused(client.post("/backtests", json=body), "proceed_with_data_issues")


def test_providers_say_which_key_is_missing(client):
    body = client.get("/data/providers").get_json()
    status = {p["provider"]: p for p in body["providers"]}
    assert status["yahoo"]["configured"] is True
    assert status["fred"]["configured"] is False and "FRED_API_KEY" in status["fred"]["status"]
