"""Each fault during a burst of small backtests and an optimization chord, on each task broker
(Redis, RabbitMQ) where it applies: every accepted job ends (completed) within 60 s of the fault
ending, none lost, one result row each, each job's completion event delivered to the consumer
group exactly once after deduplication by id, and nothing left queued or running. Measured
recovery times go to var/faults-report.json, per broker."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil
import pytest

from tests.faults.conftest import RECOVERY_BOUND_S, TERMINAL, Deployment, record, wait

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def survive(dep: Deployment, name: str, fault: Callable[[list[str]], None]) -> None:
    ids = dep.submit_burst()
    chord = ids[-1]
    wait(lambda: dep.statuses([chord])[chord] != "queued", 120, "the chord started", step=0.02)
    at_fault = dep.statuses(ids)
    assert at_fault[chord] not in TERMINAL, "the chord ended before the fault: it would hit nothing"
    started = time.monotonic()
    fault(ids)
    ended = time.monotonic()
    try:
        wait(
            lambda: all(s in TERMINAL for s in dep.statuses(ids).values()),
            RECOVERY_BOUND_S,
            f"every job of {name} terminal",
            step=0.1,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc} on {dep.broker}; not yet: {dep.unfinished(ids)}") from None
    recovery_s = time.monotonic() - ended
    statuses = dep.statuses(ids)
    assert list(statuses.values()) == ["completed"] * len(ids), statuses
    assert dep.results(ids) == len(ids)
    wait(lambda: all(dep.reader.endings(j) for j in ids), 30, "every completion event")
    for job_id in ids:
        endings = dep.reader.endings(job_id)
        assert [e["data"].get("status") for e in endings] == ["completed"], endings
    record(
        dep.broker,
        name,
        {
            "jobs": len(ids),
            "unfinished_at_fault": sum(s not in TERMINAL for s in at_fault.values()),
            "fault_s": round(ended - started, 1),
            "recovery_s": round(recovery_s, 1),
        },
    )


def test_worker_main_process_sigkill(deployment: Deployment):
    def fault(ids: list[str]) -> None:
        main = deployment.celery_pid(deployment.worker)
        assert main is not None
        os.killpg(main, signal.SIGKILL)  # the celery main process and its pool children
        wait(lambda: deployment.worker_pid(other_than=main), 120, "the supervisor's restart")

    survive(deployment, "worker main process SIGKILL", fault)


def test_worker_pool_child_sigkill(deployment: Deployment):
    def fault(ids: list[str]) -> None:
        main = deployment.celery_pid(deployment.worker)
        assert main is not None
        children = psutil.Process(main).children()
        assert children
        os.kill(children[0].pid, signal.SIGKILL)

    survive(deployment, "worker pool child SIGKILL", fault)


def test_beat_killed_while_messages_are_lost(deployment: Deployment):
    def fault(ids: list[str]) -> None:
        beat = deployment.celery_pid(deployment.beat)
        assert beat is not None
        os.kill(beat, signal.SIGKILL)
        lost = deployment.purge("backtest.cpu")  # the burst's waiting messages
        assert lost, "no message was waiting: nothing lost"
        wait(lambda: deployment.celery_pid(deployment.beat) not in (None, beat), 60, "beat back")

    survive(deployment, "beat SIGKILL, waiting messages lost", fault)


def test_redis_crash_restart_three_times(deployment: Deployment):
    def fault(ids: list[str]) -> None:
        for _ in range(3):
            deployment.rds.kill()
            time.sleep(3)
            deployment.rds.start()
            time.sleep(3)
        assert deployment.worker.alive()  # the supervisor; the worker itself may have restarted

    survive(deployment, "Redis kill -9, restart 3 s later, 3 times", fault)


def test_postgresql_outage(deployment: Deployment):
    def fault(ids: list[str]) -> None:
        deployment.pg.stop("fast")
        time.sleep(10)
        deployment.pg.start()

    survive(deployment, "PostgreSQL stopped 10 s", fault)


def test_rabbitmq_restart(deployment: Deployment):
    if deployment.rabbitmq is None:
        pytest.skip("a RabbitMQ restart applies to the RabbitMQ broker (Redis: the crash above)")
    node = deployment.rabbitmq

    def fault(ids: list[str]) -> None:
        node.stop()  # the whole node: every connection closes; durable queues stay on disk
        time.sleep(5)
        node.start()

    survive(deployment, "RabbitMQ node stopped, restarted 5 s later", fault)
