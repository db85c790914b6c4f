"""Optimization chords on real PostgreSQL, Redis and Celery workers: results, cancel, crashes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from engine.backtest import run_backtest
from engine.data import synthetic_market
from engine.optimize import parse_optimization_request
from engine.optimize.evaluate import window_market
from engine.optimize.run import spec_folds
from store.db import transaction
from store.results import get_result
from tests.integration.conftest import BOTH_BROKERS, Service
from workers.events import STREAM

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning"),  # fork+exec
]
TERMINAL = ("completed", "failed", "cancelled")


def body(**changes) -> dict:
    base = {
        "backtest_name": "opt it",
        "start_date": "2023-01-02",
        "end_date": "2024-12-31",
        "symbols": ["AAA", "BBB"],
        "data_sources": ["synthetic"],
        "strategy_id": "sma_crossover",
        "strategy_parameters": {"fast_period": 5, "slow_period": 20},
        "commission_rate": 0.001,
    }
    request = {
        "base_spec": base,
        "parameter_ranges": {"fast_period": [3, 5, 8, 13], "slow_period": [20, 40, 60]},
        "optimization_target": "sharpe_ratio",
        "validation": {"scheme": "holdout", "out_of_sample_fraction": 0.3},
    }
    return request | changes


def submit(service: Service, request: dict) -> str:
    response = service.api.post("/optimization/parameters", json=request)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["optimization_id"]


def stored_trials(sessions, job_id: str) -> list[dict]:
    with transaction(sessions) as session:
        rows = session.execute(
            sa.text("SELECT idx, params, searched, scores, scored_at FROM optimization_trials "
                    "WHERE job_id = :id ORDER BY idx"), {"id": job_id},
        ).mappings()  # fmt: skip
        return [dict(r) for r in rows]


@pytest.fixture
def batched(deploy, tmp_path_factory) -> Service:
    """A deployment whose CPU tasks take 16 sets each (many batches), no worker yet."""
    cache = tmp_path_factory.getbasetemp() / "jax-cache"
    return deploy(NAUTILUS_OPTIMIZATION_CPU_BATCH="16", JAX_COMPILATION_CACHE_DIR=str(cache))


def assert_trials_are_single_backtests(request: dict, rows: list[dict]):
    """Each stored trial's scores on the first fold's windows are those of a backtest of its
    set on that window's dates; returns the fold, the base spec, its market and its window."""
    parsed = parse_optimization_request(request)
    spec = parsed.base_spec
    market = synthetic_market(
        list(spec.symbols), spec.start_date, spec.end_date, seed=spec.data_seed
    )
    span, _ = window_market(spec, market)
    fold = spec_folds(parsed, market)[0]
    for row in rows:
        for window in (fold.train, fold.test):
            start, end = (
                pd.Timestamp(span.timestamps[i], tz="UTC") for i in (window.start, window.stop - 1)
            )
            one = dataclasses.replace(
                spec, strategy_parameters=row["params"], start_date=start, end_date=end
            )
            single = run_backtest(one, market).metrics
            stored = row["scores"][window.name]
            for key, value in single.items():
                assert (
                    (stored[key] is None)
                    if np.isnan(value)
                    else stored[key] == pytest.approx(value, rel=1e-9)
                ), key
    return fold, spec, market, span


@pytest.mark.parametrize("broker", BOTH_BROKERS)
def test_chord_result_equals_single_backtests(on_broker, sessions, wait_for):
    shared = on_broker
    pubsub = shared.redis.pubsub()
    pubsub.subscribe("nautilus:jobs:__none__")
    request = body()
    job_id = submit(shared, request)
    assert job_id.startswith("opt_")
    row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=180)
    assert row["status"] == "completed", row["error"]
    document = shared.api.get(f"/optimization/{job_id}").get_json()

    rows = stored_trials(sessions, job_id)
    assert len(rows) == 12 and all(r["scored_at"] for r in rows)  # the baseline is in the grid
    fold, spec, market, span = assert_trials_are_single_backtests(request, rows)
    single_sharpes = [row["scores"][fold.train.name]["sharpe_ratio"] for row in rows]
    best = rows[int(np.nanargmax(np.array(single_sharpes, dtype=float)))]
    assert document["parameters"]["optimized"] == best["params"]
    assert document["optimization_summary"]["iterations_completed"] == 12
    assert document["validation"]["overfitting_score"] is not None

    # the best sets' curves: stored for the report (not in the status), single backtests
    assert "best_set_curves" not in document
    with transaction(sessions) as session:
        curves = get_result(session, job_id).document["best_set_curves"]
    assert [c["rank"] for c in curves["curves"]] == [1, 2, 3, 4, 5]
    assert curves["curves"][0]["parameters"] == best["params"]
    whole = run_backtest(dataclasses.replace(spec, strategy_parameters=best["params"]), market)
    assert curves["curves"][0]["equity"] == pytest.approx(whole.equity.round(4).tolist())
    assert len(curves["timestamps"]) == span.n_bars
    report = shared.api.get(f"/optimization/{job_id}/report").get_data(as_text=True)
    assert 'id="best-curves"' in report and "Equity curves of the best sets" in report

    page = shared.api.get(f"/optimization/{job_id}/trials?sort=total_return&page_size=5").get_json()
    returns = [item["metrics"]["total_return"] for item in page["items"]]
    assert page["total"] == 12 and page["pages"] == 3 and returns == sorted(returns, reverse=True)
    heatmap = shared.api.get(f"/optimization/{job_id}/heatmap").get_json()
    assert heatmap["x_values"] == [3, 5, 8, 13] and heatmap["y_values"] == [20, 40, 60]
    stream = [
        json.loads(f["event"]) for _, f in shared.redis.xrange(STREAM) if f["job_id"] == job_id
    ]
    assert [e["data"]["stage"] for e in stream] == ["started", "completed"]
    assert all(e["type"] == "parameter_optimization" for e in stream)


