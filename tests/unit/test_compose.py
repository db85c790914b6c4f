"""docker-compose.yml declares the deployment the docs describe."""

from __future__ import annotations

from pathlib import Path

import yaml

from workers.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_services_roles_and_gpu_profile():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "rabbitmq",
        "migrate",
        "api",
        "worker-cpu",
        "worker-gpu",
        "beat",
        "flower",
    } <= set(services)
    assert services["migrate"]["restart"] == "no"
    for role in ("api", "worker-cpu", "beat", "flower"):
        needs = services[role]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["rabbitmq"]["condition"] == "service_healthy"
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"] and "profiles" not in services["worker-cpu"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert gpu["build"]["args"]["EXTRAS"] == "cuda"
    assert services["api"]["environment"]["REDIS_URL"] == gpu["environment"]["REDIS_URL"]


def test_only_the_proxy_is_published_and_secrets_come_from_the_environment():
    text = (ROOT / "docker-compose.yml").read_text()
    services = yaml.safe_load(text)["services"]
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {"nginx": ["${PORT:-8110}:8080"], "flower": ["127.0.0.1:5555:5555"]}
    assert "--basic-auth" in " ".join(services["flower"]["command"])
    assert "requirepass" in " ".join(services["redis"]["command"])
    assert services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"].startswith("${RABBITMQ")
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES")
    assert "nautilus:nautilus@" not in text
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for directive in ("client_max_body_size", "client_body_timeout", "proxy_request_buffering on",
                      "limit_req", "proxy_read_timeout"):  # fmt: skip
        assert directive in conf


def test_tasks_queue_on_rabbitmq_whose_consumer_timeout_outlasts_a_task(tmp_path):
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for role in ("api", "worker-cpu", "worker-gpu", "beat", "flower"):
        assert services[role]["environment"]["BROKER_URL"].startswith("amqp://nautilus:")
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["hostname"] == "rabbitmq" and rabbitmq["healthcheck"]["test"]
    assert "./deploy/rabbitmq.conf:/etc/rabbitmq/conf.d/90-nautilus.conf:ro" in rabbitmq["volumes"]
    conf = dict(
        line.split(" = ")
        for line in (ROOT / "deploy" / "rabbitmq.conf").read_text().splitlines()
        if line and not line.startswith("#")
    )
    defaults = load_settings({"NAUTILUS_VAR_DIR": str(tmp_path)})
    assert int(conf["consumer_timeout"]) > 1000 * defaults.task_time_limit_s
    assert int(conf["heartbeat"]) <= defaults.broker_heartbeat_s
