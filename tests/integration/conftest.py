"""Real PostgreSQL, Redis and Celery worker subprocesses for the service's integration tests.

A missing PostgreSQL or Redis skips these tests locally and fails them when ``CI=true``.
Each session gets its own database (built by the migrations) and its own Redis database index;
workers are ``celery worker`` subprocesses started here and stopped by pid. A test parametrized
with ``broker="amqp"`` runs on RabbitMQ (127.0.0.1:5672) in a virtual host of its own, created
and deleted with ``rabbitmqctl``, so parallel sessions never share a queue.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import sqlalchemy as sa

from cli.processes import Child, beat_argv, worker_argv
from store.db import make_engine, make_session_factory, transaction
from store.schema import upgrade
from workers.heartbeats import live_workers
from workers.settings import Settings, load_settings

PG_HOST, PG_PORT, REDIS_PORT, AMQP_PORT = "127.0.0.1", 5432, 6379, 5672
LEASABLE_DBS = range(2, 16)  # Redis database indexes test sessions lease (0 and 1 stay free)
ROOT = Path(__file__).resolve().parents[2]

# Short timings so the crash and reconciler paths run in seconds, not minutes.
FAST = {
    "NAUTILUS_JOB_HEARTBEAT": "0.5",
    "NAUTILUS_JOB_STALE_AFTER": "3",
    "NAUTILUS_RECONCILE_INTERVAL": "1",
    "NAUTILUS_WORKER_HEARTBEAT": "0.5",
    "NAUTILUS_WORKER_HEARTBEAT_TTL": "2",
    "NAUTILUS_TASK_SOFT_TIME_LIMIT": "100",
    "NAUTILUS_TASK_TIME_LIMIT": "110",
    "NAUTILUS_VISIBILITY_TIMEOUT": "120",
    "NAUTILUS_PROGRESS_INTERVAL": "0",
    "NAUTILUS_LIVE_POOLS_CACHE": "0",
    "NAUTILUS_RATE_LIMIT": "100000/minute",  # tests poll fast; test_security checks the limit
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="session", autouse=True)
def _teardown_on_sigterm() -> Iterator[None]:
    """A run stopped with SIGTERM (``timeout``, CI cancel) still stops its workers and releases
    its Redis databases: pytest tears fixtures down on KeyboardInterrupt."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def require(port: int, name: str) -> None:
    if _port_open(port):
        return
    message = f"{name} is not listening on 127.0.0.1:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: integration services are mandatory)")
    pytest.skip(message)


@contextlib.contextmanager
def empty_pg_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    require(PG_PORT, "PostgreSQL")
    name = f"nautilus_it_{uuid.uuid4().hex[:8]}"
    admin = f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with empty_pg_database() as url:
        upgrade(url)
        yield url


