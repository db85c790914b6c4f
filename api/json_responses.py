"""JSON answers written by orjson: the submit's answer, status reads and result documents.

Flask's provider writes them with the standard library: 5.8 us for a submit's answer's JSON
text (0.3 with orjson), and a result document's writing grows with its size (curves and
trades). What differs from the standard library's output:
non-ASCII characters are written as UTF-8 instead of ``\\uXXXX`` escapes (the same JSON), and a
NaN or infinity becomes ``null`` (the standard library writes ``NaN``, which is not JSON).
Dates and times still go through Flask's ``default`` (HTTP dates), and a document orjson
refuses (an integer beyond 64 bits, a dict key of another type) falls back to Flask's writer.
Reading requests stays with the standard library (``loads``): it accepts what clients sent
before, and our validators answer for the values.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response as BaseResponse

OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_APPEND_NEWLINE


class OrjsonResponses(DefaultJSONProvider):
    """Flask's JSON provider with ``response`` (``jsonify``, flask-smorest's answers) in orjson."""

    def response(self, *args: Any, **kwargs: Any) -> BaseResponse:
        obj = self._prepare_response_obj(args, kwargs)
        options = OPTIONS
        if self.sort_keys:
            options |= orjson.OPT_SORT_KEYS
        if (self.compact is None and self._app.debug) or self.compact is False:
            options |= orjson.OPT_INDENT_2
        try:
            body = orjson.dumps(obj, default=self.default, option=options)
        except orjson.JSONEncodeError:
            return super().response(obj)
        response_class = cast(type[Response], self._app.response_class)  # Flask's, not sansio's
        return response_class(body, mimetype=self.mimetype)
