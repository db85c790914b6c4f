"""Request fields declared once: how each is read and checked, and how OpenAPI documents it.

A request type lists its ``Field``s; ``read_fields`` reads them with a ``FieldChecker`` (every
problem recorded under the field's name) and ``object_schema`` turns the same list into the
JSON schema the API publishes, so the documentation cannot drift from the validation.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine import exits
from engine.spec_fields import FieldChecker

SYMBOL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_^=]{0,31}$")
NO_DEFAULT = dataclasses.MISSING


@dataclass(frozen=True)
class Field:
    """One field of a request body.

    ``kind`` names the reader (see ``READERS``); ``low``/``high`` bound numbers (and counts of
    symbols); ``choices`` are the allowed values of a choice (or the keys of a limits object);
    ``schema`` replaces the generated JSON schema of a composite field.
    """

    name: str
    kind: str
    description: str = ""
    required: bool = False
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    max_length: int = 200
    choices: tuple[str, ...] = ()
    example: Any = None
    schema: Mapping[str, Any] | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """``low`` and ``high`` of a number field, which declares both."""
        assert self.low is not None and self.high is not None, self.name
        return self.low, self.high

    def read(self, check: FieldChecker) -> Any:
        return READERS[self.kind](check, self)

    def json_schema(self, default: Any = NO_DEFAULT) -> dict[str, Any]:
        out = dict(self.schema) if self.schema is not None else SCHEMAS[self.kind](self)
        if self.description:
            out["description"] = self.description
        if default is not NO_DEFAULT and not callable(default):
            out["default"] = _json_default(default)
        if self.example is not None:
            out["example"] = self.example
        return out


def read_fields(check: FieldChecker, fields: Iterable[Field]) -> dict[str, Any]:
    """Every field's value (its default when absent); problems recorded on ``check``."""
    return {f.name: f.read(check) for f in fields}


def object_schema(
    fields: Iterable[Field], defaults: Mapping[str, Any], **extra: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON schema of a body made of ``fields`` (and ``extra`` hand-written properties)."""
    fields = list(fields)
    properties = {f.name: f.json_schema(defaults.get(f.name, NO_DEFAULT)) for f in fields}
    properties.update({name: dict(schema) for name, schema in extra.items()})
    required = [f.name for f in fields if f.required]
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


READERS: dict[str, Callable[[FieldChecker, Field], Any]] = {
    "text": lambda c, f: c.text(f.name, f.required, f.max_length),
    "timestamp": lambda c, f: c.timestamp(f.name),
    "choice": lambda c, f: c.choice(f.name, f.choices),
    "timezone": lambda c, f: c.timezone(f.name),
    "number": lambda c, f: c.number(f.name, *f.bounds, f.open_low),
    "integer": lambda c, f: c.integer(f.name, int(f.low or 0), int(f.high or 0)),
    "flag": lambda c, f: c.flag(f.name),
    "strings": lambda c, f: c.strings(f.name),
    "symbols": lambda c, f: c.symbols(f.name, SYMBOL_PATTERN, int(f.high or 0)),
    "symbol": lambda c, f: c.optional_symbol(f.name, SYMBOL_PATTERN),
    "mapping": lambda c, f: c.mapping(f.name),
    "document": lambda c, f: c.document(f.name),
    "limits": lambda c, f: c.limits(f.name, f.choices),
    "sectors": lambda c, f: c.sectors(f.name),
    "exits": lambda c, f: exits.read_exits(c, f.name),
}

_SYMBOL = {"type": "string", "pattern": SYMBOL_PATTERN.pattern}


def _number(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number", "minimum": f.low, "maximum": f.high}
    if f.open_low:
        out["exclusiveMinimum"] = True
    return out


SCHEMAS: dict[str, Callable[[Field], dict[str, Any]]] = {
    "text": lambda f: {"type": "string", "maxLength": f.max_length, "minLength": int(f.required)},
    "timestamp": lambda f: {"type": "string", "format": "date-time"},
    "choice": lambda f: {"type": "string", "enum": list(f.choices)},
    "timezone": lambda f: {"type": "string", "description": "an IANA time zone"},
    "number": _number,
    "integer": lambda f: {"type": "integer", "minimum": f.low, "maximum": f.high},
    "flag": lambda f: {"type": "boolean"},
    "strings": lambda f: {"type": "array", "items": {"type": "string"}},
    "symbols": lambda f: {
        "type": "array",
        "items": _SYMBOL,
        "minItems": 1,
        "maxItems": int(f.high or 0),
        "uniqueItems": True,
    },
    "symbol": lambda f: {**_SYMBOL, "nullable": True},
    "mapping": lambda f: {"type": "object"},
    "document": lambda f: {"type": "object", "nullable": True},
    "limits": lambda f: {
        "type": "object",
        "properties": {
            name: {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10}
            for name in f.choices
        },
        "additionalProperties": False,
    },
    "sectors": lambda f: {
        "type": "object",
        "additionalProperties": {"type": "string", "minLength": 1},
    },
    "exits": lambda f: exits.json_schema(),
}
