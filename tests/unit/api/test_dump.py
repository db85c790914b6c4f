"""The compiled dumps (a status read, a submit's answer) answer exactly what the schemas' own
dumps do."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from marshmallow import Schema, fields

from api import create_app
from api.backtests import STATUS_COLUMNS, STATUS_DUMP, SUBMIT_DUMP, submitted
from api.dump import compile_dump
from api.schemas import BacktestStatusSchema, SubmitResponseSchema

QUEUED = {name: None for name in STATUS_COLUMNS} | {
    "id": "bt_01",
    "kind": "backtest",
    "name": "queued one",
    "backtest_type": "strategy_validation",
    "strategy_id": "sma_crossover",
    "status": "queued",
    "progress_percentage": 0,  # an int where the schema says float: converted as marshmallow does
    "queue": "backtest.cpu",
    "attempts": 0,
    "created_at": datetime(2024, 2, 15, 9, 30, 0, 123456),  # naive: read as UTC
}
FAILED = QUEUED | {
    "status": "failed",
    "progress_percentage": 42.5,
    "progress_message": "simulating",
    "bar_time": datetime(2023, 6, 30, tzinfo=UTC),
    "processing_time_ms": 1234.5,
    "data_points_processed": 2148,
    "orders_executed": 10,
    "trades_completed": 5,
    "hardware_used": "cpu",
    "memory_usage_mb": 310.25,
    "attempts": 2,
    "worker": "cpu@host",
    "error": {"code": "data", "message": "no bars", "errors": {"symbols": ["GOOG"]}, "x": 1},
    "metrics": {"sharpe_ratio": 1.2, "total_return": None},
    "started_at": datetime(2024, 2, 15, 9, 31, tzinfo=UTC),
    "finished_at": datetime(2024, 2, 15, 9, 32, tzinfo=UTC),
}


@pytest.mark.parametrize("values", [QUEUED, FAILED], ids=["queued", "failed"])
def test_the_compiled_status_dump_equals_the_schemas(values):
    row = SimpleNamespace(**values)
    expected = BacktestStatusSchema().dump(row)
    dumped = STATUS_DUMP(row)
    assert dumped == expected
    assert list(dumped) == list(expected)  # the same keys in the same order
    assert {type(v) for v in dumped.values()} == {type(v) for v in expected.values()}


def test_fields_of_other_types_serialise_themselves():
    submitted = {
        "status": "queued",
        "execution_id": "bt_01",
        "backtest_id": "bt_01",
        "backtest_name": "b",
        "estimated_duration_minutes": None,
        "symbols_count": 3,
        "hardware_acceleration_enabled": 0,  # a Boolean field: not one of the plain types
        "queue": "backtest.cpu",
        "created_at": datetime(2024, 1, 1),
        "links": {"status": "/backtests/bt_01"},
    }
    row = SimpleNamespace(**submitted)
    expected = SubmitResponseSchema().dump(row)
    assert compile_dump(SubmitResponseSchema())(row) == expected
    assert compile_dump(SubmitResponseSchema(), by_key=True)(submitted) == expected


def test_the_submit_answer_is_the_schemas_dump(unit_store):
    created = datetime(2024, 1, 1, tzinfo=UTC)
    job = SimpleNamespace(id="bt_01", status="queued", name="b", symbols_count=2, pool="gpu",
                          queue="backtest.gpu", created_at=created)  # fmt: skip
    with create_app(unit_store[0]).app_context():
        answer = submitted(job)
    assert SUBMIT_DUMP(answer) == SubmitResponseSchema().dump(answer)


def test_numbers_as_strings_and_bytes_convert_as_marshmallow_does():
    class Odd(Schema):
        price = fields.Float(as_string=True)
        count = fields.Integer(attribute="n")
        label = fields.String()

    row = SimpleNamespace(price=1.5, n=2.0, label=b"caf\xc3\xa9")
    assert (
        compile_dump(Odd())(row) == Odd().dump(row) == {"price": "1.5", "count": 2, "label": "café"}
    )
