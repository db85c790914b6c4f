"""What every job request type offers the service, and what reading one may look up.

Each job kind's request type (``BacktestSpec``, ``OptimizationRequest``, ``StressRequest``)
is read by one ``parse_*(payload, resolver)`` function that reports every problem of a body
in one ``SpecError``: field errors, errors of related fields, and the stored data's problems.
The engine does no I/O: the ``Resolver`` (the API's, backed by the database) answers the
look-ups; without one (a worker re-reading a stored request) nothing is looked up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

if TYPE_CHECKING:
    from engine.spec import BacktestSpec

_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 2629746}
_FREQUENCY = re.compile(r"^\s*(\d*)\s*(s|min|m|h|d|w|mo)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DataWindow:
    """Stored bars a request needs: these symbols, at this frequency, over these dates."""

    symbols: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    frequency: str


@dataclass(frozen=True)
class DataCheck:
    """The stored data's problems, under field names, with the validation report."""

    errors: Mapping[str, list[str]] = field(default_factory=dict)
    report: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class StoredBacktest:
    """A backtest a request refers to by id."""

    spec: BacktestSpec | None  # None when its stored spec no longer validates
    status: str
    symbols_count: int


class Resolver(Protocol):
    max_parameter_sets: int  # the most parameter sets one optimization may plan

    def backtest(self, backtest_id: str) -> StoredBacktest | None:
        """The stored backtest ``backtest_id``, or None when there is none."""
        ...

    def check_data(self, window: DataWindow) -> DataCheck:
        """Whether the stored bars of ``window`` are present and usable."""
        ...

    def signal_set_symbols(self, signal_set_id: str) -> tuple[str, ...] | None:
        """The symbols of the caller's signal set ``signal_set_id``, or None when none."""
        ...


@dataclass(frozen=True)
class JobLabels:
    """What a job's row shows and is searched by, besides its request."""

    name: str
    strategy_id: str | None
    backtest_type: str
    symbols_count: int
    cells: int  # work size: parameter sets x bars x symbols (x paths, scenarios)
    acceleration_requested: bool = False
    summary: Mapping[str, Any] | None = None  # what status views read without re-parsing


def data_window(symbols: Sequence[str], start: Any, end: Any, frequency: str) -> DataWindow:
    return DataWindow(tuple(dict.fromkeys(symbols)), start, end, frequency)


def bar_seconds(frequency: str) -> int:
    """Seconds per bar of a frequency such as ``1d``, ``1h``, ``5m``, ``1w`` (``m`` = minutes)."""
    match = _FREQUENCY.match(frequency)
    if not match:
        raise ValueError(f"unknown frequency {frequency!r}")
    count = int(match.group(1) or 1)
    return max(1, count) * _SECONDS[match.group(2).lower()]


def estimate_bars(start: datetime, end: datetime, frequency: str) -> int:
    """Upper estimate of the bars between ``start`` and ``end`` (calendar time, no holidays)."""
    try:
        step = bar_seconds(frequency)
    except ValueError:
        step = _SECONDS["d"]
    return max(1, int((end - start).total_seconds() // step) + 1)
