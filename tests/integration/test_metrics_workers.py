"""``/metrics`` under gunicorn with several workers: counters cover every worker's requests.

Without prometheus-client's multiprocess mode each worker counted only its own requests, so
two scrapes answered by different workers went backwards.
"""

from __future__ import annotations

import pytest

from cli.processes import free_port
from cli.rest_client import RestClient
from cli.stack import Stack

pytestmark = pytest.mark.integration
HEALTH = {"endpoint": "/health", "method": "GET"}


def health_requests(client: RestClient) -> float:
    """Every ``GET /health`` the API answered, as one scrape of ``/metrics`` (JSON) reports."""
    status, body = client.get("/metrics")
    assert status == 200
    samples = body["nautilus_http_requests"]["samples"]
    return sum(
        s["value"]
        for s in samples
        if s["name"] == "nautilus_http_requests_total"
        and all(s["labels"].get(k) == v for k, v in HEALTH.items())
    )


def test_scrapes_sum_every_worker_and_never_go_backwards(isolated):
    port = free_port("127.0.0.1")
    with Stack(isolated.settings, "127.0.0.1", port, web_workers=3, say=lambda _: None) as stack:
        stack.start(worker=False)
        client = RestClient(stack.url, timeout=10, api_key=stack.api_key)
        seen = [health_requests(client)]
        for _ in range(10):
            for _ in range(6):
                assert client.get("/health")[0] in (200, 503)
            seen.append(health_requests(client))
        assert seen == sorted(seen)
        assert seen[-1] - seen[0] == 60
