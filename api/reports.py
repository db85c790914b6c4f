"""``GET .../report``: a job's self-contained HTML report (plotly.js from ``/assets``)."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from api.assets import plotly_path
from api.context import service
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


@blp.route("/optimization/<string:optimization_id>/report", methods=["GET"])
@blp.doc(responses={"200": {"description": "the report", **HTML}})
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def optimization_report(optimization_id: str) -> Response:
    """The optimization's report: best sets, parameter heatmaps, in- vs out-of-sample scores,
    validation windows and the overfitting figures explained."""
    from reports.optimization import render_optimization_report
    from store import trials

    job = stored_job("optimization", optimization_id)
    with service().reads() as session:
        scored = trials.all_trials(session, optimization_id)
    status = {"optimization_id": job.id, "status": job.status, **job.document}
    page = render_optimization_report(status, scored, job.summary, plotly_path())
    return html(page)


@blp.route("/stress-test/<string:stress_test_id>/report", methods=["GET"])
@blp.doc(responses={"200": {"description": "the report", **HTML}})
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def stress_report(stress_test_id: str) -> Response:
    """The stress test's report: terminal-return distribution with VaR and CVaR, percentiles
    of the base and stressed runs, and the scenario table."""
    from reports.stress import render_stress_report

    job = stored_job("stress_test", stress_test_id)
    return html(render_stress_report(job.id, job.document, plotly_src=plotly_path()))
