"""Job ids: sortable, collision-free ULIDs behind a readable prefix (``bt_``, ``opt_``, ``st_``)."""

from __future__ import annotations

from ulid import ULID

PREFIXES = {"backtest": "bt", "optimization": "opt", "stress_test": "st"}


def new_id(kind: str) -> str:
    """A new id for a job of ``kind``, e.g. ``bt_01JD0X3V4S9M2C7QK3Y1T8F6ZP``."""
    return f"{PREFIXES[kind]}_{ULID()}"


def looks_like_id(value: str) -> bool:
    """Whether ``value`` has the shape of one of our ids (a cheap check before a lookup)."""
    prefix, sep, rest = value.partition("_")
    if not sep or prefix not in PREFIXES.values() or len(rest) != 26:
        return False
    try:
        ULID.from_str(rest)
    except ValueError:
        return False
    return True
