"""The one settings object: every environment variable the service reads, read once, here.

Nothing else in the project reads ``os.environ``; ``.env.example`` documents each variable.
With no ``DATABASE_URL`` and no ``REDIS_URL`` the defaults serve one machine with nothing
installed: a SQLite file and an embedded Redis server under ``NAUTILUS_VAR_DIR``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

VERSION = "0.1.0"


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Configuration of the API, the workers and the commands (see ``.env.example``)."""

    var_dir: Path
    database_url: str
    redis_url: str
    embedded_redis: bool
    broker_url: str = ""  # empty: the task queues live on Redis (REDIS_URL)
    host: str = "127.0.0.1"
    port: int = 8110
    web_workers: int = 2
    log_level: str = "INFO"
    worker_concurrency: int = 2
    gpu_device: str = "0"
    task_soft_time_limit_s: int = 1800
    task_time_limit_s: int = 1860
    visibility_timeout_s: int = 3900
    broker_heartbeat_s: float = 30.0
    task_max_retries: int = 3
    max_attempts: int = 3
    job_heartbeat_s: float = 5.0
    job_stale_after_s: float = 30.0
    worker_heartbeat_s: float = 5.0
    worker_heartbeat_ttl_s: float = 15.0
    reconcile_interval_s: float = 5.0
    queued_redeliver_after_s: float = 15.0
    progress_interval_s: float = 0.25
    events_stream_maxlen: int = 100_000
    gpu_min_cells: int = 2_000_000
    max_request_bytes: int = 1_048_576
    max_page_size: int = 200
    result_expires_s: int = 86_400
    live_pools_cache_s: float = 2.0
    swagger_ui_url: str = "/docs/assets/"  # served by the API from swagger-ui-bundle
    bar_cache_mb: int = 512
    provider_timeout_s: float = 10.0
    alphavantage_api_key: str = field(default="", repr=False)
    fred_api_key: str = field(default="", repr=False)
    optimization_max_sets: int = 100_000
    optimization_gpu_batch: int = 4096
    optimization_cpu_batch: int = 1024
    api_url: str = "http://127.0.0.1:8110"  # where the remote CLI commands send requests
    api_key: str = field(default="", repr=False)
    prometheus_multiproc_dir: str = ""
    api_key_pepper: str = field(default="", repr=False)
    auth_cache_s: float = 60.0  # revocations also empty the caches at once (via Redis)
    rate_limit: str = "1200/minute"
    quota_queued_jobs: int = 100
    max_running_per_owner: int = 8  # 0: no limit
    quota_wait_s: float = 5.0  # an over-quota owner's job is tried again this much later
    quota_stored_bytes: int = 10 * 2**30  # 0: no limit
    quota_stored_cache_s: float = 30.0  # how old an owner's measured stored bytes may be
    max_work_backtest: int = 50_000_000
    max_work_optimize: int = 20_000_000_000
    max_work_montecarlo: int = 3_000_000_000
    max_json_depth: int = 32
    max_string_length: int = 10_000
    max_import_bytes: int = 16 * 2**20
    web_timeout_s: int = 60
    web_connections: int = 1000
    web_db_pool: int = 20  # PostgreSQL connections in each of an API process's two pools
    cpu_backend: str = "numba"
    kernel_threads: int = 0
    kernel_cache_dir: Path | None = None
    kernel_warmup: bool = True
    jax_cache: bool = True  # JAX's compiled programs on disk (jax_cache_dir)

    def max_work(self, workload: str) -> int:
        """The largest work size (``JobLabels.cells``) one job of ``workload`` may ask for."""
        return int(getattr(self, f"max_work_{workload}"))

    @property
    def api_metrics_dir(self) -> Path:
        """Where the API's gunicorn workers share their Prometheus samples."""
        return self.var_dir / "prometheus"

    @property
    def celery_broker_url(self) -> str:
        """The task queues' broker: ``BROKER_URL`` (RabbitMQ) when set, else Redis."""
        return self.broker_url or self.celery_result_url

    @property
    def celery_result_url(self) -> str:
        """Results, chord counters, events and heartbeats always live on Redis."""
        return _celery_redis_url(self.redis_url)

    @property
    def broker_kind(self) -> str:
        """``amqp`` (RabbitMQ) or ``redis``: which delivery guarantees the queues have."""
        return "amqp" if self.broker_url else "redis"

    @property
    def redis_socket_path(self) -> Path:
        return self.var_dir / "redis.sock"

    @property
    def jax_cache_dir(self) -> Path:
        return self.var_dir / "jax-cache"

    @property
    def kernel_cache(self) -> Path:
        """Where compiled CPU kernels (numba) are cached: shared by every worker process."""
        return self.kernel_cache_dir or self.var_dir / "kernel-cache"

    def kernel_threads_for(self, processes: int) -> int:
        """Threads one kernel call may use in a pool of ``processes`` worker processes: all
        cores (0) for one process, one each for several, unless set explicitly."""
        if self.kernel_threads > 0:
            return self.kernel_threads
        return 1 if processes > 1 else 0

    def child_environ(self, **overrides: str) -> dict[str, str]:
        """Environment for a subprocess of ours: this one, pinned to these settings (a worker
        started from settings built in code gets them, not the parent's environment's). A
        setting that is empty here is not inherited either: some libraries act on a variable's
        mere presence (prometheus-client's ``PROMETHEUS_MULTIPROC_DIR``)."""
        empty = {var for name, (var, _parse) in _ENV.items() if getattr(self, name) == ""}
        inherited = {var: value for var, value in os.environ.items() if var not in empty}
        return {**inherited, **self.environ(), **overrides}

    def environ(self) -> dict[str, str]:
        """These settings as the variables ``load_settings`` reads (unset and empty ones left
        out: an empty variable is not always read as an unset one)."""
        env = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "NAUTILUS_VAR_DIR": str(self.var_dir),
            "NAUTILUS_EMBEDDED_REDIS": "1" if self.embedded_redis else "0",
        }
        for name, (var, _parse) in _ENV.items():
            value = getattr(self, name)
            if value is not None and value != "":
                env[var] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return env


