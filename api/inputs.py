"""Bounds every request meets before a view reads it: a 4xx that says what to fix, never a 500.

- The URL (path and query) may carry no NUL or other control character (400): PostgreSQL
  refuses NUL in text, and no field of ours needs the others.
- A JSON body (any body that starts with ``{`` or ``[``, whatever its declared type, since
  views read JSON leniently) may nest at most ``NAUTILUS_MAX_JSON_DEPTH`` levels, hold strings
  (keys included) of at most ``NAUTILUS_MAX_STRING_LENGTH`` characters, and no control
  character but tab, newline and carriage return (400).
- Its size must stay below ``NAUTILUS_MAX_REQUEST_BYTES`` (bar imports:
  ``NAUTILUS_MAX_IMPORT_BYTES``), checked while it is read, chunked bodies too (413): no more
  than the limit is ever read.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.errors import fail
from workers.settings import Settings

LARGE_BODY_ENDPOINTS = frozenset({"data.import_bars"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_url() -> None:
    """400 for a control character anywhere in the path or the query arguments."""
    parts = [request.path, *request.args.keys(), *request.args.values()]
    if any(_URL_CONTROL.search(part) for part in parts):
        fail(400, "the URL contains a control character (such as NUL); remove it")


def json_problem(value: Any, max_depth: int, max_length: int) -> str | None:
    """What makes a parsed JSON document unacceptable, or None (an iterative walk: a document
    too deep for the limit is never recursed into)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                return f"the JSON body nests deeper than {max_depth} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            if len(item) > max_length:
                return f"a string of the JSON body is longer than {max_length} characters"
            if _TEXT_CONTROL.search(item):
                return "a string of the JSON body contains a control character (such as NUL)"
    return None


def within_bounds(raw: bytes, max_depth: int, max_length: int) -> bool:
    """Whether the raw bytes alone show that a JSON body cannot break a bound (so the walk of
    ``json_problem`` can be skipped): no more brackets than the depth limit, no more bytes than
    the string limit, and no backslash escape or DEL byte, the only ways a control character can
    reach a decoded string (JSON forbids raw ones, which the parser refuses)."""
    return (
        len(raw) <= max_length
        and raw.count(b"{") + raw.count(b"[") <= max_depth
        and b"\\" not in raw
        and b"\x7f" not in raw
    )


def check_body(settings: Settings) -> None:
    """Read the body within its size limit; 400 for a JSON body out of bounds."""
    if request.method not in BODY_METHODS:
        return
    if request.endpoint in LARGE_BODY_ENDPOINTS:
        request.max_content_length = settings.max_import_bytes
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and len(raw) >= limit:
        raise RequestEntityTooLarge()  # a chunked body, which Werkzeug cuts at the limit
    if raw.lstrip()[:1] not in (b"{", b"["):
        return
    try:  # parsed once: the view reads the same cached document
        document = request.get_json(force=True, silent=True)
    except RecursionError:
        fail(400, f"the JSON body nests deeper than {settings.max_json_depth} levels")
    if document is None or within_bounds(raw, settings.max_json_depth, settings.max_string_length):
        return  # not JSON after all (the view answers with its own message), or in bounds
    problem = json_problem(document, settings.max_json_depth, settings.max_string_length)
    if problem:
        fail(400, problem, {"body": [problem]})


def install(app: Flask, settings: Settings) -> None:
    app.before_request(check_url)
    app.before_request(lambda: check_body(settings))
