"""``GET .../report``: a job's self-contained HTML report (plotly.js from ``/assets``)."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from api.assets import plotly_path
from api.errors import ErrorSchema
from api.stored import stored_job

blp = Blueprint("reports", __name__, description="HTML reports of finished jobs")
ERRORS = {"schema": ErrorSchema}
HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}


def html(page: str) -> Response:
    response = Response(page, mimetype="text/html")
    response.cache_control.no_cache = True
    return response


@blp.route("/backtests/<string:execution_id>/report", methods=["GET"])
@blp.doc(responses={"200": {"description": "the report", **HTML}})
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def backtest_report(execution_id: str) -> Response:
    """The backtest's report: equity, drawdowns, calendar returns, rolling risk, exposure,
    trades on price, trade returns and the full statistics table."""
    from reports.backtest import render_backtest_report

    job = stored_job("backtest", execution_id)
    return html(render_backtest_report(job.document, job.spec, plotly_src=plotly_path()))