TRUE = ("1", "true", "yes", "on")

# name of the field -> (environment variable, parser)
_ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    "host": ("HOST", str),
    "port": ("PORT", int),
    "web_workers": ("WORKERS", int),
    "log_level": ("LOG_LEVEL", str.upper),
    "worker_concurrency": ("NAUTILUS_WORKER_CONCURRENCY", int),
    "gpu_device": ("NAUTILUS_GPU_DEVICE", str),
    "task_soft_time_limit_s": ("NAUTILUS_TASK_SOFT_TIME_LIMIT", int),
    "task_time_limit_s": ("NAUTILUS_TASK_TIME_LIMIT", int),
    "visibility_timeout_s": ("NAUTILUS_VISIBILITY_TIMEOUT", int),
    "broker_url": ("BROKER_URL", str),
    "broker_heartbeat_s": ("NAUTILUS_BROKER_HEARTBEAT", float),
    "task_max_retries": ("NAUTILUS_TASK_MAX_RETRIES", int),
    "max_attempts": ("NAUTILUS_MAX_ATTEMPTS", int),
    "job_heartbeat_s": ("NAUTILUS_JOB_HEARTBEAT", float),
    "job_stale_after_s": ("NAUTILUS_JOB_STALE_AFTER", float),
    "worker_heartbeat_s": ("NAUTILUS_WORKER_HEARTBEAT", float),
    "worker_heartbeat_ttl_s": ("NAUTILUS_WORKER_HEARTBEAT_TTL", float),
    "reconcile_interval_s": ("NAUTILUS_RECONCILE_INTERVAL", float),
    "queued_redeliver_after_s": ("NAUTILUS_QUEUED_REDELIVER_AFTER", float),
    "progress_interval_s": ("NAUTILUS_PROGRESS_INTERVAL", float),
    "events_stream_maxlen": ("NAUTILUS_EVENTS_MAXLEN", int),
    "gpu_min_cells": ("NAUTILUS_GPU_MIN_CELLS", int),
    "max_request_bytes": ("NAUTILUS_MAX_REQUEST_BYTES", int),
    "max_page_size": ("NAUTILUS_MAX_PAGE_SIZE", int),
    "result_expires_s": ("NAUTILUS_RESULT_EXPIRES", int),
    "live_pools_cache_s": ("NAUTILUS_LIVE_POOLS_CACHE", float),
    "swagger_ui_url": ("NAUTILUS_SWAGGER_UI_URL", str),
    "bar_cache_mb": ("NAUTILUS_BAR_CACHE_MB", int),
    "provider_timeout_s": ("NAUTILUS_PROVIDER_TIMEOUT", float),
    "alphavantage_api_key": ("ALPHAVANTAGE_API_KEY", str),
    "fred_api_key": ("FRED_API_KEY", str),
    "optimization_max_sets": ("NAUTILUS_OPTIMIZATION_MAX_SETS", int),
    "optimization_gpu_batch": ("NAUTILUS_OPTIMIZATION_GPU_BATCH", int),
    "optimization_cpu_batch": ("NAUTILUS_OPTIMIZATION_CPU_BATCH", int),
    "prometheus_multiproc_dir": ("PROMETHEUS_MULTIPROC_DIR", str),
    "api_url": ("NAUTILUS_API_URL", str),
    "api_key": ("NAUTILUS_API_KEY", str),
    "api_key_pepper": ("NAUTILUS_API_KEY_PEPPER", str),
    "auth_cache_s": ("NAUTILUS_AUTH_CACHE", float),
    "rate_limit": ("NAUTILUS_RATE_LIMIT", str),
    "quota_queued_jobs": ("NAUTILUS_QUOTA_QUEUED_JOBS", int),
    "max_running_per_owner": ("NAUTILUS_MAX_RUNNING_PER_OWNER", int),
    "quota_wait_s": ("NAUTILUS_QUOTA_WAIT", float),
    "quota_stored_bytes": ("NAUTILUS_QUOTA_STORED_BYTES", int),
    "quota_stored_cache_s": ("NAUTILUS_QUOTA_STORED_CACHE", float),
    "max_work_backtest": ("NAUTILUS_MAX_WORK_BACKTEST", int),
    "max_work_optimize": ("NAUTILUS_MAX_WORK_OPTIMIZE", int),
    "max_work_montecarlo": ("NAUTILUS_MAX_WORK_MONTECARLO", int),
    "max_json_depth": ("NAUTILUS_MAX_JSON_DEPTH", int),
    "max_string_length": ("NAUTILUS_MAX_STRING_LENGTH", int),
    "max_import_bytes": ("NAUTILUS_MAX_IMPORT_BYTES", int),
    "web_timeout_s": ("NAUTILUS_WEB_TIMEOUT", int),
    "web_connections": ("NAUTILUS_WEB_CONNECTIONS", int),
    "web_db_pool": ("NAUTILUS_WEB_DB_POOL", int),
    "cpu_backend": ("NAUTILUS_CPU_BACKEND", str.lower),
    "kernel_threads": ("NAUTILUS_KERNEL_THREADS", int),
    "kernel_cache_dir": ("NAUTILUS_KERNEL_CACHE_DIR", Path),
    "kernel_warmup": ("NAUTILUS_KERNEL_WARMUP", lambda raw: raw.strip().lower() in TRUE),
    "jax_cache": ("NAUTILUS_JAX_CACHE", lambda raw: raw.strip().lower() in TRUE),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default: the process environment) and check them."""
    env = os.environ if environ is None else environ
    var_dir = Path(env.get("NAUTILUS_VAR_DIR") or "var").resolve()
    redis_url = env.get("REDIS_URL") or ""
    embedded = not redis_url or env.get("NAUTILUS_EMBEDDED_REDIS") == "1"
    values: dict[str, Any] = {
        "var_dir": var_dir,
        "database_url": _database_url(env.get("DATABASE_URL") or "", var_dir),
        "redis_url": redis_url or f"unix://{var_dir / 'redis.sock'}",
        "embedded_redis": embedded,
    }
    for name, (var, parse) in _ENV.items():
        raw = env.get(var)
        if raw not in (None, ""):
            values[name] = _parse(var, raw, parse)
    settings = Settings(**values)
    _check(settings)
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return load_settings()


def describe() -> list[tuple[str, str]]:
    """(variable, field) pairs of every setting, for docs and tests."""
    names = {f.name for f in fields(Settings)}
    pairs = [("DATABASE_URL", "database_url"), ("REDIS_URL", "redis_url")]
    pairs += [("NAUTILUS_VAR_DIR", "var_dir"), ("NAUTILUS_EMBEDDED_REDIS", "embedded_redis")]
    pairs += [(var, name) for name, (var, _) in _ENV.items() if name in names]
    return pairs


def _parse(var: str, raw: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{var}={raw!r} is not valid: {exc}") from exc


def _database_url(raw: str, var_dir: Path) -> str:
    if not raw:
        return f"sqlite:///{var_dir / 'nautilus.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _celery_redis_url(url: str) -> str:
    """kombu and Celery's result backend spell a Unix socket ``redis+socket://``."""
    if url.startswith("unix://"):
        path, _, query = url[len("unix://") :].partition("?")
        return f"redis+socket://{path}" + (f"?{query}" if query else "")
    return url


