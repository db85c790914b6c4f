"""The Flask application factory: settings, stores, blueprints, error handlers, OpenAPI."""

from __future__ import annotations

import logging

from flask import Flask
from flask_smorest import Api

from api import (
    assets,
    backtests,
    dashboard,
    data,
    errors,
    exports,
    health,
    jobs,
    live,
    metrics,
    optimization,
    reports,
    strategies,
    stress,
)
from api.context import EXTENSION, ServiceContext
from workers.celery_config import create_celery
from workers.kinds import KINDS
from workers.settings import VERSION, Settings, get_settings

DESCRIPTION = """Backtest jobs over a Celery queue. Submit with `POST /backtests`, follow with
`GET /backtests/{execution_id}` or the Redis channel `nautilus:jobs:{execution_id}`, read with
`GET /backtests/{execution_id}/results`. `execution_id` and `backtest_id` are the same id,
`bt_<ULID>`. Every error has the shape `{code, status, message, errors}`."""


class NautilusApi(Api):
    ERROR_SCHEMA = errors.ApiErrorSchema


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask("nautilus_backtest")
    app.config.update(openapi_config(settings))
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False
    logging.basicConfig(level=settings.log_level)

    ctx = ServiceContext(settings, create_celery(settings))
    app.extensions[EXTENSION] = ctx
    api = NautilusApi(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    for module in (health, metrics, strategies, backtests, data, optimization, stress):
        api.register_blueprint(module.blp)
    for module in (reports, exports, jobs):  # results people look at (issue 14)
        api.register_blueprint(module.blp)
    for module in (assets, live, dashboard):
        app.register_blueprint(module.bp)
    for kind in KINDS.values():
        api.spec.components.schema(kind.schema_name, component=kind.openapi_schema())
    errors.register(app)
    metrics.install(app, ctx)
    return app


def openapi_config(settings: Settings) -> dict[str, object]:
    return {
        "API_TITLE": "Nautilus Backtest",
        "API_VERSION": VERSION,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": settings.swagger_ui_url,
    }