class Workers:
    """Starts ``celery worker`` subprocesses and stops them by pid."""

    def __init__(self, env: dict[str, str], settings: Settings, client: redis.Redis) -> None:
        self.env, self.settings, self.client = env, settings, client
        self.children: list[Child] = []

    def start(
        self,
        *,
        beat: bool = False,
        concurrency: int = 1,
        pool: str = "cpu",
        env: dict[str, str] | None = None,
        wrap: tuple[str, ...] = (),
    ) -> Child:
        """A worker on this deployment; ``env`` and ``wrap`` (a command prefix such as
        ``ip netns exec NS``) run it elsewhere, as another host would."""
        name = f"it{uuid.uuid4().hex[:6]}"
        env = env or self.env
        settings = load_settings(env)
        argv = worker_argv(settings, pool, concurrency=concurrency, name=name, loglevel="WARNING")
        argv = [*wrap, *argv]
        log = Path(settings.var_dir) / f"{name}.log"
        child = Child(name, argv, env, log)
        self.children.append(child)
        self.wait_heartbeat(name, child)
        if beat:
            self.start_beat()
        return child

    def start_beat(self) -> Child:
        """The reconciler's schedule, in its own process (as every deployment runs it)."""
        log = Path(self.settings.var_dir) / "beat.log"
        child = Child("beat", beat_argv(self.settings, loglevel="WARNING"), self.env, log)
        self.children.append(child)
        return child

    def wait_heartbeat(self, name: str, child: Child, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert child.alive(), f"worker {name} exited; see {self.settings.var_dir}/{name}.log"
            if any(w["hostname"].startswith(name + "@") for w in live_workers(self.client)):
                return
            time.sleep(0.1)
        raise AssertionError(f"worker {name} never heart-beat")

    def stop_all(self) -> None:
        for child in self.children:
            child.stop(timeout=20)
        self.children.clear()


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A RabbitMQ virtual host of our own (guest may use it), deleted with its queues after."""
    require(AMQP_PORT, "RabbitMQ")
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        message = "rabbitmqctl is not installed: no private virtual host for the AMQP tests"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"nautilus_it_{uuid.uuid4().hex[:8]}"

    def ctl_run(*args: str) -> None:
        subprocess.run([ctl, "-q", *args], check=True, capture_output=True, timeout=60)

    ctl_run("add_vhost", name)
    ctl_run("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}/{name}"
    finally:
        ctl_run("delete_vhost", name)


def accepted_backtest(client, body: dict, **headers: str) -> dict:
    """``POST /backtests`` through ``client``, asserting the 202; its answer."""
    response = client.post("/backtests", json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


class Service:
    """One test deployment: its environment, settings, API test client, Redis and workers.

    ``broker_url`` (an AMQP URL) puts the task queues on RabbitMQ; empty, on Redis."""

    def __init__(
        self, pg_url: str, redis_db: int, var: Path, broker_url: str = "", **overrides: str
    ) -> None:
        require(REDIS_PORT, "Redis")
        redis_url = f"redis://127.0.0.1:{REDIS_PORT}/{redis_db}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NAUTILUS_", "BROKER_"))}
        env |= {"DATABASE_URL": pg_url, "REDIS_URL": redis_url, "NAUTILUS_VAR_DIR": str(var)}
        env |= {"BROKER_URL": broker_url}
        env |= FAST | {"JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)} | overrides
        env.setdefault("NAUTILUS_KERNEL_CACHE_DIR", str(ROOT / "var" / "test-kernel-cache"))
        self.env = env
        self.settings = load_settings(env)
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.redis.flushdb()
        from api import create_app

        self.app = create_app(self.settings)
        self.admin_key = self.create_key("it-admin", "admin")
        self.api = self.client(self.admin_key)
        self.workers = Workers(env, self.settings, self.redis)

    def create_key(self, owner: str, role: str = "member") -> str:
        """A new API key of this deployment (the secret ``keys create`` prints)."""
        from store.keys import create_key

        ctx = self.app.extensions["nautilus"]
        with transaction(ctx.sessions) as session:
            return create_key(session, owner, role, self.settings.api_key_pepper)[1]

    def client(self, key: str | None = None):
        """A test client of the API sending ``key`` (none: anonymous)."""
        client = self.app.test_client()
        if key:
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        return client

    def submit(self, body: dict, **headers: str) -> dict:
        return accepted_backtest(self.api, body, **headers)

    def close(self) -> None:
        self.workers.stop_all()
        self.app.extensions["nautilus"].dispose()


@pytest.fixture(scope="session")
def redis_dbs() -> Iterator[tuple[int, int, int]]:
    """Three Redis database indexes this session owns: the shared deployment's, private
    deployments', and the shared deployment on RabbitMQ's (results, events, heartbeats).

    Several test sessions may run on one machine at once (CI jobs, developers): each leases its
    databases with ``SET NX`` in database 0, so no session flushes another's broker.
    """
    require(REDIS_PORT, "Redis")
    admin = redis.Redis(port=REDIS_PORT, decode_responses=True)
    token, leased = uuid.uuid4().hex, []
    for db in LEASABLE_DBS:
        if admin.set(f"nautilus-it:db:{db}", token, nx=True, ex=3600):
            leased.append(db)
        if len(leased) == 3:
            break
    if len(leased) < 3:
        pytest.fail("no free Redis database for this test session (see nautilus-it:db:* in db 0)")
    yield leased[0], leased[1], leased[2]
    for db in leased:
        if admin.get(f"nautilus-it:db:{db}") == token:
            admin.delete(f"nautilus-it:db:{db}")


@pytest.fixture(scope="session")
def shared(pg_url, redis_dbs, tmp_path_factory) -> Iterator[Service]:
    """A deployment with one CPU worker for the whole session.

    It runs no reconciler: private deployments share its database, and a reconciler here would
    re-enqueue their stale jobs onto this broker (a test that needs one starts it privately).
    """
    service = Service(pg_url, redis_dbs[0], tmp_path_factory.mktemp("shared"))
    service.workers.start()
    yield service
    service.close()


@pytest.fixture(scope="session")
def shared_amqp(pg_url, redis_dbs, tmp_path_factory) -> Iterator[Service]:
    """The shared deployment's twin with its task queues on RabbitMQ (a private vhost)."""
    with rabbitmq_vhost() as url:
        service = Service(pg_url, redis_dbs[2], tmp_path_factory.mktemp("amqp"), broker_url=url)
        service.workers.start()
        yield service
        service.close()


@pytest.fixture
def broker() -> str:
    """The task broker of a test's deployments: ``redis`` unless the test is parametrized with
    ``@pytest.mark.parametrize("broker", BOTH_BROKERS)``."""
    return "redis"


BOTH_BROKERS = ["redis", "amqp"]


@pytest.fixture
def on_broker(broker, request) -> Service:
    """The shared deployment on the test's broker."""
    return request.getfixturevalue("shared" if broker == "redis" else "shared_amqp")


@pytest.fixture
def deploy(pg_url, redis_dbs, tmp_path, broker) -> Iterator[Callable[..., Service]]:
    """Builds a deployment on this session's private broker database, or on a virtual host of
    its own on RabbitMQ (one per test)."""
    built: list[Service] = []
    with contextlib.ExitStack() as stack:

        def build(**overrides: str) -> Service:
            assert not built, "one private deployment per test"
            url = stack.enter_context(rabbitmq_vhost()) if broker == "amqp" else ""
            built.append(Service(pg_url, redis_dbs[1], tmp_path, broker_url=url, **overrides))
            return built[0]

        yield build
        for service in built:
            service.close()


@pytest.fixture
def isolated(deploy) -> Service:
    """A deployment on its own broker and no worker yet: the test starts and kills its own."""
    return deploy()


@pytest.fixture(scope="session")
def sessions(pg_url):
    engine = make_engine(pg_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def wait_for(sessions) -> Callable[..., dict]:
    """Poll the job row until ``predicate(row)`` holds; returns the row as a dict."""

    def wait(job_id: str, predicate: Callable[[dict], bool], timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        row: dict = {}
        while time.monotonic() < deadline:
            with transaction(sessions) as session:
                found = (
                    session.execute(sa.text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id})
                    .mappings()
                    .first()
                )
            row = dict(found or {})
            if row and predicate(row):
                return row
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} never satisfied the condition; last row: {row}")

    return wait


@pytest.fixture
def make_spec() -> Callable[..., dict]:
    return spec


def spec(**overrides: object) -> dict:
    body = {
        "backtest_name": f"it {uuid.uuid4().hex[:8]}",
        "start_date": "2024-01-01T00:00:00Z",
        "end_date": "2024-12-31T00:00:00Z",
        "symbols": ["SPY", "QQQ", "IWM", "TSLA", "AAPL"],
        "data_sources": ["synthetic"],
        "strategy_id": "momentum_factor",
        "strategy_parameters": {"lookback_period": 20},
        "benchmark_symbol": "SPY",
    }
    return body | overrides


@pytest.fixture(scope="session")
def key(shared) -> str:
    """The shared deployment's admin key."""
    return shared.admin_key
