from __future__ import annotations

import pytest

from workers.queues import ALL_QUEUES, pool_of_queues, pool_queues, queue_name
from workers.routing import Workload, choose_route

BIG, SMALL = 5_000_000, 1_260


def test_cpu_when_no_gpu_worker_is_alive_even_for_big_work():
    route = choose_route(Workload("backtest", BIG, True), {"cpu"}, 2_000_000)
    assert (route.pool, route.queue) == ("cpu", "backtest.cpu")
    assert "no GPU worker alive" in route.reason


def test_cpu_when_nothing_is_alive():
    assert choose_route(Workload("optimize", BIG), set(), 1).queue == "optimize.cpu"


def test_gpu_for_big_work_when_a_gpu_worker_heart_beats():
    route = choose_route(Workload("montecarlo", BIG), {"cpu", "gpu"}, 2_000_000)
    assert (route.pool, route.queue) == ("gpu", "montecarlo.gpu")


def test_small_work_stays_on_cpu_despite_a_live_gpu():
    route = choose_route(Workload("backtest", SMALL, True), {"cpu", "gpu"}, 2_000_000)
    assert route.pool == "cpu"
    assert "below the GPU threshold" in route.reason


def test_threshold_is_inclusive():
    assert choose_route(Workload("backtest", 100), {"gpu"}, 100).pool == "gpu"
    assert choose_route(Workload("backtest", 99), {"gpu"}, 100).pool == "cpu"


def test_unknown_workload_is_refused():
    with pytest.raises(ValueError, match="unknown workload"):
        choose_route(Workload("sweep", 1), set(), 1)


def test_queue_names_and_pools():
    assert queue_name("backtest", "gpu") == "backtest.gpu"
    assert pool_queues("cpu") == ["backtest.cpu", "optimize.cpu", "montecarlo.cpu", "control"]
    assert "control" not in pool_queues("gpu")
    assert pool_of_queues(pool_queues("gpu")) == "gpu"
    assert pool_of_queues(pool_queues("cpu")) == "cpu"
    assert len(ALL_QUEUES) == 7
