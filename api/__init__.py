"""The REST API: ``create_app()`` builds the Flask app (``gunicorn 'api:create_app()'``)."""

from __future__ import annotations

from api.app import create_app

__all__ = ["create_app"]
