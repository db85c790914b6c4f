"""Requests per minute per owner (``NAUTILUS_RATE_LIMIT``), counted in Redis by flask-limiter so
every API process shares one count; callers without a valid key are counted per address.

A refused request is a 429 in the one error shape with ``Retry-After``: the length of the
limit's window, within which a fixed window resets. Counting costs one Redis round trip (an
atomic increment script); the ``X-RateLimit-*`` headers are off because they would cost two
more on every request. Static assets, the docs and the dashboard's page are not counted. While
Redis is unreachable each process counts in its own memory instead of failing requests.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded

from api.auth import identify
from api.errors import handle_http_exception
from workers.settings import Settings

UNCOUNTED = frozenset({"assets", "api-docs", "dashboard", "static"})


def refused(error: RateLimitExceeded) -> tuple[Response, int]:
    """The one error shape, with ``Retry-After`` set to the limit's window."""
    response, code = handle_http_exception(error)
    response.headers["Retry-After"] = str(int(error.limit.limit.get_expiry()))
    return response, code


def client_key() -> str:
    principal = identify()
    return f"owner:{principal.owner}" if principal else f"addr:{request.remote_addr}"


def storage_uri(settings: Settings) -> str:
    """The limits library's URI of our Redis (a Unix socket is ``redis+unix://``)."""
    url = settings.redis_url
    return "redis+unix://" + url[len("unix://") :] if url.startswith("unix://") else url


def install(app: Flask, settings: Settings) -> Limiter:
    app.register_error_handler(RateLimitExceeded, refused)
    return Limiter(
        client_key,
        app=app,
        default_limits=[settings.rate_limit],
        default_limits_exempt_when=lambda: request.blueprint in UNCOUNTED,
        storage_uri=storage_uri(settings),
        strategy="fixed-window",
        headers_enabled=False,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix="nautilus:rate",
    )
