"""The API under gunicorn keeps answering while 50 clients trickle their requests one byte a
second (slowloris): a normal ``GET /health`` stays under 100 ms. Loopback only, bounded."""

from __future__ import annotations

import socket
import statistics
import time

import pytest

from cli.processes import free_port
from cli.rest_client import RestClient
from cli.stack import Stack

pytestmark = pytest.mark.integration
SLOW_CLIENTS = 50
TRICKLE_SECONDS = 8


def open_slow_clients(port: int, count: int) -> list[socket.socket]:
    """Connections that each sent the start of a request and then stalled."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)
    return sockets


def health_times(client: RestClient, seconds: float, sockets: list[socket.socket]) -> list[float]:
    """``GET /health`` timings (ms) for ``seconds`` while every slow socket sends a byte a
    second."""
    timings, deadline, next_trickle = [], time.monotonic() + seconds, 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_trickle:
            for sock in list(sockets):
                try:
                    sock.sendall(b"X")
                except OSError:  # the server gave up on this client: fine, it is not blocked
                    sockets.remove(sock)
            next_trickle = time.monotonic() + 1.0
        started = time.perf_counter()
        status, _ = client.get("/health")
        timings.append(1000 * (time.perf_counter() - started))
        assert status in (200, 503)
        time.sleep(0.1)
    return timings


def test_slow_clients_do_not_delay_a_normal_client(isolated):
    port = free_port("127.0.0.1")
    with Stack(isolated.settings, "127.0.0.1", port, web_workers=2, say=lambda _: None) as stack:
        stack.start(worker=False)
        client = RestClient(stack.url, timeout=10)
        alone = health_times(client, 2, [])
        sockets = open_slow_clients(port, SLOW_CLIENTS)
        try:
            loaded = health_times(client, TRICKLE_SECONDS, sockets)
        finally:
            for sock in sockets:
                sock.close()
    print(
        f"\nGET /health alone: median {statistics.median(alone):.1f} ms; with {SLOW_CLIENTS} "
        f"slow clients: median {statistics.median(loaded):.1f} ms, max {max(loaded):.1f} ms, "
        f"{len(loaded)} requests"
    )
    assert len(loaded) >= 20
    assert statistics.median(loaded) < 100
    assert sorted(loaded)[int(0.9 * len(loaded))] < 100  # 90 % of requests, on a shared CI box
