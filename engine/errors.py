"""One error hierarchy for the domain; the API maps it to HTTP statuses centrally."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def did_you_mean(name: object, choices: Iterable[str], n: int = 1) -> str:
    """`` Did you mean 'x'?`` (or ``'x' or 'y'``) for the up to ``n`` closest of ``choices`` to a
    misspelt ``name``, else ""."""
    close = difflib.get_close_matches(str(name), sorted(choices), n=n)
    return f" Did you mean {' or '.join(map(repr, close))}?" if close else ""


class NautilusError(Exception):
    """Base of every error the service raises on purpose."""

    code = "error"


class SpecError(NautilusError):
    """A request or run spec is invalid; ``errors`` maps each field to what is wrong with it."""

    code = "invalid_spec"

    def __init__(self, errors: dict[str, list[str]], extra: dict[str, Any] | None = None):
        self.errors = errors
        self.extra = extra or {}  # more keys for the API's error body (a validation report)
        summary = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        super().__init__(summary)

    @classmethod
    def single(cls, field: str, message: str) -> SpecError:
        return cls({field: [message]})


class DataError(NautilusError):
    """Market data is missing or unusable for the requested run."""

    code = "data_error"


class Cancelled(NautilusError):
    """Raised from a progress callback to stop a run cooperatively."""

    code = "cancelled"
