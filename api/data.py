"""``/data``: import bars, list what is stored, validate data before a backtest.

``POST /data/bars`` takes CSV (``Content-Type: text/csv``, options in the query string) or JSON
(``{"symbol", "frequency", "exchange", "source", "on_error", "bars": [...]}``) and answers with
rows inserted, updated, unchanged and rejected (with reasons). ``GET /data/symbols`` lists the
stored series; ``GET /data/validate`` is the seed's data-availability report.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from api.admission import check_stored
from api.auth import caller, owner_scope, require_admin
from api.context import service
from api.errors import ErrorSchema, fail
from engine.data.calendars import BAR_MINUTES
from engine.data.quality import iso
from engine.fields import SYMBOL_PATTERN
from engine.spec import MAX_SYMBOLS
from engine.spec_fields import DATE_SPAN, EARLIEST_DATE, LATEST_DATE
from store.bars.imports import parse_csv, parse_records, read_json_body
from store.bars.reads import list_series, snapshot
from store.data_import import ON_ERROR, import_parsed
from store.data_validation import validate_stored
from store.db import transaction
from store.jobs import active_naming
from store.signal_sets import delete_signal_set, get_signal_set
from store.signal_uploads import store_signals

blp = Blueprint("data", __name__, description="Market data: import, inventory, validation")
ERRORS = {"schema": ErrorSchema}
ISO_HINT = "use ISO 8601, such as 2024-01-31 or 2024-01-31T00:00:00Z"
FREQUENCY = fields.String(load_default="1d", validate=validate.OneOf(tuple(BAR_MINUTES)))


class Moment(fields.Field):
    """An ISO 8601 date or time, read as UTC."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> pd.Timestamp:
        try:
            moment = pd.Timestamp(str(value))
        except ValueError:
            raise ValidationError(ISO_HINT) from None
        if moment is pd.NaT:
            raise ValidationError(ISO_HINT)
        moment = moment.tz_convert("UTC") if moment.tzinfo else moment.tz_localize("UTC")
        if not EARLIEST_DATE <= moment <= LATEST_DATE:
            raise ValidationError(f"must lie between {DATE_SPAN}")
        return moment


class ValidateArgsSchema(Schema):
    symbols = fields.List(fields.String(), required=True, metadata={"example": ["SPY,QQQ"]})
    start_date = Moment(required=True, metadata={"example": "2024-01-01"})
    end_date = Moment(required=True, metadata={"example": "2024-12-31"})
    frequency = FREQUENCY


class SymbolsArgsSchema(Schema):
    frequency = fields.String(validate=validate.OneOf(tuple(BAR_MINUTES)))


class ImportArgsSchema(Schema):
    symbol = fields.String()
    frequency = FREQUENCY
    exchange = fields.String()
    source = fields.String()
    on_error = fields.String(load_default="reject", validate=validate.OneOf(ON_ERROR))


@blp.route("/data/validate", methods=["GET"])
@blp.arguments(ValidateArgsSchema, location="query")
@blp.response(200)
@blp.alt_response(422, **ERRORS)
def validate_data(args: dict[str, Any]) -> dict[str, Any]:
    """Availability and quality of stored bars per symbol, with missing periods and fixes."""
    symbols = requested_symbols(args["symbols"])
    start, end = args["start_date"], args["end_date"]
    if end < start:
        fail(422, "end_date must not be before start_date", {"end_date": ["before start_date"]})
    with snapshot(service().sessions) as session:
        checked = validate_stored(session, symbols, start, end, args["frequency"])
    return checked.report


@blp.route("/data/symbols", methods=["GET"])
@blp.arguments(SymbolsArgsSchema, location="query")
@blp.response(200)
def stored_symbols(args: dict[str, Any]) -> dict[str, Any]:
    """Every stored series with its date range, bar count, calendar and dataset version."""
    with snapshot(service().sessions) as session:
        series = list_series(session, frequency=args.get("frequency"))
    items = [
        {
            "symbol": s.symbol,
            "frequency": s.frequency,
            "exchange": s.exchange,
            "bar_count": s.bar_count,
            "earliest_date": iso(s.first_ts) if s.first_ts else None,
            "latest_date": iso(s.last_ts) if s.last_ts else None,
            "source": s.source,
            "dataset_version": s.version,
        }
        for s in series
    ]
    return {"symbols": items, "count": len(items)}


@blp.route("/data/bars", methods=["POST"])
@blp.arguments(ImportArgsSchema, location="query")
@blp.doc(requestBody={"content": {"text/csv": {}, "application/json": {}}})
@blp.response(200)
@blp.alt_response(403, **ERRORS)
@blp.alt_response(422, **ERRORS)
def import_bars(args: dict[str, Any]) -> dict[str, Any]:
    """Upsert bars from a CSV or JSON body (admin keys only: market data is shared by every
    owner, read-only); all or nothing unless ``on_error=skip``."""
    require_admin()
    if request.is_json:
        records, options = read_json_body(request.get_json(force=True))
        args = {**args, **options}
        parsed = parse_records(records, **_parse_options(args))
        source = args.get("source") or "json"
    else:
        parsed = parse_csv(request.get_data(), **_parse_options(args))
        source = args.get("source") or "csv"
    return import_parsed(
        service().sessions,
        parsed,
        frequency=args["frequency"],
        source=source,
        exchange=args.get("exchange"),
        on_error=args["on_error"],
    )


