"""``POST /data/signals`` and ``target_weights`` backtests through the API, PostgreSQL and a
worker: stored weights trade as the engine trades them directly; bad files get named reasons;
a signal set is its owner's."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from engine.backtest import run_backtest
from engine.spec import parse_spec
from store.bars.files import market_from_files
from store.signal_import import parse_signals
from tests.integration.test_data_api import GOOG, fresh, import_goog

pytestmark = pytest.mark.integration


def _weights(x: str, y: str) -> bytes:
    return (
        "date,symbol,weight\n"
        f"2010-01-04,{x},0.6\n2010-01-04,{y},0.3\n"
        f"2010-03-01,{x},0.1\n2010-06-01,{y},-0.4\n2010-09-01,{x},0\n"
    ).encode()


def _spec(x: str, y: str, signal_set_id: str) -> dict:
    return {
        "backtest_name": "uploaded weights",
        "start_date": "2010-01-01T00:00:00Z",
        "end_date": "2010-12-31T00:00:00Z",
        "symbols": [x, y],
        "strategy_id": "target_weights",
        "strategy_parameters": {},
        "signal_set_id": signal_set_id,
        "commission_rate": 0.001,
        "exits": {"stop_loss": 0.08},
    }


def test_upload_then_backtest_equals_a_direct_run(shared, wait_for):
    x, y = fresh(), fresh()
    import_goog(shared.api, x)
    import_goog(shared.api, y)
    data = _weights(x, y)
    response = shared.api.post("/data/signals?name=model", data=data, content_type="text/csv")
    assert response.status_code == 201, response.get_json()
    stored = response.get_json()
    assert stored["symbols"] == sorted([x, y]) and stored["rows"] == 4
    assert stored["start_date"] == "2010-01-04T00:00:00Z"
    got = shared.api.get(f"/data/signals/{stored['signal_set_id']}").get_json()
    assert got["signal_set_id"] == stored["signal_set_id"]

    body = _spec(x, y, stored["signal_set_id"])
    job_id = shared.submit(body)["execution_id"]
    wait_for(job_id, lambda row: row["status"] in ("completed", "failed"), timeout=120)
    results = shared.api.get(f"/backtests/{job_id}/results").get_json()
    assert "performance_metrics" in results, results

    market = market_from_files({x: GOOG, y: GOOG})
    direct = run_backtest(parse_spec(body), market, signals=parse_signals(data, "w.csv").weights)
    assert round(results["execution_summary"]["equity_final"], 2) == round(direct.equity[-1], 2)
    assert results["trades_summary"]["total_trades"] == len(direct.closed_trades) > 0


def test_bad_files_get_named_reasons_and_nothing_is_stored(shared):
    x = fresh()
    import_goog(shared.api, x)
    bad = f"date,symbol,weight\n2010-01-04,{x},0.5\nsoon,{x},0.1\n2010-01-05,{x},99\n"
    response = shared.api.post("/data/signals", data=bad.encode(), content_type="text/csv")
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["import"]["rejections"]["reasons"] == {
        "unparseable_time": 1,
        "weight_out_of_range": 1,
    }
    missing = shared.api.post(
        "/data/signals", data=b"date,symbol,weight\n2010-01-04,NOBARS1,0.5\n",
        content_type="text/csv",
    )  # fmt: skip
    assert missing.status_code == 422 and "validation_report" in missing.get_json()


def test_a_signal_set_is_its_owners(shared):
    x = fresh()
    import_goog(shared.api, x)
    data = f"date,{x}\n2010-01-04,0.5\n".encode()
    buffer = io.BytesIO()
    pd.read_csv(io.BytesIO(data)).to_parquet(buffer)
    response = shared.api.post(
        "/data/signals?format=parquet",
        data=buffer.getvalue(),
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.get_json()
    set_id = response.get_json()["signal_set_id"]
    other = shared.client(shared.create_key(f"other-{x.lower()}"))
    assert other.get(f"/data/signals/{set_id}").status_code == 404
    refused = other.post("/backtests", json=_spec(x, x, set_id) | {"symbols": [x]})
    assert refused.status_code == 422
    assert "signal_set_id" in refused.get_json()["errors"]
