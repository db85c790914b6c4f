"""The whole service on one machine: Redis (embedded if no REDIS_URL), migrations, a CPU
worker, the reconciler's beat and the API, each a supervised child process (restarted if it
dies, ``cli/supervise.py``) stopped by pid."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.keys import local_key
from cli.processes import Child, api_argv, api_environ, beat_argv, worker_argv, worker_environ
from cli.rest_client import RestClient
from cli.supervise import Supervisor
from store.schema import upgrade
from workers.embedded_redis import EmbeddedRedis, ensure_embedded_redis, is_up
from workers.settings import Settings


class StackError(RuntimeError):
    """A part of the stack did not come up."""


@dataclass
class Stack:
    settings: Settings
    host: str
    port: int
    web_workers: int = 1
    worker_concurrency: int = 1
    say: Callable[[str], None] = print
    redis: EmbeddedRedis | None = None
    supervisor: Supervisor = field(init=False)
    api_key: str = ""  # this machine's admin key (var/api-key), set by start()

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(say=self.say)

    @property
    def children(self) -> list[Child]:
        return self.supervisor.children()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def logs(self) -> Path:
        return self.settings.var_dir / "logs"

    def start(self, *, api: bool = True, worker: bool = True) -> Stack:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.start_redis()
        self.say(f"migrating {self.settings.database_url.split('@')[-1]}")
        upgrade(self.settings.database_url)
        self.api_key = local_key(self.settings)
        if worker:
            argv = worker_argv(self.settings, "cpu", concurrency=self.worker_concurrency)
            self._spawn("worker-cpu", argv, worker_environ(self.settings, "cpu"))
            self._spawn("beat", beat_argv(self.settings), self.settings.child_environ())
        if api:
            argv = api_argv(self.host, self.port, self.web_workers)
            self._spawn("api", argv, api_environ(self.settings, self.port))
            self.wait_ready(need_worker=worker)
        return self

    def start_redis(self) -> None:
        if self.settings.embedded_redis:
            self.redis = ensure_embedded_redis(self.settings)
            where = self.settings.redis_socket_path
            self.say(f"embedded redis on {where}" + (" (started)" if self.redis else " (running)"))
        else:
            self.say(f"redis at {self.settings.redis_url}")
        if self.settings.embedded_redis and not is_up(self.settings):
            raise StackError("embedded Redis is not answering")

    def wait_ready(self, need_worker: bool, timeout: float = 120.0) -> dict:
        client, deadline = RestClient(self.url, timeout=5), time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_children()
            try:
                status, body = client.get("/health")
            except OSError:
                status, body = 0, None
            if status == 200 and (not need_worker or body["workers_alive"].get("cpu")):
                return body
            time.sleep(0.25)
        raise StackError(f"the service did not become ready in {timeout:.0f}s; see {self.logs}")

    def sessions(self) -> Any:
        """A session factory on the stack's database (migrated by ``start``)."""
        from store.db import make_engine, make_session_factory

        return make_session_factory(make_engine(self.settings.database_url))

    def serve_until_signal(self) -> None:
        """Block until Ctrl-C or SIGTERM, restarting a child process that dies meanwhile."""
        self.supervisor.run_until_signal()

    def stop(self) -> None:
        self.supervisor.stop()
        if self.redis:
            self.redis.stop()
            self.say("stopped embedded redis")
            self.redis = None

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = self.logs / f"{name}.log"
        child = self.supervisor.add(name, lambda: Child(name, argv, env, log))
        self.say(f"started {name} (pid {child.pid}), log {log}")

    def _check_children(self) -> None:
        for child in self.children:
            if not child.alive():
                raise StackError(f"{child.name} exited early; see {self.logs / child.name}.log")
