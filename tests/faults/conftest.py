"""A private deployment to break, once per task broker: its own Redis server and PostgreSQL
database (its own cluster; loopback, free ports, temporary folders), a supervised worker and beat
(``nautilus-bt worker`` / ``beat``), the API in process, and a consumer-group reader collecting
lifecycle events. The ``redis`` deployment queues its tasks on its Redis server; the ``rabbitmq``
one on a RabbitMQ node of its own (``tests/private_rabbitmq.py``), with Redis still holding
results, chord counters, events and heartbeats.

Runs only with ``NAUTILUS_FAULTS=1`` (``make faults``): the faults take minutes. Every process
is started here and stopped by pid; the machine's shared PostgreSQL, Redis and RabbitMQ are never
touched. Timings are the defaults (``workers/settings.py``): the suite checks what an operator
gets. One deployment runs at a time (pytest runs every test of one broker, then the other's).
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
from tests.private_rabbitmq import NodeUnavailable, PrivateRabbitMQ, private_rabbitmq
from workers.heartbeats import live_workers
from workers.kinds import terminal
from workers.settings import load_settings
from workers.subscriber import stream_events

if os.environ.get("NAUTILUS_FAULTS") != "1":
    pytest.skip("the fault suite runs with `make faults`", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "var" / "faults-report.json"
TERMINAL = ("completed", "failed", "cancelled")
BROKERS = ["redis", "rabbitmq"]
FIVE_SYMBOLS = ["SPY", "QQQ", "IWM", "TSLA", "AAPL"]
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

    def database(self, name: str) -> str:
        """A new database of this cluster; its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

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
        self._stopped = threading.Event()

    def run(self) -> None:
        for _ in range(100_000):  # bounded reconnects
            if self._stopped.is_set():
                return
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
                self._stopped.wait(0.5)
            finally:
                client.close()

    def stop(self) -> None:
        """Stop once its Redis server is gone (the read it blocks in fails) or within 0.5 s."""
        self._stopped.set()

    def endings(self, job_id: str) -> list[dict[str, Any]]:
        """Distinct terminal events of ``job_id`` (after deduplication by id)."""
        with self._lock:
            return [e for e in self.by_job.get(job_id, {}).values() if terminal(e)]


