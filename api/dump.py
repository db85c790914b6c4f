"""``Schema.dump`` compiled once per schema, for the service's most frequent responses (a status
read, a submit's answer): marshmallow's per-field machinery (accessor, ``serialize``,
``_serialize``) cost about 80 us of a status read's 1.3 ms under gevent, for 22 fields that are
mostly plain values.

A field of exactly one of the ``PLAIN`` types is read (by attribute, or by key for a dict) and
converted as that type's ``_serialize`` converts (None stays None); any other field
(timestamps, functions, nested schemas, mappings) serialises itself through marshmallow. The
output equals ``schema.dump`` (tests/unit/api/test_dump.py), so the schema stays the one
description of the response, OpenAPI included.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields
from marshmallow.utils import ensure_text_type

PLAIN: dict[type[fields.Field], Callable[[Any], Any]] = {
    fields.String: ensure_text_type,
    fields.Integer: int,
    fields.Float: float,
}
"""What these fields' ``_serialize`` does to a value other than None (numbers: not as_string)."""
Step = Callable[[Any], Any]


def compile_dump(schema: Schema, by_key: bool = False) -> Callable[[Any], dict[str, Any]]:
    """``schema.dump`` of one object whose values are its attributes (a row, a model), or its
    items (``by_key``: a dict holding every field)."""
    read = operator.getitem if by_key else getattr
    steps = [
        (field.data_key or name, _step(name, field, read))
        for name, field in schema.dump_fields.items()
    ]

    def dump(obj: Any) -> dict[str, Any]:
        return {key: step(obj) for key, step in steps}

    return dump


def _step(name: str, field: fields.Field, read: Callable[[Any, str], Any]) -> Step:
    attribute = field.attribute or name
    convert = PLAIN.get(type(field))
    if convert is None or getattr(field, "as_string", False):
        return lambda obj: field.serialize(attribute, obj)  # marshmallow reads either kind

    def plain(obj: Any) -> Any:
        value = read(obj, attribute)
        return None if value is None else convert(value)

    return plain
