"""``GET /backtests/{id}/{table}?format=``: a backtest's equity, returns, trades, orders or
positions as JSON, CSV or Parquet (the columns of ``reports.tables``)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.errors import ErrorSchema, fail
from api.stored import stored_job

blp = Blueprint("exports", __name__, description="Backtest results as tables")
ERRORS = {"schema": ErrorSchema}
TABLE_NAMES = ("equity", "returns", "trades", "orders", "positions")


class ExportArgsSchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "parquet"]))


@blp.route(f"/backtests/<string:execution_id>/<any{TABLE_NAMES!r}:table>", methods=["GET"])
@blp.arguments(ExportArgsSchema, location="query")
@blp.doc(responses={"200": {"description": "the table in the asked format"}})
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def export_table(args: dict[str, Any], execution_id: str, table: str) -> Response:
    """One table of a completed backtest; ``format`` is json (records), csv or parquet."""
    from reports.tables import MEDIA_TYPES, TABLES, MissingSection, encode

    job = stored_job("backtest", execution_id)
    try:
        frame = TABLES[table](job.document)
    except MissingSection as exc:
        fail(409, str(exc))
    fmt = args["format"]
    response = Response(encode(frame, fmt), mimetype=MEDIA_TYPES[fmt])
    filename = f"{execution_id}_{table}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
