from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from workers.settings import SettingsError, describe, load_settings

ROOT = Path(__file__).resolve().parents[3]


def test_defaults_are_embedded_under_var(tmp_path):
    s = load_settings({"NAUTILUS_VAR_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'nautilus.db'}"
    assert s.embedded_redis and s.redis_url == f"unix://{tmp_path / 'redis.sock'}"
    assert s.celery_broker_url == f"redis+socket://{tmp_path / 'redis.sock'}"
    assert s.port == 8110


def test_real_servers_from_the_environment():
    s = load_settings(
        {
            "DATABASE_URL": "postgresql://u@db/x",
            "REDIS_URL": "redis://r:6379/1",
            "PORT": "9000",
        }
    )
    assert s.database_url == "postgresql+psycopg://u@db/x"
    assert not s.embedded_redis and s.celery_broker_url == "redis://r:6379/1"
    assert s.port == 9000


def test_broker_url_selects_rabbitmq_and_redis_keeps_the_results():
    s = load_settings({"REDIS_URL": "redis://r:6379/1", "BROKER_URL": "amqp://u:p@mq:5672/v"})
    assert s.broker_kind == "amqp" and s.celery_broker_url == "amqp://u:p@mq:5672/v"
    assert s.celery_result_url == "redis://r:6379/1"
    assert s.child_environ()["BROKER_URL"] == "amqp://u:p@mq:5672/v"
    assert load_settings({"REDIS_URL": "redis://r:6379/1"}).broker_kind == "redis"


def test_a_broker_url_that_is_not_rabbitmq_is_refused():
    with pytest.raises(SettingsError, match="BROKER_URL must be a RabbitMQ URL"):
        load_settings({"BROKER_URL": "redis://r:6379/2"})


def test_bad_values_name_the_variable():
    with pytest.raises(SettingsError, match="PORT='eighty'"):
        load_settings({"PORT": "eighty"})


def test_visibility_timeout_must_exceed_the_hard_time_limit():
    env = {
        "NAUTILUS_TASK_TIME_LIMIT": "100",
        "NAUTILUS_TASK_SOFT_TIME_LIMIT": "90",
        "NAUTILUS_VISIBILITY_TIMEOUT": "100",
    }
    with pytest.raises(SettingsError, match="VISIBILITY_TIMEOUT"):
        load_settings(env)


def test_soft_limit_below_hard_limit():
    with pytest.raises(SettingsError, match="SOFT_TIME_LIMIT"):
        load_settings({"NAUTILUS_TASK_SOFT_TIME_LIMIT": "2000", "NAUTILUS_TASK_TIME_LIMIT": "1900"})


def test_every_variable_is_documented_in_env_example():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    missing = [var for var, _ in describe() if var not in documented]
    assert not missing, f"add these to .env.example: {missing}"


def test_only_the_settings_module_reads_the_environment():
    offenders = []
    for folder in ("api", "workers", "tasks", "store", "cli"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if re.search(r"os\.environ|os\.getenv", text) and path.name != "settings.py":
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


def test_kernel_settings_single_thread_a_pool_of_several_processes(tmp_path):
    s = load_settings({"NAUTILUS_VAR_DIR": str(tmp_path)})
    assert (s.cpu_backend, s.kernel_threads, s.kernel_warmup) == ("numba", 0, True)
    assert s.kernel_cache == tmp_path / "kernel-cache"
    assert (s.kernel_threads_for(1), s.kernel_threads_for(2)) == (0, 1)
    pinned = load_settings({"NAUTILUS_KERNEL_THREADS": "2", "NAUTILUS_CPU_BACKEND": "JAX",
                            "NAUTILUS_KERNEL_WARMUP": "0"})  # fmt: skip
    assert (pinned.kernel_threads_for(4), pinned.cpu_backend, pinned.kernel_warmup) == (
        2,
        "jax",
        False,
    )
    with pytest.raises(SettingsError, match="NAUTILUS_CPU_BACKEND"):
        load_settings({"NAUTILUS_CPU_BACKEND": "cuda"})


def test_children_get_every_setting_built_in_code_not_the_parents_environment(monkeypatch):
    monkeypatch.setenv("NAUTILUS_KERNEL_WARMUP", "1")
    s = load_settings(
        {"REDIS_URL": "redis://r:6379/1", "NAUTILUS_KERNEL_WARMUP": "0",
         "NAUTILUS_KERNEL_THREADS": "1", "NAUTILUS_KERNEL_CACHE_DIR": "/tmp/k",
         "NAUTILUS_JOB_HEARTBEAT": "2.5", "LOG_LEVEL": "warning"}
    )  # fmt: skip
    child = s.child_environ(PORT="9001")
    assert child["NAUTILUS_KERNEL_WARMUP"] == "0" and child["PORT"] == "9001"
    assert load_settings(s.environ()) == s
    assert load_settings(child) == replace(s, port=9001)


def test_children_do_not_get_empty_settings(monkeypatch):
    """prometheus-client turns on its multiprocess mode (files in the working directory) when
    ``PROMETHEUS_MULTIPROC_DIR`` is present at all, empty or not."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/parent-metrics")
    s = load_settings({"REDIS_URL": "redis://r:6379/1"})
    assert s.prometheus_multiproc_dir == ""
    assert "PROMETHEUS_MULTIPROC_DIR" not in s.environ()
    assert "PROMETHEUS_MULTIPROC_DIR" not in s.child_environ()
    assert load_settings(s.child_environ()) == s
