"""``GET /``: the dashboard (``reports.dashboard``), served by the API itself; a browser that has
not signed in gets the sign-in page (the page itself is public, its data is not)."""

from __future__ import annotations

from flask import Blueprint, Response

from api.auth import identify

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def dashboard() -> Response:
    from reports.dashboard import render_dashboard, render_login

    principal = identify()
    page = render_dashboard(principal.owner) if principal else render_login()
    response = Response(page, mimetype="text/html")
    response.cache_control.no_cache = True
    return response
