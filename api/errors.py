"""One JSON error shape for every failure: ``{code, status, message, errors}``.

``code`` is the HTTP status code, ``status`` its name, ``message`` says what went wrong and how
to fix it, ``errors`` maps each offending field to its messages (empty when no field is at fault).
Domain errors (``engine.errors``) map here and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, NoReturn

import redis
from flask import Flask, Response, jsonify
from flask_smorest import abort
from marshmallow import Schema, fields
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from api.tracing import request_id

log = logging.getLogger(__name__)

# webargs nests field errors under where they came from; clients want the field names.
LOCATIONS = ("json", "query", "querystring", "form", "headers", "files", "view_args", "path")


class ApiErrorSchema(Schema):
    code = fields.Integer(metadata={"description": "HTTP status code", "example": 422})
    status = fields.String(metadata={"example": "Unprocessable Entity"})
    message = fields.String(metadata={"example": "start_date: must be before end_date"})
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "field -> list of messages", "example": {"symbols": ["..."]}},
    )
    request_id = fields.String(
        metadata={"description": "this request's id (also the X-Request-ID header and the logs)"}
    )
    work_requested = fields.Integer(metadata={"description": "422 over a work limit: size asked"})
    work_limit = fields.Integer(metadata={"description": "422 over a work limit: the limit"})
    validation_report = fields.Dict(
        metadata={"description": "422 on stored data with issues: the data validation report"}
    )


ErrorSchema = ApiErrorSchema


def error_body(code: int, message: str, errors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "status": HTTPStatus(code).phrase,
        "message": message,
        "errors": dict(errors or {}),
        "request_id": request_id(),
    }


def fail(
    code: int,
    message: str,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> NoReturn:
    """Stop the request with an error response in the one shape (``extra``: more fields, such
    as the limit a request exceeded; ``headers``: such as ``Retry-After``)."""
    abort(
        code,
        message=message,
        errors=dict(errors or {}),
        headers=dict(headers or {}),
        extra=dict(extra or {}),
    )
    raise AssertionError("unreachable")  # pragma: no cover


def flatten(errors: Any) -> dict[str, Any]:
    """Merge webargs' per-location errors into one field -> messages mapping."""
    if not isinstance(errors, Mapping):
        return {"_request": errors if isinstance(errors, list) else [str(errors)]}
    flat: dict[str, Any] = {}
    for key, value in errors.items():
        if key in LOCATIONS and isinstance(value, Mapping):
            flat.update({str(k): v for k, v in value.items()})
        else:
            flat[str(key)] = value
    return flat


def summary(errors: Mapping[str, Any]) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(m if isinstance(m, str) else str(m) for m in _as_list(messages))
        parts.append(f"{field}: {text}")
    return "; ".join(parts)


def handle_http_exception(error: HTTPException) -> tuple[Response, int]:
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = flatten(data.get("errors") or data.get("messages") or {})
    message = data.get("message") or (summary(errors) if errors else error.description or "")
    response = jsonify({**error_body(code, message, errors), **(data.get("extra") or {})})
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if code == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response, code


def handle_domain_error(error: Exception) -> tuple[Response, int]:
    from engine.errors import DataError, SpecError

    if isinstance(error, SpecError):
        errors = {field: list(msgs) for field, msgs in error.errors.items()}
        code, body = 422, error_body(422, summary(errors), errors)
    else:
        code = 422 if isinstance(error, DataError) else 400
        body = error_body(code, str(error), getattr(error, "errors", None))
    body.update(getattr(error, "extra", None) or {})  # e.g. the validation report of a 422
    return jsonify(body), code


def handle_unavailable(error: Exception) -> tuple[Response, int]:
    log.warning("a store is unreachable: %s", error)
    body = error_body(503, f"service unavailable: {type(error).__name__}; retry shortly")
    return jsonify(body), 503


def handle_unexpected(error: Exception) -> tuple[Response, int]:
    log.exception("unhandled error", exc_info=error)
    body = error_body(500, "internal error; the server log has the details")
    return jsonify(body), 500


def register(app: Flask) -> None:
    """Install the handlers (after flask-smorest's, so these win)."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
    app.register_error_handler(OperationalError, handle_unavailable)
    app.register_error_handler(redis.ConnectionError, handle_unavailable)
    app.register_error_handler(redis.TimeoutError, handle_unavailable)
    try:
        from engine.errors import NautilusError
    except ImportError:  # pragma: no cover - the engine package is part of the project
        return
    app.register_error_handler(NautilusError, handle_domain_error)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        return [f"{k}: {' '.join(map(str, _as_list(v)))}" for k, v in value.items()]
    return [value]
