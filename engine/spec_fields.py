"""Field-by-field reading of a request body: each reader checks one field and records errors."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from engine.errors import SpecError, did_you_mean
from engine.numbers import finite

EARLIEST_DATE = pd.Timestamp("1900-01-01", tz="UTC")
LATEST_DATE = pd.Timestamp("2100-12-31", tz="UTC")
DATE_SPAN = "1900-01-01 and 2100-12-31"
"""Dates a request may name: the span exchange calendars and stored bars can cover."""


@functools.cache
def _public_fields(cls: type) -> tuple[dataclasses.Field, ...]:
    """A request dataclass's public fields, found once per class (every submit reads them)."""
    return tuple(f for f in dataclasses.fields(cls) if not f.metadata.get("internal"))


def dataclass_defaults(cls: type) -> dict[str, Any]:
    """The defaults of a request dataclass's public fields (factories called)."""
    out = {}
    for f in _public_fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


class FieldChecker:
    """Reads fields of ``payload`` with the defaults of ``target`` (a dataclass)."""

    def __init__(
        self,
        payload: Mapping[str, Any],
        target: type | None = None,
        *,
        defaults: Mapping[str, Any] | None = None,
        known: Iterable[str] = (),
    ):
        """``target``: a dataclass whose fields are the known fields (``internal`` metadata
        excluded) and give the defaults; or ``defaults`` and ``known`` given directly."""
        self.payload = payload
        self.errors: dict[str, list[str]] = {}
        self.extra: dict[str, Any] = {}
        self.defaults = dict(defaults or {})
        self.known = set(known) | set(self.defaults)
        if target is not None:
            self.defaults = dataclass_defaults(target) | self.defaults
            self.known |= {f.name for f in _public_fields(target)}

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def merge(self, exc: SpecError, prefix: str = "") -> None:
        for field, messages in exc.errors.items():
            self.errors.setdefault(prefix + field, []).extend(messages)
        self.extra.update(exc.extra)

    def data_problems(self, found: Any) -> None:
        """Record an ``engine.requests.DataCheck``: its errors and its validation report."""
        for field, messages in found.errors.items():
            self.errors.setdefault(field, []).extend(messages)
        if found.errors and found.report is not None:
            self.extra["validation_report"] = dict(found.report)

    def ok(self, *fields: str) -> bool:
        """Whether none of ``fields`` has an error (checks of their relations may run)."""
        return not any(f in self.errors for f in fields)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise SpecError(self.errors, self.extra)

    def unknown_fields(self) -> None:
        for key in self.payload:
            if key not in self.known:
                hint = did_you_mean(key, self.known)
                self.error(str(key), f"unknown field.{hint}")

    def _get(self, field: str, required: bool = False) -> Any:
        if field in self.payload and self.payload[field] is not None:
            return self.payload[field]
        if required or field not in self.defaults:
            self.error(field, "is required")
            return None
        return self.defaults[field]

    def text(self, field: str, required: bool = False, max_length: int = 200) -> str | None:
        value = self._get(field, required)
        if value is None:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(field, "must be a non-empty string")
        elif len(value) > max_length:
            self.error(field, f"must be at most {max_length} characters, got {len(value)}")
        return value

    def timestamp(self, field: str) -> pd.Timestamp | None:
        value = self._get(field, required=True)
        if value is None:
            return None
        ts = None
        if isinstance(value, str):  # numbers would be read as epoch nanoseconds
            try:
                ts = pd.Timestamp(value)
            except (ValueError, TypeError):
                ts = None
        if ts is None or ts is pd.NaT:
            self.error(field, f"must be an ISO 8601 date such as 2024-01-31, got {value!r}")
            return None
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        if not EARLIEST_DATE <= ts <= LATEST_DATE:
            self.error(field, f"must lie between {DATE_SPAN}, got {value!r}")
            return None
        return ts

    def choice(self, field: str, choices: Sequence[str]) -> str | None:
        value = self._get(field)
        if value not in choices:
            self.error(field, f"must be one of {list(choices)}, got {value!r}")
        return value

    def timezone(self, field: str) -> str | None:
        value = self._get(field)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            self.error(
                field,
                f"must be an IANA time zone such as 'UTC' or 'America/New_York', got {value!r}",
            )
        return value

    def number(self, field: str, low: float, high: float, open_low: bool = False) -> float | None:
        value = self._get(field)
        if not finite(value):
            self.error(field, f"must be a number, got {value!r}")
            return None
        too_low = value <= low if open_low else value < low
        if too_low or value > high:
            bound = f"greater than {low}" if open_low else f"at least {low}"
            self.error(field, f"must be {bound} and at most {high}, got {value!r}")
        return float(value)

    def integer(self, field: str, low: int, high: int) -> int | None:
        value = self._get(field)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.error(field, f"must be a whole number from {low} to {high}, got {value!r}")
            return None
        return value

    def flag(self, field: str) -> bool | None:
        value = self._get(field)
        if not isinstance(value, bool):
            self.error(field, f"must be true or false, got {value!r}")
        return value

    def strings(self, field: str) -> tuple[str, ...]:
        value = self._get(field)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            self.error(field, "must be a list of strings")
            return ()
        return tuple(value)

    def symbols(self, field: str, pattern: re.Pattern, limit: int) -> tuple[str, ...]:
        value = self._get(field, required=True)
        if value is None:
            return ()
        if not isinstance(value, list | tuple) or not value:
            self.error(field, "must be a non-empty list of symbols such as ['SPY', 'QQQ']")
            return ()
        bad = [s for s in value if not isinstance(s, str) or not pattern.match(s)]
        if bad:
            self.error(field, f"has invalid symbols {bad[:5]}: use letters, digits and .-_^=")
        dupes = sorted({s for s in value if isinstance(s, str) and value.count(s) > 1})
        if dupes:
            self.error(field, f"lists {dupes} more than once")
        if len(value) > limit:
            self.error(field, f"has {len(value)} symbols; at most {limit} are allowed")
        return tuple(value)

    def optional_symbol(self, field: str, pattern: re.Pattern) -> str | None:
        value = self._get(field)
        if value is not None and (not isinstance(value, str) or not pattern.match(value)):
            self.error(field, f"must be a symbol such as 'SPY', got {value!r}")
        return value

    def mapping(self, field: str) -> dict[str, Any]:
        value = self._get(field)
        if value is None and field in self.errors:  # missing: already reported as required
            return {}
        if not isinstance(value, Mapping):
            self.error(field, "must be an object of name: value pairs")
            return {}
        return dict(value)

    def document(self, field: str) -> dict[str, Any] | None:
        """An optional JSON object (absent or null: None), read further by its own parser."""
        value = self._get(field)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.error(field, "must be a JSON object")
            return None
        return dict(value)

    def limits(self, field: str, names: Sequence[str]) -> dict[str, float]:
        value = self.mapping(field)
        out: dict[str, float] = {}
        for key, limit in value.items():
            name = f"{field}.{key}"
            if key not in names:
                self.error(name, f"unknown risk limit; valid limits are {list(names)}")
            elif (
                isinstance(limit, bool) or not isinstance(limit, int | float) or not 0 < limit <= 10
            ):
                self.error(name, f"must be a fraction greater than 0 and at most 10, got {limit!r}")
            else:
                out[key] = float(limit)
        return out

    def sectors(self, field: str) -> dict[str, str]:
        value = self.mapping(field)
        bad = [k for k, v in value.items() if not isinstance(v, str) or not v]
        if bad:
            self.error(field, f"must map each symbol to a sector name; bad entries for {bad[:5]}")
        return value
