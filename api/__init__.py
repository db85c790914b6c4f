"""The REST API: ``create_app()`` builds the Flask app (``gunicorn 'api:create_app()'``).

``create_app`` is imported when first asked for, not with the package: gunicorn's master
imports ``api.gunicorn_conf`` before it forks its gevent workers, and the app's libraries must
first be imported in a worker, after gevent has patched it (psycopg picks a wait function that
cooperates with gevent only if ``select`` is already patched when it is imported; imported in
the master, every database round trip would block the whole worker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(f"module 'api' has no attribute {name!r}")
