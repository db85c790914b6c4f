"""The main command on embedded defaults: nothing installed but Python, everything started,
a backtest through the REST API, results printed, everything stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cli.processes import free_port
from cli.rest_client import RestClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def embedded_environ(tmp_path: Path) -> dict[str, str]:
    """This environment without any store configured: the embedded defaults apply."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("NAUTILUS_")
    }
    return env | {"NAUTILUS_VAR_DIR": str(tmp_path / "var"), "JAX_PLATFORMS": "cpu"}


def test_demo_runs_end_to_end_on_embedded_stores(tmp_path):
    env = embedded_environ(tmp_path)
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "--port", str(port), "--timeout", "120"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "embedded redis" in out and "(started)" in out and "sqlite" in out
    assert "sample bars SPX: 5031 daily bars" in out and "data: database" in out
    assert "backtest_complete" in out and "status: completed" in out
    assert "Sharpe ratio" in out and "stopped embedded redis" in out
    assert (tmp_path / "var" / "nautilus.db").exists()
    assert not (tmp_path / "var" / "redis.sock").exists()  # the server went away with the demo


def test_the_main_job_keeps_serving_until_interrupted(tmp_path):
    port = free_port()
    argv = [sys.executable, "-m", "cli.main", "demo", "--serve", "--port", str(port)]
    process = subprocess.Popen(
        argv, cwd=ROOT, env=embedded_environ(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        lines = []
        deadline = time.monotonic() + 240
        while not any("until Ctrl-C" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
            lines.append(process.stdout.readline())
        links = "".join(process.stdout.readline() for _ in range(4))
        base = re.search(r"dashboard: +(\S+)/\n", links).group(1)
        key = re.search(r"^  (nbt_\S+)$", "".join(lines), re.M).group(1)
        assert (tmp_path / "var" / "api-key").read_text().strip() == key
        client = RestClient(base, api_key=key)
        assert client.call("GET", "/jobs", headers={"Authorization": "Bearer nbt_x"})[0] == 401
        results = re.search(r"demo results: +\S+?(/backtests/\S+)", links).group(1)
        status, body = client.get(results)
        assert status == 200 and body["execution_summary"]["data_source"] == "database"
        report = re.search(r"demo report: +\S+?(/backtests/\S+)", links).group(1)
        request = urllib.request.Request(base + report, headers=client.headers)
        with urllib.request.urlopen(request, timeout=30) as page:
            assert page.status == 200 and "plotly" in page.read().decode().lower()
        with urllib.request.urlopen(base + "/", timeout=30) as page:
            assert page.status == 200
        os.killpg(process.pid, signal.SIGINT)
        rest = process.communicate(timeout=60)[0]
        assert process.returncode == 0 and "stopped embedded redis" in rest
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
