"""A bounded HTTP load generator in Python (for machines without wrk).

``measure(base, requests, connections, seconds)`` keeps ``connections`` keep-alive
connections busy, each in its own thread, for ``seconds``; every connection sends the requests
that ``requests(i)`` makes, in turn. ``summary`` gives requests per second and latency
percentiles over one or more such samples. The generator shares the machine with the server:
compare figures only with peers measured by the same generator in the same run, interleaved
in slices so that the machine's drift falls on each of them alike.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections import Counter
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
    failures: Counter[str] = field(default_factory=Counter)  # HTTP status or "error" -> count


@dataclass(frozen=True)
class Sample:
    """One stretch of load: every answered request's latency, the failures, the wall time."""

    latencies_ms: list[float]
    failures: Counter[str]  # HTTP status (or "error": no answer) -> count
    seconds: float


def summary(samples: list[Sample], connections: int) -> dict[str, Any]:
    """Requests per second and latency percentiles over ``samples`` taken together."""
    latencies = sorted(ms for sample in samples for ms in sample.latencies_ms)
    elapsed = sum(sample.seconds for sample in samples)
    return {
        "connections": connections,
        "requests": len(latencies),
        "failures": dict(sum((sample.failures for sample in samples), Counter())),
        "rps": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
    }


def measure(base: str, requests: Callable[[int], Call], connections: int, seconds: float) -> Sample:
    """One stretch of ``seconds`` of load on ``base`` from ``connections`` clients."""
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
    latencies = [ms for tally in tallies for ms in tally.latencies]
    return Sample(latencies, sum((t.failures for t in tallies), Counter()), elapsed)


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
            tally.failures["error"] += 1
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            continue
        if response.status >= 400:
            tally.failures[str(response.status)] += 1
        tally.latencies.append((time.perf_counter() - started) * 1000.0)
    conn.close()
