"""A private deployment to break: its own Redis server and PostgreSQL cluster (loopback, free
ports, temporary folders), a supervised worker and beat (``nautilus-bt worker`` / ``beat``), the
API in process, and a consumer-group reader collecting lifecycle events.

Runs only with ``NAUTILUS_FAULTS=1`` (``make faults``): the faults take minutes. Every process
is started here and stopped by pid; the machine's shared PostgreSQL and Redis are never touched.
Timings are the defaults (``workers/settings.py``): the suite checks what an operator gets.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
import sqlalchemy as sa

from cli.processes import Child, free_port
from store.db import make_engine, make_session_factory, transaction
from store.schema import upgrade
from workers.heartbeats import live_workers
from workers.kinds import terminal
from workers.settings import load_settings
from workers.subscriber import stream_events

if os.environ.get("NAUTILUS_FAULTS") != "1":
    pytest.skip("the fault suite runs with `make faults`", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "var" / "faults-report.json"
TERMINAL = ("completed", "failed", "cancelled")
RECOVERY_BOUND_S = 60.0  # every accepted job ends within this long after the fault ends


def wait(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


class PrivateRedis:
    """``redis-server`` on a free loopback port, persisting every write (AOF, fsync always:
    what a deployment that must not lose events runs), killable and restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.child: Child | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        argv += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)]
        self.child = Child("redis", argv, {}, self.folder / "redis.log")
        client = redis.Redis(port=self.port, socket_timeout=1)
        wait(lambda: _answers(client), 30, "redis start")

    def kill(self) -> None:
        assert self.child is not None
        os.kill(self.child.pid, signal.SIGKILL)
        self.child.process.wait()

    def stop(self) -> None:
        if self.child:
            self.child.stop()


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``) on a free loopback port, run as
    the ``postgres`` user when we are root; stopped and restarted for the outage fault."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="nautilus-faults-pg-"))
        self.data, self.port = self.folder / "data", free_port()
        self._as = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "faults")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/faults"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as, *argv], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "pg.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class EventReader(threading.Thread):
    """A consumer-group reader that survives Redis restarts (reconnecting, which replays its
    pending entries first) and deduplicates by event id, as a subscriber should."""

    def __init__(self, url: str) -> None:
        super().__init__(name="fault-events", daemon=True)
        self.url = url
        self.by_job: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.deliveries = 0
        self._lock = threading.Lock()

    def run(self) -> None:
        for _ in range(100_000):  # bounded reconnects
            client = redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)
            try:
                entries = stream_events(
                    client, from_start=True, group="faults", consumer="reader", claim_idle_ms=1000
                )
                for _entry, event, ack in entries:
                    with self._lock:
                        self.deliveries += 1
                        self.by_job[event["job_id"]][event["id"]] = event
                    ack()
            except redis.RedisError:
                time.sleep(0.5)

    def endings(self, job_id: str) -> list[dict[str, Any]]:
        """Distinct terminal events of ``job_id`` (after deduplication by id)."""
        with self._lock:
            return [e for e in self.by_job.get(job_id, {}).values() if terminal(e)]


