"""The Flask application factory: settings, stores, blueprints, error handlers, OpenAPI."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from api import (
    assets,
    auth,
    backtests,
    dashboard,
    data,
    errors,
    exports,
    health,
    inputs,
    jobs,
    live,
    metrics,
    openapi,
    optimization,
    rate_limits,
    reports,
    session,
    strategies,
    stress,
    tracing,
)
from api.context import EXTENSION, ServiceContext
from api.json_responses import OrjsonResponses
from engine.strategies.registry import packages as load_strategy_packages
from workers.celery_config import create_celery
from workers.kinds import KINDS
from workers.settings import VERSION, Settings, get_settings

DESCRIPTION = """Backtest jobs over a Celery queue. Submit with `POST /backtests`, follow with
`GET /backtests/{execution_id}` or the Redis channel `nautilus:jobs:{execution_id}`, read with
`GET /backtests/{execution_id}/results`. `execution_id` and `backtest_id` are the same id,
`bt_<ULID>`. Every error has the shape `{code, status, message, errors, request_id}`. Every
route but `/health`, the docs and the dashboard's page needs an API key (`nautilus-bt keys
create`), sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`."""


class NautilusApi(Api):
    ERROR_SCHEMA = errors.ApiErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # every status a route answers is documented instead


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask("nautilus_backtest")
    app.config.update(openapi_config(settings))
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json = OrjsonResponses(app)
    app.json.sort_keys = False
    tracing.install(app, settings.log_level)

    ctx = ServiceContext(settings, create_celery(settings))
    app.extensions[EXTENSION] = ctx
    rate_limits.install(app, settings.rate_limit, ctx.redis)
    auth.install(app, settings.auth_cache_s)
    inputs.install(app, settings)
    spec_kwargs = {
        "info": {"description": DESCRIPTION},
        "extra_plugins": [openapi.CommonResponses(), openapi.ResponseLinks()],
    }
    api = NautilusApi(app, spec_kwargs=spec_kwargs)
    openapi.security_schemes(api.spec)
    for module in (health, session, metrics, strategies, backtests, data, optimization, stress):
        api.register_blueprint(module.blp)
    for module in (reports, exports, jobs):  # results people look at (issue 14)
        api.register_blueprint(module.blp)
    for module in (assets, live, dashboard):
        app.register_blueprint(module.bp)
    for kind in KINDS.values():
        api.spec.components.schema(kind.schema_name, component=kind.openapi_schema())
    load_strategy_packages()  # at start, as workers do: a broken package is logged now
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
