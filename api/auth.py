"""Who is calling: an API key from ``Authorization: Bearer``, ``X-API-Key`` or the dashboard's
session cookie, checked before every view.

Every route needs a valid key except the public ones (docs, static assets, the dashboard's page,
the browser login, and ``/health``, which shows anonymous callers less). A missing or invalid
key is a 401 in the one error shape; an unknown route is still a 404 (routing answers first).
A cookie-authenticated request that changes something must carry ``X-Nautilus-Request``, a
header another site cannot make a browser send (no CSRF). Key look-ups are cached per process
for ``NAUTILUS_AUTH_CACHE`` seconds; a revocation is announced on Redis and empties every
process's cache within about a second (``workers.revocations``), so the cache's own bound only
matters while Redis is unreachable.
"""

from __future__ import annotations

import threading
import time
from typing import NoReturn

from cachetools import TTLCache
from flask import Flask, current_app, g, request

from api.context import service
from api.errors import fail
from store.keys import Principal, key_digest, principal_for
from workers.revocations import CHECK_S, revocations

COOKIE = "nautilus_key"
CSRF_HEADER = "X-Nautilus-Request"
PUBLIC_BLUEPRINTS = frozenset({"api-docs", "assets", "dashboard", "session", "static"})
OPTIONAL = frozenset({"health.health"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_HINT = "send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
_ANONYMOUS = object()
CACHE_KEY = "nautilus_keys"


class KeyCache:
    """Recently checked keys (by digest) and who they identify, None for invalid ones."""

    def __init__(self, ttl: float, maxsize: int = 4096) -> None:
        self._ttl = ttl
        self._entries: TTLCache[str, Principal | None] = TTLCache(maxsize, max(ttl, 1e-6))
        self._lock = threading.Lock()
        self._revocations: int | None = None
        self._next_check = 0.0

    def principal(self, key: str) -> Principal | None:
        self._forget_if_revoked()
        ctx = service()
        pepper = ctx.settings.api_key_pepper
        cache_key = key_digest(key, pepper)
        with self._lock:
            if self._ttl > 0 and cache_key in self._entries:
                return self._entries[cache_key]
        with ctx.reads() as session:
            found = principal_for(session, key, pepper)
        with self._lock:
            self._entries[cache_key] = found
        return found

    def _forget_if_revoked(self) -> None:
        """At most every ``CHECK_S``: empty the cache if a revocation was announced since."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_S
        seen = revocations(service().redis)
        if seen is None:
            return
        with self._lock:
            if self._revocations is not None and seen != self._revocations:
                self._entries.clear()
            self._revocations = seen


def presented_key() -> tuple[str | None, bool]:
    """The key the request carries, and whether it came from the session cookie."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return (token.strip() if scheme.lower() == "bearer" else ""), False
    if "X-API-Key" in request.headers:
        return request.headers["X-API-Key"].strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def identify() -> Principal | None:
    """The caller behind the request's key (None: no key or an invalid one); memoised."""
    found = g.get("principal", _ANONYMOUS)
    if found is _ANONYMOUS:
        key, _ = presented_key()
        found = service_cache().principal(key) if key else None
        g.principal = found
    return found


def authenticate() -> None:
    """``before_request``: let public routes through, else require a valid key (401)."""
    if request.url_rule is None:
        return  # routing answers 404 or 405
    if request.blueprint in PUBLIC_BLUEPRINTS or request.endpoint in OPTIONAL:
        identify()
        return
    key, from_cookie = presented_key()
    if key is None:
        unauthorized(f"an API key is required: {KEY_HINT}")
    if identify() is None:
        unauthorized("the API key is not valid (malformed, unknown or revoked)")
    if from_cookie and request.method not in SAFE_METHODS and CSRF_HEADER not in request.headers:
        fail(403, f"a request authenticated by the session cookie must send {CSRF_HEADER}")


def unauthorized(message: str) -> NoReturn:
    fail(401, message, headers={"WWW-Authenticate": 'Bearer realm="nautilus"'})


def caller() -> Principal:
    """The authenticated caller of a protected view."""
    principal = identify()
    if principal is None:  # pragma: no cover - authenticate() ran first
        unauthorized(f"an API key is required: {KEY_HINT}")
    return principal


def owner_scope() -> str | None:
    """The owner whose resources the caller may see; None for an admin (everything)."""
    principal = caller()
    return None if principal.admin else principal.owner


def is_admin() -> bool:
    principal = identify()
    return principal is not None and principal.admin


def require_admin() -> None:
    if not caller().admin:
        fail(403, "this needs an admin key")


def service_cache() -> KeyCache:
    return current_app.extensions[CACHE_KEY]


def install(app: Flask, cache_seconds: float) -> None:
    app.extensions[CACHE_KEY] = KeyCache(cache_seconds)
    app.before_request(authenticate)
