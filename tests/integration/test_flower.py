"""Flower on the same broker sees our worker and the tasks it ran, through its HTTP API."""

from __future__ import annotations

import json
import sys
import time
import urllib.request

import pytest

from cli.processes import Child, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def poll(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError("Flower never showed it")


def test_flower_sees_the_worker_and_its_tasks(shared, make_spec, wait_for):
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "flower",
        f"--port={port}",
        "--address=127.0.0.1",
    ]
    env = shared.env | {"FLOWER_UNAUTHENTICATED_API": "true"}  # tests only (CELERY_NOTES)
    flower = Child("flower", argv, env, shared.settings.var_dir / "flower.log")
    base = f"http://127.0.0.1:{port}"
    try:
        workers = poll(lambda: get(f"{base}/api/workers?refresh=1"))
        assert any(name.startswith("it") for name in workers)

        job_id = shared.submit(make_spec())["execution_id"]
        row = wait_for(job_id, lambda r: r["status"] == "completed")
        task = poll(lambda: get(f"{base}/api/tasks").get(row["task_id"]))
        assert task["name"] == "nautilus.backtest.run" and task["args"] == f"['{job_id}']"
        poll(lambda: get(f"{base}/api/tasks")[row["task_id"]]["state"] == "SUCCESS")
    finally:
        flower.stop()