class Deployment:
    """The service under test, with handles on each process a fault targets."""

    def __init__(self, folder: Path, pg: PrivatePostgres, rds: PrivateRedis) -> None:
        self.pg, self.rds = pg, rds
        env = {k: v for k, v in os.environ.items() if not k.startswith("NAUTILUS_")}
        env |= {"DATABASE_URL": pg.url, "REDIS_URL": rds.url, "NAUTILUS_VAR_DIR": str(folder)}
        env |= {"JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
        env |= {"NAUTILUS_WORKER_CONCURRENCY": "2", "NAUTILUS_RATE_LIMIT": "100000/minute"}
        env.setdefault("NAUTILUS_KERNEL_CACHE_DIR", str(ROOT / "var" / "test-kernel-cache"))
        self.env, self.folder = env, folder
        self.settings = load_settings(env)
        upgrade(pg.url)
        self.engine = make_engine(pg.url, pool_pre_ping=True)  # outlives the outage
        self.sessions = make_session_factory(self.engine)
        self.redis = redis.Redis.from_url(rds.url, decode_responses=True, socket_timeout=5)
        from api import create_app
        from store.keys import create_key

        self.app = create_app(self.settings)
        with transaction(self.app.extensions["nautilus"].sessions) as session:
            key = create_key(session, "faults", "admin", self.settings.api_key_pepper)[1]
        self.api = self.app.test_client()
        self.api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        self.worker = self._supervised("worker", "--pool", "cpu")
        self.beat = self._supervised("beat")
        self.reader = EventReader(rds.url)
        self.reader.start()
        wait(lambda: self.worker_pid(), 180, "the worker's first heartbeat")

    def _supervised(self, *command: str) -> Child:
        argv = [sys.executable, "-m", "cli.main", *command]
        return Child(command[0], argv, self.env, self.folder / f"{command[0]}.log")

    def worker_pid(self, other_than: int | None = None) -> int | None:
        try:
            found = [w["pid"] for w in live_workers(self.redis) if w["pid"] != other_than]
        except redis.RedisError:
            return None
        return int(found[0]) if found else None

    def celery_pid(self, supervisor: Child) -> int | None:
        """The celery process a supervisor runs (its one child), None between two of them."""
        children = psutil.Process(supervisor.pid).children()
        return children[0].pid if children else None

    def submit_burst(self, backtests: int = 8) -> list[str]:
        """A burst of small backtests and one optimization chord; their ids."""
        ids = []
        for n in range(backtests):
            spec = {
                "backtest_name": f"fault {uuid.uuid4().hex[:6]}",
                "start_date": "2024-01-01T00:00:00Z",
                "end_date": "2024-12-31T00:00:00Z",
                "symbols": ["SPY", "QQQ", "IWM"],
                "data_sources": ["synthetic"],
                "strategy_id": "momentum_factor",
                "strategy_parameters": {"lookback_period": 10 + n},
            }
            response = self.api.post("/backtests", json=spec)
            assert response.status_code == 202, response.get_json()
            ids.append(response.get_json()["execution_id"])
        request = {
            "base_spec": {
                "backtest_name": "fault chord",
                "start_date": "2023-01-02",
                "end_date": "2024-12-31",
                "symbols": ["AAA", "BBB"],
                "data_sources": ["synthetic"],
                "strategy_id": "sma_crossover",
                "strategy_parameters": {"fast_period": 5, "slow_period": 20},
            },
            "parameter_ranges": {"fast_period": [3, 5, 8, 13], "slow_period": [20, 40, 60]},
            "optimization_target": "sharpe_ratio",
        }
        response = self.api.post("/optimization/parameters", json=request)
        assert response.status_code == 202, response.get_json()
        return [*ids, response.get_json()["optimization_id"]]

    def statuses(self, ids: list[str]) -> dict[str, str]:
        with transaction(self.sessions) as session:
            rows = session.execute(
                sa.text("SELECT id, status FROM jobs WHERE id = ANY(:ids)"), {"ids": ids}
            )
            return dict(rows.tuples().all())

    def results(self, ids: list[str]) -> int:
        with transaction(self.sessions) as session:
            query = sa.text("SELECT count(*) FROM results WHERE job_id = ANY(:ids)")
            return int(session.execute(query, {"ids": ids}).scalar_one())

    def running(self, ids: list[str]) -> bool:
        return "running" in self.statuses(ids).values()

    def close(self) -> None:
        self.beat.stop()
        self.worker.stop(timeout=60)
        self.app.extensions["nautilus"].engine.dispose()
        self.engine.dispose()


def record(name: str, figures: dict[str, Any]) -> None:
    """Append a scenario's measured figures to var/faults-report.json (for docs/service.md)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[name] = figures | {"load_average_1m": round(os.getloadavg()[0], 2)}
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True))


@pytest.fixture(scope="session", autouse=True)
def _teardown_on_sigterm() -> Iterator[None]:
    """A run stopped with SIGTERM still stops its PostgreSQL cluster, Redis and workers."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def pg() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    yield cluster
    cluster.remove()


@pytest.fixture(scope="session")
def rds(tmp_path_factory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def deployment(pg, rds, tmp_path_factory) -> Iterator[Deployment]:
    service = Deployment(tmp_path_factory.mktemp("deployment"), pg, rds)
    yield service
    service.close()
