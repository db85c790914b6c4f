"""A bounded HTTP load generator in Python (for machines without wrk).

``load(base, requests, connections, seconds)`` keeps ``connections`` keep-alive connections
busy, each in its own thread, for ``seconds``; every connection sends the requests that
``requests(i)`` makes, in turn. Returns requests per second and latency percentiles. The
generator shares the machine with the server: compare figures only with peers measured by the
same generator in the same run.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0


def load(
    base: str, requests: Callable[[int], Call], connections: int = 16, seconds: float = 10.0
) -> dict[str, Any]:
    """Hammer ``base`` for ``seconds`` with ``connections`` concurrent keep-alive clients."""
    tallies = [_Tally() for _ in range(connections)]
    deadline = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=_client, args=(base, requests, deadline, tally), daemon=True)
        for tally in tallies
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - started
    latencies = sorted(ms for tally in tallies for ms in tally.latencies)
    return {
        "connections": connections,
        "requests": len(latencies),
        "failures": sum(t.failures for t in tallies),
        "rps": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
    }


def percentiles(latencies_ms: list[float]) -> dict[str, float | None]:
    if not latencies_ms:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "mean_ms": None}
    ordered = sorted(latencies_ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p90_ms": pick(0.9),
        "p99_ms": pick(0.99),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def _client(base: str, requests: Callable[[int], Call], deadline: float, tally: _Tally) -> None:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    i = 0
    while time.perf_counter() < deadline:
        call = requests(i)
        i += 1
        started = time.perf_counter()
        try:
            conn.request(call.method, call.path, body=call.body, headers=call.headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            tally.failures += 1
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            continue
        if response.status >= 400:
            tally.failures += 1
        tally.latencies.append((time.perf_counter() - started) * 1000.0)
    conn.close()
