"""Every endpoint against the real stores: health, metrics, docs and each kind of bad input."""

from __future__ import annotations

import statistics

import pytest
import sqlalchemy as sa

from store.db import transaction

pytestmark = pytest.mark.integration

SHAPE = {"code", "status", "message", "errors", "request_id"}
UNKNOWN = "bt_01ARZ3NDEKTSV4RRFFQ69G5FAV"


def error(response, code: int) -> dict:
    body = response.get_json()
    assert response.status_code == code, body
    assert set(body) == SHAPE and body["code"] == code
    return body


def test_health_reports_stores_workers_queues_and_jobs(shared):
    body = shared.api.get("/health").get_json()
    assert body["status"] == "healthy" and body["port"] == 8110 and body["engine"] == "backtesting"
    assert all(body["components"][c]["ok"] for c in ("database", "broker", "result_store"))
    assert body["components"]["database"]["backend"] == "postgresql"
    cpu = body["workers"]["cpu"]
    assert cpu and cpu[0]["devices"] == ["cpu"] and "backtest.cpu" in cpu[0]["queues"]
    assert body["workers"]["gpu"] == [] and body["hardware_acceleration"]["gpu_workers_alive"] == 0
    assert body["hardware_acceleration"]["enabled"] is False
    assert body["hardware_optimization"] == {
        "vectorized_operations_enabled": True,
        "optimization_active": False,
    }
    assert set(body["queues"]) >= {"backtest.cpu", "backtest.gpu", "control"}
    assert "success_rate_percentage" in body["execution_metrics"]
    assert body["uptime_seconds"] >= 0 and body["messagebus_connected"] is True


def test_health_performance_figures_are_measured(isolated, make_spec, wait_for, sessions):
    isolated.workers.start()
    ids = [isolated.submit(make_spec())["execution_id"] for _ in range(3)]
    for job_id in ids:
        wait_for(job_id, lambda r: r["status"] == "completed")
    figures = isolated.api.get("/health").get_json()["performance_metrics"]
    with transaction(sessions) as session:
        rows = session.execute(sa.text(RECENT)).all()
    runs = [(done - started).total_seconds() * 1000 for status, started, done in rows]
    assert figures["backtests_executed"] == len(rows) >= 3
    ok = sum(status == "completed" for status, _, _ in rows)
    assert figures["success_rate_percentage"] == round(100 * ok / len(rows), 2)
    assert figures["run_time_ms"]["p50"] == pytest.approx(statistics.median(runs), abs=0.01)
    assert figures["run_time_ms"]["mean"] == pytest.approx(statistics.fmean(runs), abs=0.01)
    submits = figures["submit_latency_ms"]
    assert submits["requests"] == 3 and 0 < submits["p50"] <= 2500 and submits["mean"] > 0


RECENT = """SELECT status, started_at, finished_at FROM jobs
WHERE kind = 'backtest' AND status IN ('completed', 'failed')
AND started_at IS NOT NULL AND finished_at IS NOT NULL
ORDER BY finished_at DESC LIMIT 200"""


def test_health_without_workers_is_degraded(isolated):
    assert isolated.api.get("/health").get_json()["status"] == "degraded"


def test_metrics_text_and_json(shared):
    text = shared.api.get("/metrics")
    assert text.status_code == 200 and text.mimetype == "text/plain"
    assert 'nautilus_workers_alive{pool="cpu"} 1.0' in text.get_data(as_text=True)
    as_json = shared.api.get("/metrics", headers={"Accept": "application/json"}).get_json()
    assert as_json["nautilus_queue_depth"]["type"] == "gauge"
    assert {"nautilus_jobs", "nautilus_http_requests"} <= set(as_json)


def test_openapi_and_docs(shared):
    spec = shared.api.get("/openapi.json").get_json()
    assert {"/backtests", "/backtests/{execution_id}", "/backtests/query"} <= set(spec["paths"])
    assert shared.api.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/backtests/{UNKNOWN}"),
        ("get", f"/backtests/{UNKNOWN}/results"),
        ("post", f"/backtests/{UNKNOWN}/cancel"),
        ("get", "/backtests/not-an-id"),
    ],
)
def test_unknown_ids_are_404(shared, method, path):
    assert path.split("/")[2] in error(getattr(shared.api, method)(path), 404)["message"]


def test_results_of_an_unfinished_job_are_409(isolated, make_spec):
    job_id = isolated.submit(make_spec())["execution_id"]  # no worker here: it stays queued
    assert "queued" in error(isolated.api.get(f"/backtests/{job_id}/results"), 409)["message"]


def test_bad_specs_are_422_with_fields(shared, make_spec):
    body = error(shared.api.post("/backtests", json=make_spec(initial_capital=-5)), 422)
    assert "initial_capital" in body["errors"]
    body = error(shared.api.post("/backtests", json=make_spec(frequency="7d")), 422)
    assert "frequency" in body["errors"]
    body = error(shared.api.post("/backtests", json={"symbols": "SPY"}), 422)
    assert {"backtest_name", "symbols"} <= set(body["errors"])
