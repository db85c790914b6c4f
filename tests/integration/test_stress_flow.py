"""Stress tests through the API, a real worker, PostgreSQL and Redis: results, events, errors."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import sqlalchemy as sa

from engine.data import synthetic_market
from store.db import transaction
from workers.events import STREAM

pytestmark = pytest.mark.integration
SEED_SCENARIO = {
    "name": "Market Crash Scenario",
    "description": "Simulate 2008-style market crash",
    "market_shocks": {"SPY": -40.0, "QQQ": -45.0, "IWM": -50.0},
    "volatility_multipliers": {"SPY": 3.0, "QQQ": 3.5, "IWM": 4.0},
    "probability": 0.05,
}


def submit(shared, body: dict) -> dict:
    response = shared.api.post("/stress-test", json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def stages(pubsub, job_id: str, timeout: float = 120.0) -> list[dict]:
    """STRESS_TEST_RESULT events of ``job_id`` until a terminal stage."""
    events, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        event = json.loads(message["data"]) if message else None
        if event and event["job_id"] == job_id:
            events.append(event)
            if event["data"]["stage"] in ("completed", "failed", "cancelled"):
                return events
    raise AssertionError(f"no terminal stage for {job_id}: {[e['data'] for e in events]}")


def finished(shared, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = shared.api.get(f"/stress-test/{job_id}").get_json()
        if status["status"] in ("completed", "failed", "cancelled"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"stress test {job_id} did not finish: {status}")


def test_inline_portfolio_runs_stores_publishes_and_reads_back(shared, sessions):
    pubsub = shared.redis.pubsub()
    pubsub.psubscribe("nautilus:jobs:*")
    body = {
        "portfolio": {"SPY": 0.5, "TLT": 0.3},
        "data_sources": ["synthetic"],
        "initial_value": 1_000_000,
        "scenarios": [SEED_SCENARIO | {"market_shocks": {"SPY": -40.0, "TLT": 10.0},
                                       "volatility_multipliers": {"SPY": 3.0}},
                      "2020_covid_crash"],
        "monte_carlo_iterations": 2000,
        "horizon_days": 21,
    }  # fmt: skip
    created = submit(shared, body)
    job_id = created["stress_test_id"]
    assert job_id.startswith("st_") and created["queue"] == "montecarlo.cpu"

    events = stages(pubsub, job_id)
    assert [events[0]["data"]["stage"], events[-1]["data"]["stage"]] == ["started", "completed"]
    assert all(e["type"] == "stress_test_result" and e["kind"] == "stress_test" for e in events)
    done = events[-1]["data"]
    assert done["results"] == f"/stress-test/{job_id}" and done["var_95"] < 0

    status = shared.api.get(f"/stress-test/{job_id}").get_json()
    assert status["status"] == "completed" and status["progress_percentage"] == 100.0
    results = status["results"]
    crash, covid = results["scenarios"]
    assert crash["pnl"] == pytest.approx(500_000 * -0.40 + 300_000 * 0.10)
    assert covid["builtin"] and covid["monte_carlo"]["iterations"] == 2000
    assert results["expected_loss"] == pytest.approx(0.05 * 170_000)
    assert results["monte_carlo"]["var_99"] <= results["monte_carlo"]["var_95"]

    with transaction(sessions) as session:
        row = session.execute(
            sa.text("SELECT digest, document FROM results WHERE job_id = :id"), {"id": job_id}
        ).one()
    assert len(row.digest) == 64 and row.document == results
    durable = [json.loads(f["event"]) for _, f in shared.redis.xrange(STREAM)
               if f["job_id"] == job_id]  # fmt: skip
    assert [e["data"]["stage"] for e in durable] == ["started", "completed"]


def test_the_seed_example_stresses_a_stored_backtest(shared, make_spec):
    backtest = shared.submit(make_spec(symbols=["SPY", "QQQ", "IWM"], benchmark_symbol="SPY"))
    backtest_id = backtest["backtest_id"]
    deadline = time.monotonic() + 120
    while shared.api.get(f"/backtests/{backtest_id}").get_json()["status"] != "completed":
        assert time.monotonic() < deadline, "the base backtest did not complete"
        time.sleep(0.05)
    seed_body = {"backtest_id": backtest_id, "scenarios": [SEED_SCENARIO],
                 "include_monte_carlo": True, "monte_carlo_iterations": 10000}  # fmt: skip
    timings = []
    for _ in range(2):  # the first run compiles the kernels in the worker, the second does not
        started = time.perf_counter()
        job_id = submit(shared, seed_body)["stress_test_id"]
        status = finished(shared, job_id)
        timings.append((time.perf_counter() - started, status["processing_time_ms"]))
        assert status["status"] == "completed", status["error"]
    print("seed example end to end, first and second:",
          [f"{t * 1e3:.0f} ms (worker {w:.0f} ms)" for t, w in timings])  # fmt: skip

    positions = shared.api.get(f"/backtests/{backtest_id}/results").get_json()["positions"]
    market = synthetic_market(["SPY", "QQQ", "IWM"], "2024-01-01", "2024-12-31")
    shares = np.array([positions["shares"][s][-1] for s in ("SPY", "QQQ", "IWM")])
    values = shares * market.filled("close")[-1]
    book = status["results"]["book"]
    assert book["value"] == pytest.approx(values.sum() + positions["cash"][-1])
    expected = values @ np.array([-0.40, -0.45, -0.50])
    assert status["results"]["scenarios"][0]["pnl"] == pytest.approx(expected)
    assert status["results"]["monte_carlo"]["basis"] == "book"
    assert status["results"]["strategy_paths"] is None


def test_a_stored_backtest_strategy_reruns_on_simulated_paths(shared, make_spec):
    backtest_id = shared.submit(make_spec(symbols=["SPY", "QQQ"]))["backtest_id"]
    deadline = time.monotonic() + 120
    while shared.api.get(f"/backtests/{backtest_id}").get_json()["status"] != "completed":
        assert time.monotonic() < deadline, "the base backtest did not complete"
        time.sleep(0.05)
    body = {"backtest_id": backtest_id, "include_monte_carlo": False, "strategy_paths": 300,
            "scenarios": ["2020_covid_crash"], "horizon_days": 20, "seed": 11}  # fmt: skip
    status = finished(shared, submit(shared, body)["stress_test_id"])
    assert status["status"] == "completed", status["error"]
    paths = status["results"]["strategy_paths"]
    assert paths["paths"] == 300 and paths["horizon_days"] == 20
    assert sum(paths["histogram"]["counts"]) == 300
    assert -100 <= paths["var_95"] <= paths["return_percentiles"]["p50"]


def test_requests_that_cannot_run_are_refused_or_fail_naming_the_field(shared, make_spec):
    missing = shared.api.post("/stress-test", json={"backtest_id": "bt_nothing_here"})
    assert missing.status_code == 422 and "backtest_id" in missing.get_json()["errors"]

    backtest_id = shared.submit(make_spec(symbols=["SPY"]))["backtest_id"]
    early = shared.api.post("/stress-test", json={"backtest_id": backtest_id})
    if early.status_code == 409:  # refused while the base backtest has not completed
        assert "completed" in early.get_json()["message"]
    deadline = time.monotonic() + 120
    while shared.api.get(f"/backtests/{backtest_id}").get_json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    body = {"backtest_id": backtest_id, "include_monte_carlo": False,
            "scenarios": [{"name": "x", "market_shocks": {"QQQ": -10}}]}  # fmt: skip
    status = finished(shared, submit(shared, body)["stress_test_id"])
    assert status["status"] == "failed"
    assert "scenarios[0].market_shocks.QQQ" in status["error"]["errors"]
