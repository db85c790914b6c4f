"""A RabbitMQ node of a test's own, to stop and restart without touching the machine's broker.

``rabbitmq-server`` with its own node name, AMQP and distribution ports (free loopback ports) and
data directory in a temporary folder; started by us, stopped by its node name or our pid. Used by
the fault suite (tests/faults), whose RabbitMQ deployment runs on it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from cli.processes import Child, free_port


class NodeUnavailable(RuntimeError):
    """No private node can run here (not installed, no ``rabbitmq`` user, it would not boot)."""


class PrivateRabbitMQ:
    """A private RabbitMQ node; ``stop`` and ``start`` restart the whole node (the Erlang VM),
    keeping its data directory, so durable queues come back from disk."""

    def __init__(self, base: Path) -> None:
        server, ctl = shutil.which("rabbitmq-server"), shutil.which("rabbitmqctl")
        if server is None or ctl is None:
            raise NodeUnavailable("rabbitmq-server is not installed: no private RabbitMQ node")
        self.base, self.server_path, self.ctl = base, server, ctl
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
                raise NodeUnavailable(
                    "running as root without a rabbitmq user: the node cannot start"
                ) from None
            for path in [base, *base.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.server: Child | None = None
        self.start()

    def start(self, timeout: float = 180.0) -> None:
        """Start the node; return once it accepts AMQP connections."""
        self.server = Child("rabbitmq", [self.server_path], self.env, self.base / "server.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.server.alive():
            if _accepts(self.port):
                return
            time.sleep(0.5)
        exited = not self.server.alive()
        self.stop()
        if exited:
            raise NodeUnavailable(f"the private RabbitMQ node exited; see {self.base / 'log'}")
        raise NodeUnavailable(f"the private RabbitMQ node did not start in {timeout:.0f} s")

    def ctl_run(self, *args: str) -> None:
        subprocess.run([self.ctl, "-q", "-n", self.name, *args], check=True,
                       capture_output=True, env=self.env, timeout=120)  # fmt: skip

    def stop(self) -> None:
        """Stop the node (``rabbitmqctl stop``: every connection closes), then our process."""
        if self.server is None:
            return
        with contextlib.suppress(subprocess.SubprocessError):
            self.ctl_run("stop")
        self.server.stop(timeout=30)
        self.server = None


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A started private node, stopped and its folder removed after; ``NodeUnavailable`` where
    none can run."""
    # not under pytest's temporary folder: the node's user must reach it (that one is root's)
    base = Path(tempfile.mkdtemp(prefix="nbt-rabbitmq-"))
    base.chmod(0o755)
    node: PrivateRabbitMQ | None = None
    try:
        node = PrivateRabbitMQ(base)
        yield node
    finally:
        if node is not None:
            node.stop()
        shutil.rmtree(base, ignore_errors=True)