class SignalArgsSchema(Schema):
    name = fields.String(load_default="signals", validate=validate.Length(1, 200))
    frequency = FREQUENCY
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "parquet")))


@blp.route("/data/signals", methods=["POST"])
@blp.arguments(SignalArgsSchema, location="query")
@blp.doc(requestBody={"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}})
@blp.response(201)
@blp.alt_response(422, **ERRORS)
def upload_signals(args: dict[str, Any]) -> dict[str, Any]:
    """Store a signal set (target weights, long ``date,symbol,weight`` or wide ``date,SYM1,...``)
    owned by the caller, checked row by row and against the calendar and the stored bars; a
    backtest trades it with ``strategy_id: "target_weights"`` and ``signal_set_id``. Refused
    (422) while the caller's stored bytes are at ``NAUTILUS_QUOTA_STORED_BYTES``."""
    check_stored(service(), caller().owner)
    parquet = args["format"] == "parquet" or "parquet" in (request.content_type or "")
    name = "body.parquet" if parquet else "body.csv"
    with transaction(service().sessions) as session:
        stored = store_signals(session, caller().owner, args["name"], request.get_data(), name,
                               args["frequency"])  # fmt: skip
    return stored


@blp.route("/data/signals/<signal_set_id>", methods=["GET"])
@blp.response(200)
@blp.alt_response(404, **ERRORS)
def get_signals(signal_set_id: str) -> dict[str, Any]:
    """A signal set's symbols, dates and size (its owner's, or any for an admin)."""
    with snapshot(service().sessions) as session:
        row = get_signal_set(session, signal_set_id, owner_scope())
        if row is None:
            fail(404, f"no signal set {signal_set_id!r}")
        return row.describe()


@blp.route("/data/signals/<signal_set_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, **ERRORS)
@blp.alt_response(409, **ERRORS)
def delete_signals(signal_set_id: str) -> Response:
    """Delete a signal set (its owner's, or any for an admin), freeing its bytes from the
    owner's ``NAUTILUS_QUOTA_STORED_BYTES``; a 409 while a queued or running backtest trades
    it. Ended backtests that traded it keep their results."""
    ctx = service()
    with transaction(ctx.sessions) as session:
        row = get_signal_set(session, signal_set_id, owner_scope())
        if row is None:
            fail(404, f"no signal set {signal_set_id!r}")
        owner = row.owner
        using = active_naming(session, "signal_set_id", signal_set_id)
        if using:
            fail(409, f"signal set {signal_set_id} is traded by queued or running jobs "
                      f"({', '.join(using)}); delete it once they have ended, or cancel them "
                      "(POST /jobs/{job_id}/cancel)", extra={"active_jobs": using})  # fmt: skip
        if not delete_signal_set(session, signal_set_id):
            fail(404, f"no signal set {signal_set_id!r}")  # deleted by another request meanwhile
    ctx.forget_stored(owner)
    return Response(status=204)


@blp.route("/data/providers", methods=["GET"])
@blp.response(200)
def providers() -> dict[str, Any]:
    """The providers bars can be fetched from, and whether each has the key it needs."""
    settings = service().settings
    rows = [
        ("yahoo", "Yahoo Finance", None, True),
        ("alpha_vantage", "Alpha Vantage", "ALPHAVANTAGE_API_KEY", settings.alphavantage_api_key),
        ("fred", "FRED", "FRED_API_KEY", settings.fred_api_key),
    ]
    items = []
    for name, title, variable, key in rows:
        ready = bool(key)
        note = (
            "no key needed"
            if variable is None
            else ("key configured" if ready else f"missing key: set {variable}")
        )
        items.append({"provider": name, "name": title, "configured": ready, "status": note})
    return {
        "providers": items,
        "note": "fetch with `nautilus-bt data fetch PROVIDER SYMBOL`; reachability is only "
        "known when a fetch runs, and an unreachable provider is reported then",
    }


def _parse_options(args: dict[str, Any]) -> dict[str, Any]:
    return {k: args.get(k) for k in ("symbol", "frequency", "exchange")}


def requested_symbols(values: list[str]) -> list[str]:
    """``symbols=SPY,QQQ`` and ``symbols=SPY&symbols=QQQ`` alike, checked and de-duplicated."""
    symbols = [s.strip() for value in values for s in value.split(",") if s.strip()]
    bad = [s for s in symbols if not SYMBOL_PATTERN.match(s)]
    if not symbols or bad or len(symbols) > MAX_SYMBOLS:
        message = f"give 1 to {MAX_SYMBOLS} symbols such as SPY,QQQ" + (
            f"; not valid: {bad[:5]}" if bad else ""
        )
        fail(422, message, {"symbols": [message]})
    return list(dict.fromkeys(symbols))
