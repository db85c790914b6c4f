"""What every job-creating POST reads from the request and how it answers (202 + Location)."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request

from api.errors import fail

MAX_IDEMPOTENCY_KEY = 200
MAX_PAGE = 1_000_000
Body = TypeVar("Body")  # the answer: a document for the view's schema to dump, or a Response


def json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object (400 otherwise)."""
    payload = request.get_json(silent=True, force=True)
    if not isinstance(payload, dict):
        fail(400, "the request body must be a JSON object", {"body": ["expected a JSON object"]})
    return payload


def idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header, 1 to 200 characters, if given."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        fail(400, "Idempotency-Key must be 1 to 200 characters", {"Idempotency-Key": ["length"]})
    return key


def accepted(body: Body, location: str, created: bool) -> tuple[Body, int, dict[str, str]]:
    """202 with the job's URL; a replayed idempotent request says so in a header."""
    headers = {"Location": location}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return body, 202, headers


def within_page_limit(args: dict[str, Any]) -> dict[str, Any]:
    """Query arguments whose ``page_size`` is within this service's ``max_page_size``."""
    from api.context import service

    limit = service().settings.max_page_size
    if args["page_size"] > limit:
        message = f"must be at most {limit} (NAUTILUS_MAX_PAGE_SIZE), got {args['page_size']}"
        fail(422, f"page_size: {message}", {"page_size": [message]})
    return args
