"""The API process's handles on the outside world: settings, database, Redis, Celery.

Built once per app by the factory; views reach it through ``service()``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from cachetools import TTLCache
from celery import Celery
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from store import jobs
from store.db import autocommit_engine, make_engine, make_session_factory
from workers.events import EventPublisher
from workers.heartbeats import live_pools
from workers.redis_client import make_redis
from workers.relay import Outbox
from workers.settings import Settings

log = logging.getLogger(__name__)
EXTENSION = "nautilus"
NEVER = -math.inf


@dataclass
class Cached:
    """A value recomputed at most every ``ttl`` seconds (per API process).

    Once there is a value, one request recomputes it and the others, arriving while its query
    waits, answer with the value they have: under gevent each would otherwise run the same
    query (the job stats' aggregate, 8 at once under the bench's load). A failed recompute
    leaves the value due, so the next request tries again."""

    ttl: float
    compute: Callable[[], Any]
    _value: Any = None
    _at: float = NEVER  # when the value was computed

    def get(self) -> Any:
        now = time.monotonic()
        if now - self._at < self.ttl:
            return self._value
        due = self._at
        if due != NEVER:
            self._at = now  # the others answer with the value they have meanwhile
        try:
            self._value = self.compute()
        except BaseException:
            self._at = due
            raise
        self._at = now
        return self._value


class ServiceContext:
    def __init__(self, settings: Settings, celery: Celery) -> None:
        self.settings = settings
        # a gevent worker serves many requests at once: a pool as small as a task process's
        # would open and close an overflow connection for most of them under load
        self.engine = make_engine(settings.database_url, pool_size=settings.web_db_pool)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        # the hot paths' Core statements
        self.autocommit = autocommit_engine(self.engine, settings.web_db_pool)
        self.reads: sessionmaker[Session] = make_session_factory(self.autocommit)
        self.redis: redis.Redis = make_redis(settings)
        self.celery = celery
        self.events = EventPublisher(self.redis, settings.events_stream_maxlen)
        self.outbox = Outbox(self.sessions, self.events)
        self.started = time.time()
        self._pools = Cached(settings.live_pools_cache_s, self._live_pools)
        self._stats = Cached(10.0, self._job_stats)
        self._stored: TTLCache[str, int] = TTLCache(4096, max(settings.quota_stored_cache_s, 1e-6))
        self._stored_lock = threading.Lock()
        self._forgets = 0  # deletes so far (a measurement taken across one is not kept)

    def dispose(self) -> None:
        """Close every pooled database connection (both engines)."""
        self.autocommit.dispose()
        self.engine.dispose()

    def stored_bytes(self, owner: str) -> int:
        """The owner's stored bytes (``store.usage``), measured at most every
        ``NAUTILUS_QUOTA_STORED_CACHE`` seconds: the measurement reads every row the owner has,
        too costly for each submit, and a quota on gigabytes does not need it fresher."""
        from store.usage import stored_bytes

        with self._stored_lock:
            if self.settings.quota_stored_cache_s > 0 and owner in self._stored:
                return self._stored[owner]
            forgets = self._forgets
        with self.autocommit.connect() as conn:
            used = stored_bytes(conn, owner)
        with self._stored_lock:
            if self._forgets == forgets:  # else a delete may have ended after it was measured
                self._stored[owner] = used
        return used

    def forget_stored(self, owner: str) -> None:
        """Measure the owner again at their next check: after a delete freed some of their
        bytes, so that this process admits them at once (another API process keeps its own
        measurement up to ``NAUTILUS_QUOTA_STORED_CACHE`` seconds more)."""
        with self._stored_lock:
            self._stored.pop(owner, None)
            self._forgets += 1

    def live_pools(self) -> set[str]:
        return self._pools.get()

    def mean_run_seconds(self) -> float | None:
        return self._stats.get().mean_run_seconds

    def _live_pools(self) -> set[str]:
        try:
            return live_pools(self.redis)
        except redis.RedisError:
            return set()

    def _job_stats(self) -> jobs.JobStats:
        with self.reads() as session:
            return jobs.job_stats(session)


def service() -> ServiceContext:
    return current_app.extensions[EXTENSION]
