"""Static assets the API serves itself, so reports, the dashboard and ``/docs`` work offline:
plotly.js (from the ``plotly`` package) and Swagger UI (from ``swagger-ui-bundle``)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, request, send_from_directory

bp = Blueprint("assets", __name__)
SWAGGER_UI_PREFIX = "/docs/assets/"
YEAR = 365 * 24 * 3600


@lru_cache(maxsize=1)
def plotly_asset() -> tuple[str, bytes, str]:
    """(versioned path, body, ETag) of plotly.js: the path changes with the version, so
    browsers may keep it for a year."""
    from reports.page import plotly_js, plotly_version

    body = plotly_js().encode()
    etag = hashlib.sha256(body).hexdigest()[:32]
    return f"/assets/plotly-{plotly_version()}.min.js", body, etag


def plotly_path() -> str:
    return plotly_asset()[0]


def swagger_ui_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


@bp.route("/assets/plotly-<string:version>.min.js")
def plotly(version: str) -> Response:
    path, body, etag = plotly_asset()
    if request.path != path:
        return Response(f"plotly.js is served at {path}\n", 404, mimetype="text/plain")
    response = Response(body, mimetype="text/javascript")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    response.make_conditional(request)
    return response


@bp.route(f"{SWAGGER_UI_PREFIX}<path:filename>")
def swagger_ui(filename: str) -> Response:
    return send_from_directory(swagger_ui_dir(), filename, max_age=24 * 3600)


@bp.route("/favicon.ico")
def favicon() -> Response:
    return send_from_directory(swagger_ui_dir(), "favicon-32x32.png", max_age=24 * 3600)
