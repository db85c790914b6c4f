"""``/session``: the dashboard's browser login.

A browser cannot put a header on a page link or an ``EventSource``, so the dashboard posts the
key once to ``POST /session``, which stores it in an HttpOnly, SameSite=Strict cookie (scripts
cannot read it, other sites cannot make the browser send it); ``DELETE /session`` forgets it.
Scripts and the CLI send the key as a header instead and never need this.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import COOKIE, caller, service_cache, unauthorized
from api.errors import ErrorSchema

blp = Blueprint("session", __name__, description="Browser login for the dashboard")


class LoginSchema(Schema):
    api_key = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CallerSchema(Schema):
    owner = fields.String()
    role = fields.String(metadata={"enum": ["admin", "member"]})
    key_id = fields.String()


@blp.route("/session", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, CallerSchema)
@blp.alt_response(401, schema=ErrorSchema)
@blp.alt_response(422, schema=ErrorSchema)
def login(args: dict[str, Any]) -> Response:
    """Check a key and keep it in an HttpOnly session cookie for this browser."""
    principal = service_cache().principal(args["api_key"])
    if principal is None:
        unauthorized("the API key is not valid (malformed, unknown or revoked)")
    response = jsonify(CallerSchema().dump(principal))
    response.set_cookie(
        COOKIE,
        args["api_key"],
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
        path="/",
    )
    return response


@blp.route("/session", methods=["GET"])
@blp.response(200, CallerSchema)
@blp.alt_response(401, schema=ErrorSchema)
def whoami() -> Any:
    """The caller the request's key (or session cookie) identifies."""
    return caller()


@blp.route("/session", methods=["DELETE"])
@blp.response(204)
def logout() -> Response:
    """Forget this browser's session cookie."""
    response = Response(status=204)
    response.delete_cookie(COOKIE, path="/", samesite="Strict", httponly=True)
    return response
