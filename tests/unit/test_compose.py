"""docker-compose.yml declares the deployment the docs describe."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_services_roles_and_gpu_profile():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "redis",
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
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES")
    assert "nautilus:nautilus@" not in text
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for directive in ("client_max_body_size", "client_body_timeout", "proxy_request_buffering on",
                      "limit_req", "proxy_read_timeout"):  # fmt: skip
        assert directive in conf
