"""Redis connections for events and heartbeats (Celery makes its own from the same URL)."""

from __future__ import annotations

from typing import Any

import redis

from workers.settings import Settings


def make_redis(settings: Settings, **kwargs: Any) -> redis.Redis:
    """A client on the settings' Redis; blocking readers pass a ``socket_timeout`` above their
    block time (redis-py 8 defaults to 5 s)."""
    kwargs.setdefault("decode_responses", True)
    kwargs.setdefault("socket_timeout", 5)
    kwargs.setdefault("socket_connect_timeout", 5)
    kwargs.setdefault("health_check_interval", 30)
    return redis.Redis.from_url(settings.redis_url, **kwargs)