def test_base_spec_exits_apply_to_every_set(shared, sessions, wait_for):
    """``base_spec.exits`` reach the sweep: every trial scores as its backtest with those exit
    orders, and differently from the same sets without them."""
    exits = {"stop_loss": {"atr": 2, "window": 10}, "take_profit": 0.05}
    ranges = {"fast_period": [3, 8], "slow_period": [20, 40]}
    scores = {}
    for name, changes in (("exits", {"exits": exits}), ("none", {})):
        request = body(parameter_ranges=ranges)
        request["base_spec"] = request["base_spec"] | changes
        job_id = submit(shared, request)
        row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=180)
        assert row["status"] == "completed", row["error"]
        rows = stored_trials(sessions, job_id)
        assert len(rows) == 5  # 4 sets and the baseline
        assert_trials_are_single_backtests(request, rows)
        scores[name] = {json.dumps(r["params"], sort_keys=True): r["scores"] for r in rows}
    assert scores["exits"] != scores["none"]
    assert scores["exits"].keys() == scores["none"].keys()


@pytest.mark.parametrize("broker", BOTH_BROKERS)
def test_cancel_mid_chord_keeps_the_best_so_far(batched, sessions, wait_for):
    batched.workers.start(concurrency=1)
    ranges = {"fast_period": {"min": 2, "max": 60}, "slow_period": {"min": 61, "max": 90}}
    request = body(parameter_ranges=ranges)
    job_id = submit(batched, request)  # 1,770 sets in 111 batches of about 16
    wait_for(job_id, lambda r: r["progress_percentage"] > 0, timeout=120)
    cancel = batched.api.post(f"/optimization/{job_id}/cancel")
    assert cancel.status_code == 202, cancel.get_json()
    row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=120)
    assert row["status"] == "cancelled"
    rows = stored_trials(sessions, job_id)
    scored = [r for r in rows if r["scored_at"] is not None]
    assert scored == rows  # a first-round trial's row is written by the batch that scores it
    assert 0 < len(scored) < 1770  # pending batches were skipped
    document = batched.api.get(f"/optimization/{job_id}").get_json()
    window = document["search"]["selection_window"]
    sharpes = [r["scores"][window]["sharpe_ratio"] for r in scored]
    best = scored[int(np.nanargmax(np.array([s if s is not None else np.nan for s in sharpes])))]
    assert document["status"] == "cancelled"
    assert document["parameters"]["optimized"] == best["params"]
    completed = sum(1 for r in scored if r["searched"])
    assert document["optimization_summary"]["iterations_completed"] == completed


def test_a_worker_killed_mid_batch_and_the_optimization_still_completes(
    batched, sessions, wait_for
):
    first = batched.workers.start(concurrency=1)
    request = body(
        parameter_ranges={
            "fast_period": {"min": 2, "max": 19},
            "slow_period": {"min": 20, "max": 27},
        }
    )
    job_id = submit(batched, request)  # 144 sets in 9 batches of 16
    # kill as soon as the first batch is stored: the other eight are still queued or running
    deadline = time.monotonic() + 120
    while sum(r["scored_at"] is not None for r in stored_trials(sessions, job_id)) < 16:
        assert time.monotonic() < deadline, "no batch was scored"
        time.sleep(0.005)
    os.killpg(first.pid, signal.SIGKILL)
    first.process.wait()
    assert sum(r["scored_at"] is not None for r in stored_trials(sessions, job_id)) < 144
    batched.workers.start(concurrency=1, beat=True)  # the reconciler re-plans the stale job
    row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=180)
    assert row["status"] == "completed", row["error"]
    # Either the reconciler re-planned the stale job (attempt 2) or, when the killed worker had
    # not yet reserved another batch, the survivor consumed the queued ones (attempt 1): with
    # the fused CPU kernel a batch of 16 sets takes milliseconds, so both happen; the attempt
    # count is not asserted, every set scored exactly once is.
    rows = stored_trials(sessions, job_id)
    keys = [json.dumps(r["params"], sort_keys=True) for r in rows]
    assert len(rows) == 144 and len(set(keys)) == 144  # the baseline (5, 20) is in the grid
    assert [r["idx"] for r in rows] == list(range(144))
    assert all(r["scored_at"] is not None for r in rows)


def test_a_failing_batch_fails_the_job_with_the_reason(batched, sessions, wait_for):
    """A corrupt stored trial (fast >= slow, after the first round, as a Bayesian round stores
    them) makes its batch fail: the job fails, it does not hang."""
    job_id = submit(batched, body())
    with transaction(sessions) as session:  # before any worker runs the plan
        session.execute(
            sa.text("INSERT INTO optimization_trials (job_id, idx, round, params, searched, "
                    "baseline) VALUES (:id, 100000, 0, :p, true, false)"),
            {"id": job_id, "p": json.dumps({"fast_period": 50, "slow_period": 20})},
        )  # fmt: skip
    batched.workers.start(concurrency=1)
    row = wait_for(job_id, lambda r: r["status"] in TERMINAL, timeout=120)
    assert row["status"] == "failed"
    assert "-100000: " in row["error"]["message"]  # the batch that holds it
    assert "must be smaller than slow_period" in json.dumps(row["error"])
