"""Marshmallow schemas of the backtest endpoints: the seed's field names, documented in OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from api.requests import MAX_PAGE
from store.job_query import SORTABLE
from store.models import STATUSES
from workers.timestamps import iso_utc


class Timestamp(fields.DateTime):
    """ISO 8601 in UTC with milliseconds and a ``Z``, as the seed writes them."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return iso_utc(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LinksSchema(Schema):
    status = fields.String()
    results = fields.String()
    cancel = fields.String()


class SubmitResponseSchema(Schema):
    status = fields.String(metadata={"description": "the job's status now (queued when new)"})
    execution_id = fields.String(metadata={"description": "the job id, bt_<ULID>"})
    backtest_id = fields.String(metadata={"description": "same as execution_id"})
    backtest_name = fields.String()
    estimated_duration_minutes = fields.Float(
        allow_none=True,
        metadata={"description": "mean run time of recent completed backtests; null if none"},
    )
    symbols_count = fields.Integer()
    hardware_acceleration_enabled = fields.Boolean(
        metadata={"description": "true when the job was routed to the GPU pool"}
    )
    queue = fields.String()
    created_at = Timestamp()
    links = fields.Nested(LinksSchema)


class JobErrorSchema(Schema):
    code = fields.String()
    message = fields.String()
    errors = fields.Dict()


class BacktestStatusSchema(Schema):
    """What ``GET /backtests/{id}`` reports, read from the job row; every figure is measured."""

    execution_id = fields.String(attribute="id")
    backtest_id = fields.Function(lambda job: job.id, metadata={"type": "string"})
    backtest_name = fields.String(attribute="name")
    backtest_type = fields.String()
    strategy_id = fields.String()
    status = fields.String()
    progress_percentage = fields.Float()
    progress_message = fields.String(allow_none=True)
    current_date = Timestamp(attribute="bar_time", allow_none=True)
    processing_time_ms = fields.Float(allow_none=True)
    data_points_processed = fields.Integer(allow_none=True)
    orders_executed = fields.Integer(allow_none=True)
    trades_completed = fields.Integer(allow_none=True)
    hardware_used = fields.String(allow_none=True)
    memory_usage_mb = fields.Float(
        allow_none=True, metadata={"description": "peak resident memory of the worker process"}
    )
    queue = fields.String()
    attempts = fields.Integer()
    worker = fields.String(allow_none=True)
    error = fields.Nested(JobErrorSchema, allow_none=True)
    metrics = fields.Dict(
        allow_none=True,
        metadata={"description": "a completed backtest's performance_metrics (results' units)"},
    )
    created_at = Timestamp()
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)


def read_columns(schema: type[Schema], *more: str) -> tuple[str, ...]:
    """The job columns a schema's fields read (their ``attribute`` or name), and ``more``: what
    a status query selects, so the query follows the schema."""
    declared = schema().fields.items()
    columns = (f.attribute or name for name, f in declared if not isinstance(f, fields.Function))
    return tuple(dict.fromkeys([*columns, *more]))


class CancelResponseSchema(BacktestStatusSchema):
    pass


class ResultsArgsSchema(Schema):
    include_trades = fields.Boolean(load_default=True)
    include_positions = fields.Boolean(load_default=True)
    include_analytics = fields.Boolean(load_default=True)


class QueryFiltersSchema(Schema):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)))
    backtest_type = fields.String()
    strategy_id = fields.String()
    backtest_name = fields.String(metadata={"description": "case-insensitive substring"})
    spec_hash = fields.String(validate=validate.Length(equal=64))
    created_after = Timestamp()
    created_before = Timestamp()


class QueryRequestSchema(Schema):
    filters = fields.Nested(QueryFiltersSchema, load_default=dict)
    sort = fields.List(
        fields.String(),
        load_default=lambda: ["-created_at"],
        metadata={"description": f"fields of {sorted(SORTABLE)}; a leading '-' sorts descending"},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1),
        metadata={"description": "at most NAUTILUS_MAX_PAGE_SIZE (default 200)"},
    )

    @validates("sort")
    def _known_sort_keys(self, value: list[str], **_: Any) -> None:
        unknown = [key for key in value if key.lstrip("-") not in SORTABLE]
        if unknown:
            raise ValidationError(f"cannot sort by {unknown}; choose from {sorted(SORTABLE)}")


class QueryResponseSchema(Schema):
    items = fields.List(fields.Nested(BacktestStatusSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()
