"""The main command on embedded defaults: nothing installed but Python, everything started,
a backtest through the REST API, results printed, everything stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end_on_embedded_stores(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("NAUTILUS_")
    }
    env |= {"NAUTILUS_VAR_DIR": str(tmp_path / "var"), "JAX_PLATFORMS": "cpu"}
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
    assert "backtest_complete" in out and "status: completed" in out
    assert "sharpe_ratio" in out and "stopped embedded redis" in out
    assert (tmp_path / "var" / "nautilus.db").exists()
    assert not (tmp_path / "var" / "redis.sock").exists()  # the server went away with the demo
