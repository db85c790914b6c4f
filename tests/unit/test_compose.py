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
