"""Requests per minute per owner (``NAUTILUS_RATE_LIMIT``), counted in fixed windows shared by
every API process through Redis; callers without a valid key are counted per address.

A refused request is a 429 in the one error shape with ``Retry-After``: the seconds until the
window resets. Static assets, the docs and the dashboard's page are not counted.

Each process counts in memory and adds its counts to the shared ones in Redis in batches: at
most every ``SYNC_EVERY_S``, and at once, on every request, when a caller's count is within
``EXACT_MARGIN`` of a limit. Far from the limit a request costs no Redis round trip; near it,
each request is counted in Redis before it is admitted, so the limit holds across processes
up to the hits the other processes took in their last ``SYNC_EVERY_S`` (about a dozen at the
bench's rate, against 120 of margin on the default 1,200 a minute). While Redis is unreachable
each process keeps counting alone and adds its counts once Redis answers again (a warning is
logged when that starts and when it ends, not at every try: a Redis without scripting, for
one, shows there).

Why not one Redis call per request through flask-limiter (as before): measured with
``cProfile``, flask-limiter's per-request work around its Redis call cost about 0.4 ms of CPU
and the call itself about 0.25 ms, against 1.6 ms for a whole status read; see docs/service.md.
The limits library still parses the limits (``1200/minute;50/second``). A sync is one Lua script
(``ADD_COUNTS``) whatever the number of counts it carries: as a pipeline of ``INCRBY`` and
``EXPIRE`` per count it cost about 10 us of the API process's CPU per command (about 700 us for
the 15 owners a process saw between two syncs under the bench's load, 47 us per request).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many

from api.auth import identify
from api.errors import fail

log = logging.getLogger(__name__)
UNCOUNTED = frozenset({"assets", "api-docs", "dashboard", "static"})
KEY_PREFIX = "nautilus:rate"
SYNC_EVERY_S = 0.05
EXACT_MARGIN = 0.1
"""Within this share of a limit, every request is counted in Redis before it is admitted."""
PRUNE_EVERY_S = 1.0
"""How often the counts of ended windows are dropped (not at every sync: a scan of them all)."""
RETRY_SHARED_S = 1.0
"""After Redis failed a sync, count alone for this long before trying again."""
EXTENSION = "nautilus_rate"
ADD_COUNTS = """
local totals = {}
for i, key in ipairs(KEYS) do
  local hits = tonumber(ARGV[2 * i - 1])
  local total = redis.call('INCRBY', key, hits)
  if total == hits then
    redis.call('EXPIRE', key, ARGV[2 * i])
  end
  totals[i] = total
end
return totals
"""
"""Add each key's hits (``ARGV``: hits and seconds to live, per key) and answer the totals; a key
the script creates expires with its window (in the same script: no key is left without one)."""


@dataclass
class WindowCount:
    """One caller's count for one limit in one window: what Redis held at the last sync
    (``shared``, this process's hits included) and this process's hits since (``pending``)."""

    key: str
    window: int
    period: int
    shared: int = 0
    pending: int = 0

    @property
    def seen(self) -> int:
        return self.shared + self.pending


class RequestRate:
    """The request limits of every caller, counted per process and shared through Redis."""

    def __init__(self, limits: list[RateLimitItem], client: redis.Redis) -> None:
        self.limits = limits
        self._add_counts = client.register_script(ADD_COUNTS)
        self._counts: dict[str, WindowCount] = {}
        self._lock = threading.Lock()
        self._next_sync = 0.0
        self._next_prune = 0.0
        self._down_until = 0.0
        self._shared = True  # whether the last sync reached Redis (a change is logged)

    def exceeded(self, who: str) -> tuple[RateLimitItem, float] | None:
        """Count one request of ``who``; the first limit it exceeds and the seconds until that
        limit's window resets, or None when every limit admits it."""
        now = time.time()
        counts = [self._hit(item, who, now) for item in self.limits]
        pairs = list(zip(counts, self.limits, strict=True))
        near = any(count.seen > item.amount * (1 - EXACT_MARGIN) for count, item in pairs)
        clock = time.monotonic()
        if clock >= self._down_until and (near or clock >= self._next_sync):
            self.sync()
        for count, item in pairs:
            if count.seen > item.amount:
                return item, count.period - now % count.period
        return None

    def _hit(self, item: RateLimitItem, who: str, now: float) -> WindowCount:
        period = item.get_expiry()
        window = int(now // period)
        key = f"{KEY_PREFIX}:{who}:{item.amount}/{period}:{window}"
        with self._lock:
            count = self._counts.get(key)
            if count is None:
                count = self._counts[key] = WindowCount(key, window, period)
            count.pending += 1
        return count

    def sync(self) -> None:
        """Add this process's pending counts to Redis and learn the shared totals; on a Redis
        error keep them pending and count alone for ``RETRY_SHARED_S``."""
        with self._lock:
            self._next_sync = time.monotonic() + SYNC_EVERY_S
            batch = [(count, count.pending) for count in self._counts.values() if count.pending]
            for count, _ in batch:
                count.pending = 0
            if time.monotonic() >= self._next_prune:
                self._forget_ended_windows()
        if not batch:
            return
        keys = [count.key for count, _ in batch]
        args = [value for count, hits in batch for value in (hits, count.period + 1)]
        try:
            totals = self._add_counts(keys=keys, args=args)
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                for count, hits in batch:
                    count.pending += hits
                self._down_until = time.monotonic() + RETRY_SHARED_S
            if self._shared:
                log.warning("request counts not shared (each process counts alone): %s", exc)
            self._shared = False
            return
        with self._lock:
            for (count, _), total in zip(batch, totals, strict=True):
                count.shared = max(count.shared, int(total))
        if not self._shared:
            log.warning("request counts shared through Redis again")
        self._shared = True

    def _forget_ended_windows(self) -> None:
        """Drop the counts of windows that have ended (their keys expire in Redis)."""
        self._next_prune = time.monotonic() + PRUNE_EVERY_S
        now = time.time()
        for key, count in list(self._counts.items()):
            if not count.pending and count.window < int(now // count.period):
                del self._counts[key]


def client_key() -> str:
    principal = identify()
    return f"owner:{principal.owner}" if principal else f"addr:{request.remote_addr}"


def count_request() -> None:
    """``before_request``: count the request against its caller's limits; 429 over them."""
    if request.url_rule is None or request.blueprint in UNCOUNTED:
        return
    who = client_key()
    refusal = request_rate().exceeded(who)
    if refusal is None:
        return
    item, reset_in = refusal
    seconds = max(1, math.ceil(reset_in))
    fail(
        429,
        f"more than {item} requests (NAUTILUS_RATE_LIMIT) for {who.partition(':')[2]}; "
        f"retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def request_rate() -> RequestRate:
    return current_app.extensions[EXTENSION]


def install(app: Flask, rate_limit: str, client: redis.Redis) -> None:
    """Count every request (before authentication: refused keys count against their address)."""
    app.extensions[EXTENSION] = RequestRate(parse_many(rate_limit), client)
    app.before_request(count_request)
