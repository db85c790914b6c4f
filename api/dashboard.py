"""``GET /``: the dashboard (``reports.dashboard``), served by the API itself."""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def dashboard() -> Response:
    from reports.dashboard import render_dashboard

    response = Response(render_dashboard(), mimetype="text/html")
    response.cache_control.no_cache = True
    return response
