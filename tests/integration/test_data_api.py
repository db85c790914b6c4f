"""``/data`` endpoints and backtests on stored bars, through the real API, PostgreSQL and worker."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from engine.backtest import run_backtest
from engine.spec import parse_spec
from store.bars.files import market_from_files
from store.bars.reads import snapshot
from store.data_validation import validate_stored

pytestmark = pytest.mark.integration
GOOG = Path("examples/data/GOOG.csv")


def fresh() -> str:
    return f"G{uuid.uuid4().hex[:7].upper()}"


def import_goog(api, symbol: str) -> dict:
    response = api.post(
        f"/data/bars?symbol={symbol}&frequency=1d", data=GOOG.read_bytes(), content_type="text/csv"
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def goog_spec(symbol: str, **overrides) -> dict:
    body = {
        "backtest_name": "goog on stored bars",
        "start_date": "2005-01-01T00:00:00Z",
        "end_date": "2012-12-31T00:00:00Z",
        "symbols": [symbol],
        "data_sources": ["database"],
        "strategy_id": "sma_crossover",
        "strategy_parameters": {"fast_period": 10, "slow_period": 20},
        "commission_rate": 0.002,
    }
    return body | overrides


def test_import_csv_then_list_and_validate(shared):
    symbol = fresh()
    report = import_goog(shared.api, symbol)
    assert report["status"] == "imported" and report["inserted"] == report["rows"] == 2148
    again = import_goog(shared.api, symbol)
    assert again["inserted"] == 0 and again["unchanged"] == 2148

    listed = shared.api.get("/data/symbols?frequency=1d").get_json()["symbols"]
    (row,) = [s for s in listed if s["symbol"] == symbol]
    assert row["bar_count"] == 2148 and row["earliest_date"] == "2004-08-19T00:00:00Z"
    assert row["latest_date"] == "2013-03-01T00:00:00Z" and row["exchange"] == "XNYS"

    query = f"symbols={symbol},NOSUCH&start_date=2010-01-01&end_date=2010-12-31"
    body = shared.api.get(f"/data/validate?{query}").get_json()
    summary = body["validation_summary"]
    assert summary["symbols_requested"] == 2 and summary["symbols_available"] == 1
    assert summary["ready_for_backtest"] is False
    detail = body["symbol_details"][symbol]
    assert detail["data_coverage_percentage"] == 100.0 and detail["missing_periods"] == []
    assert body["symbol_details"]["NOSUCH"]["available"] is False
    assert any(line.startswith("NOSUCH: no 1d bars") for line in body["recommendations"])


def test_import_json_and_rejections_write_nothing(shared):
    symbol = fresh()
    bars = [
        {"date": "2024-01-02", "open": 1, "high": 2, "low": 1, "close": 2, "volume": 10},
        {"date": "not a date", "open": 1, "high": 2, "low": 1, "close": 2, "volume": 10},
    ]
    response = shared.api.post("/data/bars", json={"symbol": symbol, "bars": bars})
    body = response.get_json()
    assert response.status_code == 422 and body["import"]["written"] is False
    assert body["import"]["rejections"]["reasons"] == {"unparseable_time": 1}
    assert "unparseable_time" in body["errors"]
    validate = f"/data/validate?symbols={symbol}&start_date=2024-01-01&end_date=2024-01-31"
    assert shared.api.get(validate).get_json()["validation_summary"]["symbols_available"] == 0

    ok = shared.api.post("/data/bars", json={"symbol": symbol, "bars": bars, "on_error": "skip"})
    assert ok.status_code == 200 and ok.get_json()["inserted"] == 1


def test_missing_data_refuses_the_backtest_with_the_report(shared):
    body = goog_spec(fresh())
    response = shared.api.post("/backtests", json=body)
    error = response.get_json()
    assert response.status_code == 422, error
    assert error["validation_report"]["validation_summary"]["ready_for_backtest"] is False
    assert "proceed_with_data_issues" in error["message"] and "symbols" in error["errors"]
    forced = shared.api.post("/backtests", json=body | {"proceed_with_data_issues": True})
    assert forced.status_code == 202


def test_backtest_on_imported_goog_equals_the_csv_loaded_directly(shared, wait_for):
    symbol = fresh()
    import_goog(shared.api, symbol)
    body = goog_spec(symbol)
    job_id = shared.submit(body)["execution_id"]
    wait_for(job_id, lambda row: row["status"] in ("completed", "failed"), timeout=120)
    results = shared.api.get(f"/backtests/{job_id}/results").get_json()
    assert results.get("execution_summary", {}).get("data_source") == "database", results

    direct = run_backtest(parse_spec(body), market_from_files({symbol: GOOG}))
    assert results["performance_metrics"] == direct.document()["performance_metrics"]
    assert results["execution_summary"]["dataset_version"]


def test_stored_and_direct_runs_agree_bar_for_bar(shared):
    symbol = fresh()
    import_goog(shared.api, symbol)
    spec = parse_spec(goog_spec(symbol))
    sessions = shared.app.extensions["nautilus"].sessions
    with snapshot(sessions) as session:
        checked = validate_stored(session, [symbol], spec.start_date, spec.end_date)
    stored = run_backtest(spec, checked.bars.to_market())
    direct = run_backtest(spec, market_from_files({symbol: GOOG}))
    assert np.array_equal(stored.equity, direct.equity)
    assert len(stored.fills) == len(direct.fills) > 0
