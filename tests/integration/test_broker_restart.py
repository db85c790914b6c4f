"""RabbitMQ restarted under load: every accepted job ends, once.

It runs on a RabbitMQ node of its own (``rabbitmq-server`` with its own node name, ports and data
directory under the test's temporary folder), never on the machine's shared broker; skipped,
saying why, where no such node can be started.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from cli.processes import Child
from store.db import transaction
from tests.integration.conftest import Service
from tests.integration.test_lifecycle import lifecycle_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
JOBS = 12


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Node:
    """A private RabbitMQ node: started by us, stopped by its node name or our pid."""

    def __init__(self, base: Path) -> None:
        server, self.ctl = shutil.which("rabbitmq-server"), shutil.which("rabbitmqctl")
        if server is None or self.ctl is None:
            pytest.skip("rabbitmq-server is not installed: no private node to restart")
        self.port, self.name = free_port(), f"nbt{os.getpid()}@localhost"
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (base / "enabled_plugins").write_text("[].\n")
        self.env = dict(os.environ) | {
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_QUORUM_DIR": str(base / "quorum"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
        }
        for folder in ("mnesia", "log"):
            (base / folder).mkdir()
        if os.geteuid() == 0:  # the server script drops root for the rabbitmq user
            try:
                user = pwd.getpwnam("rabbitmq")
            except KeyError:
                pytest.skip("running as root without a rabbitmq user: the node cannot start")
            for path in [base, *base.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
        self.server = Child("rabbitmq", [server], self.env, base / "server.log")
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.wait_app()

    def ctl_run(self, *args: str) -> None:
        subprocess.run([self.ctl, "-q", "-n", self.name, *args], check=True,
                       capture_output=True, env=self.env, timeout=120)  # fmt: skip

    def wait_app(self, timeout: float = 180.0) -> None:
        """Until the node accepts AMQP connections (``await_startup`` waits for boot)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.server.alive():
                pytest.skip(
                    f"the private RabbitMQ node exited; see {self.env['RABBITMQ_LOG_BASE']}"
                )
            with socket.socket() as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.5)
        pytest.skip("the private RabbitMQ node did not start in time")

    def stop(self) -> None:
        subprocess.run([self.ctl, "-q", "-n", self.name, "stop"], capture_output=True,
                       env=self.env, timeout=120)  # fmt: skip
        self.server.stop(timeout=30)


@pytest.fixture
def node() -> Iterator[Node]:
    # not under pytest's temporary folder: the node's user must reach it (that one is root's)
    base = Path(tempfile.mkdtemp(prefix="nbt-rabbitmq-"))
    base.chmod(0o755)
    try:
        made = Node(base)
        yield made
        made.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_rabbitmq_restart_loses_no_job_and_runs_none_twice(
    pg_url, redis_dbs, tmp_path, node, make_spec, wait_for
):
    service = Service(pg_url, redis_dbs[1], tmp_path, broker_url=node.url)
    try:
        service.workers.start(concurrency=2, beat=True)
        jobs = [service.submit(make_spec())["execution_id"] for _ in range(JOBS)]
        node.ctl_run("stop_app")  # every connection closes; the queues stay on disk
        time.sleep(5)
        node.ctl_run("start_app")
        for job_id in jobs:
            row = wait_for(job_id, lambda r: r["status"] in ("completed", "failed"), timeout=300)
            assert row["status"] == "completed", row["error"]
        with transaction(service.app.extensions["nautilus"].sessions) as session:
            results = session.execute(
                sa.text("SELECT job_id, count(*) FROM results WHERE job_id = ANY(:ids) "
                        "GROUP BY job_id"), {"ids": jobs},
            ).all()  # fmt: skip
        assert sorted(results) == sorted((job_id, 1) for job_id in jobs)
        for job_id in jobs:
            events = lifecycle_until(service.redis, job_id, "backtest_complete")
            assert events.count("backtest_complete") == 1
    finally:
        service.close()
