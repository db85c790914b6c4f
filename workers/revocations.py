"""Key revocations announced on Redis, so API processes forget cached key checks at once.

``nautilus-bt keys revoke`` increments ``REVOCATIONS`` once the revocation has committed; every
API process reads the counter at most every ``CHECK_S`` and drops its cached key answers when
it has moved. A revoked key therefore stops working within about a second; when Redis cannot
be told or read, within ``NAUTILUS_AUTH_CACHE`` (the cache's own bound).
"""

from __future__ import annotations

import redis

REVOCATIONS = "nautilus:keys:revocations"
CHECK_S = 1.0


def announce(client: redis.Redis) -> bool:
    """Tell every API process that a key was revoked; False when Redis could not be told."""
    try:
        client.incr(REVOCATIONS)
    except (redis.RedisError, OSError):
        return False
    return True


def revocations(client: redis.Redis) -> int | None:
    """How many revocations were announced so far (None: Redis could not be read)."""
    try:
        return int(client.get(REVOCATIONS) or 0)
    except (redis.RedisError, OSError):
        return None