AMQP_SCHEMES = ("amqp://", "amqps://", "pyamqp://")


def _check(s: Settings) -> None:
    if s.broker_url and not s.broker_url.startswith(AMQP_SCHEMES):
        raise SettingsError(
            "BROKER_URL must be a RabbitMQ URL (amqp:// or amqps://); leave it unset to queue "
            "tasks on REDIS_URL"
        )
    if s.broker_heartbeat_s <= 0:
        raise SettingsError("NAUTILUS_BROKER_HEARTBEAT must be above 0 seconds")
    if s.task_soft_time_limit_s >= s.task_time_limit_s:
        raise SettingsError("NAUTILUS_TASK_SOFT_TIME_LIMIT must be below NAUTILUS_TASK_TIME_LIMIT")
    if s.visibility_timeout_s <= s.task_time_limit_s:
        raise SettingsError(
            "NAUTILUS_VISIBILITY_TIMEOUT must exceed NAUTILUS_TASK_TIME_LIMIT, otherwise "
            "Redis redelivers a task that is still running"
        )
    if s.job_stale_after_s <= 2 * s.job_heartbeat_s:
        raise SettingsError("NAUTILUS_JOB_STALE_AFTER must exceed twice NAUTILUS_JOB_HEARTBEAT")
    if s.queued_redeliver_after_s < s.reconcile_interval_s:
        raise SettingsError(
            "NAUTILUS_QUEUED_REDELIVER_AFTER must be at least NAUTILUS_RECONCILE_INTERVAL"
        )
    if s.worker_heartbeat_ttl_s <= s.worker_heartbeat_s:
        raise SettingsError("NAUTILUS_WORKER_HEARTBEAT_TTL must exceed NAUTILUS_WORKER_HEARTBEAT")
    if s.cpu_backend not in ("numba", "jax"):
        raise SettingsError(f"NAUTILUS_CPU_BACKEND={s.cpu_backend!r}: use numba or jax")
    if s.kernel_threads < 0:
        raise SettingsError("NAUTILUS_KERNEL_THREADS must be 0 (automatic) or more")
    if not 1 <= s.port <= 65535:
        raise SettingsError(f"PORT={s.port} is outside 1..65535")