class Deployment:
    """The service under test, with handles on each process a fault targets."""

    def __init__(
        self,
        folder: Path,
        pg: PrivatePostgres,
        rds: PrivateRedis,
        rabbitmq: PrivateRabbitMQ | None = None,
    ) -> None:
        self.pg, self.rds, self.rabbitmq = pg, rds, rabbitmq
        self.broker = "rabbitmq" if rabbitmq else "redis"
        database_url = pg.database(f"faults_{self.broker}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NAUTILUS_", "BROKER_"))}
        env |= {"DATABASE_URL": database_url, "REDIS_URL": rds.url, "NAUTILUS_VAR_DIR": str(folder)}
        env |= {"BROKER_URL": rabbitmq.url if rabbitmq else ""}
        env |= {"JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
        env |= {"NAUTILUS_WORKER_CONCURRENCY": "2", "NAUTILUS_RATE_LIMIT": "100000/minute"}
        env.setdefault("NAUTILUS_KERNEL_CACHE_DIR", str(ROOT / "var" / "test-kernel-cache"))
        self.env, self.folder = env, folder
        self.settings = load_settings(env)
        upgrade(database_url)
        self.engine = make_engine(database_url, pool_pre_ping=True)  # outlives the outage
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
        try:
            wait(lambda: self.worker_pid(), 180, "the worker's first heartbeat")
        except BaseException:
            self.close()
            raise

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
        """A burst of small backtests and one optimization chord; their ids, the chord's last.

        Each job covers 5 symbols x 10 years of daily bars: on an idle 2-core machine the burst
        keeps a worker of 2 processes busy for about 3 s, so the chord, sent last, is still
        running when a fault strikes once it has started (with 1 year of 2 or 3 symbols
        everything ended within a second, before the fault)."""
        ids = []
        for n in range(backtests):
            spec = {
                "backtest_name": f"fault {uuid.uuid4().hex[:6]}",
                "start_date": "2015-01-01T00:00:00Z",
                "end_date": "2024-12-31T00:00:00Z",
                "symbols": FIVE_SYMBOLS,
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
                "start_date": "2015-01-02",
                "end_date": "2024-12-31",
                "symbols": FIVE_SYMBOLS,
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

    def purge(self, queue: str) -> int:
        """Delete the messages waiting on ``queue``, whichever broker holds it (they are lost);
        how many there were."""
        with self.app.extensions["nautilus"].celery.connection_for_write() as conn:
            return int(conn.default_channel.queue_purge(queue) or 0)

    def statuses(self, ids: list[str]) -> dict[str, str]:
        with transaction(self.sessions) as session:
            rows = session.execute(
                sa.text("SELECT id, status FROM jobs WHERE id = ANY(:ids)"), {"ids": ids}
            )
            return dict(rows.all())

    def unfinished(self, ids: list[str]) -> list[dict[str, Any]]:
        """What a failed wait reports: the jobs not yet terminal, with how far each got."""
        query = sa.text(
            "SELECT id, status, attempts, worker, progress_message, "
            "extract(epoch FROM now() - heartbeat_at) AS heartbeat_age_s, "
            "extract(epoch FROM now() - enqueued_at) AS enqueued_age_s "
            "FROM jobs WHERE id = ANY(:ids) AND status <> ALL(:ends)"
        )
        with transaction(self.sessions) as session:
            rows = session.execute(query, {"ids": ids, "ends": list(TERMINAL)}).mappings()
            return [dict(row) for row in rows]

    def results(self, ids: list[str]) -> int:
        with transaction(self.sessions) as session:
            query = sa.text("SELECT count(*) FROM results WHERE job_id = ANY(:ids)")
            return int(session.execute(query, {"ids": ids}).scalar_one())

    def running(self, ids: list[str]) -> bool:
        return "running" in self.statuses(ids).values()

    def close(self) -> None:
        self.reader.stop()
        self.beat.stop()
        self.worker.stop(timeout=60)
        self.app.extensions["nautilus"].dispose()
        self.engine.dispose()


def record(broker: str, name: str, figures: dict[str, Any]) -> None:
    """Add a scenario's measured figures to var/faults-report.json under its broker (for
    docs/service.md); other scenarios' figures, from this run or an earlier one, stay."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    if not all(b in BROKERS for b in report):
        report = {}  # the report of a suite that ran on Redis only
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load = round(os.getloadavg()[0], 2)
    report.setdefault(broker, {})[name] = figures | {"load_average_1m": load, "at": at}
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True))


def unavailable(message: str) -> None:
    """Skip the tests that need what is missing, or fail them under CI (``CI=true``)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the fault suite runs on both brokers)")
    pytest.skip(message)


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


@pytest.fixture(scope="session", params=BROKERS)
def deployment(request, pg, tmp_path_factory) -> Iterator[Deployment]:
    """The deployment on the test's task broker, with its own Redis server (and, on RabbitMQ,
    its own node): every test runs once per broker; a session fixture, so pytest runs all of one
    broker's tests on one deployment, tears it down, then builds the other."""
    broker = request.param
    with contextlib.ExitStack() as stack:
        folder = tmp_path_factory.mktemp(broker)
        (folder / "redis").mkdir()
        rds = PrivateRedis(folder / "redis")
        stack.callback(rds.stop)
        rabbitmq = None
        if broker == "rabbitmq":
            try:
                rabbitmq = stack.enter_context(private_rabbitmq())
            except NodeUnavailable as exc:
                unavailable(str(exc))
        service = Deployment(folder, pg, rds, rabbitmq)
        stack.callback(service.close)
        yield service
