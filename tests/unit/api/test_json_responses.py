"""Answers written by orjson read back as the standard library's did, with the differences the
module names (NaN as null, UTF-8 instead of escapes) and Flask's fallbacks kept."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from api.json_responses import OrjsonResponses


@pytest.fixture
def app():
    app = Flask("json-responses")
    app.json = OrjsonResponses(app)
    app.json.sort_keys = False
    return app


def answer(app: Flask, document) -> bytes:
    with app.app_context():
        return app.json.response(document).get_data()


def flask_answer(app: Flask, document) -> bytes:
    provider = DefaultJSONProvider(app)
    provider.sort_keys = False
    with app.app_context():
        return provider.response(document).get_data()


def test_a_document_reads_back_as_the_standard_librarys_in_its_key_order(app):
    document = {"z": 1, "a": [1.5, -2, None, True], "é": {"name": "Zürich", "n": 10**18}}
    body = answer(app, document)
    assert json.loads(body) == json.loads(flask_answer(app, document)) == document
    assert list(json.loads(body)) == ["z", "a", "é"]
    assert "Zürich".encode() in body and body.endswith(b"\n")


def test_a_nan_is_null_not_the_invalid_literal(app):
    assert json.loads(answer(app, {"sharpe": math.nan, "max": math.inf})) == {
        "sharpe": None,
        "max": None,
    }
    assert b"NaN" in flask_answer(app, {"sharpe": math.nan})  # what the standard library wrote


def test_dates_and_what_orjson_refuses_are_written_as_flask_writes_them(app):
    when = {"at": datetime(2024, 2, 15, 9, 30, tzinfo=UTC)}
    assert answer(app, when) == flask_answer(app, when)  # an HTTP date, through Flask's default
    huge = {"n": 10**30}  # beyond 64 bits: orjson refuses, Flask's writer answers
    assert json.loads(answer(app, huge)) == huge


def test_debug_answers_are_indented(app):
    app.debug = True
    assert answer(app, {"a": {"b": 1}}) == b'{\n  "a": {\n    "b": 1\n  }\n}\n'
