"""Submit through the API, a real worker runs it, results land in PostgreSQL, events go out."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import sqlalchemy as sa

from api.submit import owned_key
from store.db import transaction
from tests.integration.conftest import BOTH_BROKERS
from workers.events import STREAM
from workers.subscriber import job_events

pytestmark = pytest.mark.integration


def collect(pubsub, job_id: str, until: str, timeout: float = 60.0) -> list[dict]:
    events, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is None:
            continue
        event = json.loads(message["data"])
        if event["job_id"] == job_id:
            events.append(event)
            if event["type"] == until:
                return events
    raise AssertionError(f"no {until} for {job_id}; got {[e['type'] for e in events]}")


def stream_events_of(client, job_id: str) -> list[dict]:
    return [json.loads(f["event"]) for _, f in client.xrange(STREAM) if f["job_id"] == job_id]


@pytest.mark.parametrize("broker", BOTH_BROKERS)
def test_submit_run_store_publish_and_read_results(on_broker, sessions, make_spec):
    shared = on_broker
    pubsub = shared.redis.pubsub()
    pubsub.psubscribe("nautilus:jobs:*")  # a subscriber that listens before the submit
    body = make_spec()
    created = shared.submit(body)

    job_id = created["execution_id"]
    assert job_id.startswith("bt_") and created["backtest_id"] == job_id
    assert created["status"] == "queued" and created["queue"] == "backtest.cpu"
    assert created["symbols_count"] == 5 and created["hardware_acceleration_enabled"] is False
    assert created["created_at"].endswith("Z")

    events = collect(pubsub, job_id, "backtest_complete")
    assert events[0]["type"] == "backtest_start" and events[-1]["type"] == "backtest_complete"
    assert {e["type"] for e in events[1:-1]} <= {"backtest_progress"}
    assert all(set(e) == {"id", "type", "version", "job_id", "kind", "ts", "data"} for e in events)
    assert len({e["id"] for e in events}) == len(events)  # one id per event, to dedupe on
    assert events[-1]["data"]["results"] == f"/backtests/{job_id}/results"

    with transaction(sessions) as session:
        row = session.execute(
            sa.text("SELECT digest, document FROM results WHERE job_id = :id"), {"id": job_id}
        ).one()
    assert len(row.digest) == 64 and "performance_metrics" in row.document

    status = shared.api.get(f"/backtests/{job_id}").get_json()
    assert status["status"] == "completed" and status["progress_percentage"] == 100.0
    assert status["data_points_processed"] == 262 * 5
    assert status["hardware_used"] == "cpu" and status["attempts"] == 1
    assert status["current_date"] == "2024-12-31T00:00:00.000Z"
    assert status["memory_usage_mb"] > 0 and status["started_at"] and status["finished_at"]

    results = shared.api.get(f"/backtests/{job_id}/results").get_json()
    assert results["execution_id"] == job_id
    assert results["execution_summary"]["input_digest"] == row.digest
    assert {"trades", "positions", "risk_analytics"} <= set(results)
    assert results["performance_metrics"] == engine_metrics(body)

    lean = shared.api.get(
        f"/backtests/{job_id}/results?include_trades=false&include_positions=false"
        "&include_analytics=false"
    ).get_json()
    assert not {"trades", "orders", "positions", "risk_analytics"} & set(lean)
    assert lean["performance_metrics"] == results["performance_metrics"]

    lifecycle = [e["type"] for e in stream_events_of(shared.redis, job_id)]
    assert lifecycle == ["backtest_start", "backtest_complete"]

    health = shared.api.get("/health").get_json()  # the broker in use, probed and measured
    assert health["messagebus_connected"] and health["components"]["broker"]["ok"]
    assert all(isinstance(n, int) for n in health["queues"].values()), health["queues"]


def engine_metrics(body: dict) -> dict:
    """The same spec run directly by the engine: the service must not change a number."""
    from engine.backtest import required_symbols, run_backtest
    from engine.data import synthetic_market
    from engine.spec import parse_spec

    spec = parse_spec(body)
    market = synthetic_market(
        required_symbols(spec), spec.start_date, spec.end_date, spec.frequency, seed=spec.data_seed
    )
    return run_backtest(spec, market).document()["performance_metrics"]


def test_a_late_subscriber_replays_the_outcome_from_the_stream(shared, make_spec):
    job_id = shared.submit(make_spec())["execution_id"]
    deadline = time.monotonic() + 60
    while shared.api.get(f"/backtests/{job_id}").get_json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    events = list(job_events(shared.redis, job_id, timeout=5))
    assert [e["type"] for e in events] == ["backtest_start", "backtest_complete"]


def test_idempotency_key_returns_the_same_job(shared, sessions, make_spec):
    key = f"idem-{uuid.uuid4()}"
    body = make_spec()
    first = shared.api.post("/backtests", json=body, headers={"Idempotency-Key": key})
    again = shared.api.post("/backtests", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 202
    assert first.get_json()["execution_id"] == again.get_json()["execution_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers

    other = shared.api.post("/backtests", json=make_spec(), headers={"Idempotency-Key": key})
    assert other.status_code == 409 and "Idempotency-Key" in other.get_json()["message"]
    stored = owned_key("it-admin", key)  # keys are per owner: another owner's never collides
    with transaction(sessions) as session:
        count = session.execute(
            sa.text("SELECT count(*) FROM jobs WHERE idempotency_key = :k"), {"k": stored}
        ).scalar_one()
    assert count == 1
    bob = shared.client(shared.create_key("idem-bob"))
    assert bob.post("/backtests", json=body, headers={"Idempotency-Key": key}).status_code == 202


def test_query_filters_sorts_and_pages(shared, make_spec):
    tag = uuid.uuid4().hex[:10]
    ids = [
        shared.submit(make_spec(backtest_name=f"query {tag} {i}"))["execution_id"] for i in range(3)
    ]
    body = {"filters": {"backtest_name": tag}, "sort": ["backtest_name"], "page_size": 2}
    page1 = shared.api.post("/backtests/query", json=body).get_json()
    assert page1["total"] == 3 and page1["pages"] == 2 and page1["page"] == 1
    assert [item["execution_id"] for item in page1["items"]] == ids[:2]
    page2 = shared.api.post("/backtests/query", json={**body, "page": 2}).get_json()
    assert [item["execution_id"] for item in page2["items"]] == ids[2:]

    none = {"filters": {"backtest_name": tag, "status": ["failed"]}}
    assert shared.api.post("/backtests/query", json=none).get_json()["total"] == 0


def test_query_finds_by_alias_returns_metrics_and_ranks_by_any_headline_metric(
    shared, make_spec, wait_for
):
    tag = uuid.uuid4().hex[:10]
    params = [{"lookback_period": n} for n in (5, 20, 60)]
    ids = [
        shared.submit(make_spec(backtest_name=f"rank {tag} {i}", strategy_id=sid,
                                strategy_parameters=p))["execution_id"]
        for i, (sid, p) in enumerate(zip(["momentum_factor_v2.1", "momentum_factor",
                                          "momentum_factor_v2"], params, strict=True))
    ]  # fmt: skip
    for job_id in ids:
        wait_for(job_id, lambda r: r["status"] == "completed")
    body = {"filters": {"backtest_name": tag, "strategy_id": "momentum_factor_v2.1"},
            "sort": ["-sharpe_ratio"]}  # fmt: skip
    found = shared.api.post("/backtests/query", json=body).get_json()
    assert found["total"] == 3
    sharpes = [item["metrics"]["sharpe_ratio"] for item in found["items"]]
    assert sharpes == sorted(sharpes, reverse=True)
    for item in found["items"]:
        results = shared.api.get(f"/backtests/{item['execution_id']}/results").get_json()
        assert item["metrics"] == results["statistics"]
        headline = results["performance_metrics"]
        assert item["metrics"]["sharpe_ratio"] == headline["sharpe_ratio"]
    ascending = {**body, "sort": ["max_drawdown"]}
    items = shared.api.post("/backtests/query", json=ascending).get_json()["items"]
    drawdowns = [item["metrics"]["max_drawdown"] for item in items]
    assert drawdowns == sorted(drawdowns)


def test_a_job_that_fails_in_the_worker_says_why(shared, make_spec):
    # stored data that does not exist, accepted anyway on request: the run itself must fail
    body = make_spec(data_sources=["database"], symbols=["NOSUCH1"], benchmark_symbol=None)
    job_id = shared.submit(body | {"proceed_with_data_issues": True})["execution_id"]
    deadline = time.monotonic() + 60
    while (status := shared.api.get(f"/backtests/{job_id}").get_json())["status"] != "failed":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["error"]["code"] == "data_error" and "bar" in status["error"]["message"]
    assert status["finished_at"] and status["attempts"] == 1
    results = shared.api.get(f"/backtests/{job_id}/results")
    assert results.status_code == 409
    assert [e["type"] for e in stream_events_of(shared.redis, job_id)][-1] == "backtest_failed"


def test_unknown_data_source_is_refused_at_submit(shared, make_spec):
    response = shared.api.post("/backtests", json=make_spec(data_sources=["Bloomberg"]))
    assert response.status_code == 422 and "data_sources" in response.get_json()["errors"]
