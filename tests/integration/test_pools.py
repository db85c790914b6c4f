"""The GPU pool's worker shape (prefork, one child, spawn start method) and routing to it:
GPU only while a GPU worker heart-beats, CPU otherwise. On a machine without a GPU the spawned
child's JAX runs on the CPU, which is what `hardware_used` then reports."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_gpu_pool_takes_big_work_while_alive_and_cpu_takes_over(deploy, make_spec, wait_for):
    service = deploy(NAUTILUS_GPU_MIN_CELLS="1000")
    gpu = service.workers.start(pool="gpu")
    created = service.submit(make_spec())
    assert created["queue"] == "backtest.gpu" and created["hardware_acceleration_enabled"]
    row = wait_for(created["execution_id"], lambda r: r["status"] == "completed")
    assert row["worker"].startswith(gpu.name) and row["hardware_used"]

    health = service.api.get("/health").get_json()
    (worker,) = health["workers"]["gpu"]
    assert worker["devices"] == ["gpu:0"]
    assert worker["queues"] == ["backtest.gpu", "montecarlo.gpu", "optimize.gpu"]
    assert worker["detected"]["device"] == row["hardware_used"]  # what the child's JAX saw
    assert health["hardware_acceleration"]["gpu_workers_alive"] == 1
    assert health["hardware_optimization"]["optimization_active"] is True

    small = make_spec(symbols=["SPY"], benchmark_symbol=None, end_date="2024-01-31T00:00:00Z")
    assert service.submit(small)["queue"] == "backtest.cpu"  # below the threshold: CPU pool

    gpu.stop()  # a graceful stop takes its heartbeat with it
    fallback = service.submit(make_spec())
    assert fallback["queue"] == "backtest.cpu" and not fallback["hardware_acceleration_enabled"]
