"""What a task needs from the outside world, created once per worker process (after fork)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import redis
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_engine, make_session_factory
from workers.events import EventPublisher
from workers.redis_client import make_redis
from workers.relay import Outbox
from workers.settings import Settings, get_settings


@dataclass(frozen=True)
class TaskContext:
    settings: Settings
    sessions: sessionmaker[Session]
    redis: redis.Redis
    events: EventPublisher
    outbox: Outbox


_context: TaskContext | None = None
_pid: int | None = None


def context() -> TaskContext:
    """This process's context; a forked child builds its own rather than share connections."""
    global _context, _pid
    if _context is None or _pid != os.getpid():
        settings = get_settings()
        client = make_redis(settings)
        sessions = make_session_factory(make_engine(settings.database_url, pool_size=2))
        events = EventPublisher(client, settings.events_stream_maxlen)
        _context = TaskContext(settings, sessions, client, events, Outbox(sessions, events))
        _pid = os.getpid()
    return _context
