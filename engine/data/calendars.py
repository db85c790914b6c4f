"""Trading calendars: which bars an exchange is expected to have, from ``exchange_calendars``.

Expected bars are never a hand-written holiday list: each exchange's sessions, early closes and
holidays come from the ``exchange_calendars`` library (ISO 10383 MIC codes such as ``XNYS``,
``XNAS``, ``XLON``, ``XTKS``; aliases such as ``NYSE`` resolve too).

Conventions. Daily bars are labelled 00:00 UTC of their session date, as the engine and the
synthetic source stamp them. Intraday bars are stamped at their opening time in UTC and lie on
the grid ``open, open + step, ...`` of each session; the last bar of a session may be shorter
(``1h`` bars on a 09:30-16:00 session end with a 30-minute bar), and early closes shorten the
session. All times returned here are tz-naive UTC ``datetime64[ns]``, like ``Market``.
"""

from __future__ import annotations

from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from engine.errors import SpecError, did_you_mean

DEFAULT_EXCHANGE = "XNYS"
EARLIEST_YEAR = 1990  # calendars are built from here (or earlier when data is older)
BAR_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "1d": 1440}
_NS_PER_DAY = 86_400 * 10**9


def resolve_exchange(name: str | None) -> str:
    """The canonical calendar name for ``name`` (default XNYS), or a SpecError with a hint."""
    if not name:
        return DEFAULT_EXCHANGE
    names = xcals.get_calendar_names(include_aliases=True)
    key = name.strip().upper()
    if key in names:
        return xcals.resolve_alias(key)
    hint = did_you_mean(key, names, n=3) or " Use a MIC code such as XNYS."
    raise SpecError.single("exchange", f"unknown exchange calendar {name!r}.{hint}")


@lru_cache(maxsize=32)
def _calendar(name: str, start_year: int) -> xcals.ExchangeCalendar:
    return xcals.get_calendar(name, start=f"{start_year}-01-01")


def calendar(exchange: str | None, start: pd.Timestamp | None = None) -> xcals.ExchangeCalendar:
    """The cached calendar of ``exchange`` covering ``start`` (built once per process)."""
    year = EARLIEST_YEAR if start is None else min(EARLIEST_YEAR, _naive(start).year)
    return _calendar(resolve_exchange(exchange), year)


def expected_bars(
    exchange: str | None, start: pd.Timestamp, end: pd.Timestamp, frequency: str = "1d"
) -> pd.DatetimeIndex:
    """Stamps of every bar the exchange should have with ``start <= stamp <= end``."""
    if frequency not in BAR_MINUTES:
        raise SpecError.single("frequency", f"unknown frequency {frequency!r}")
    return _expected(resolve_exchange(exchange), _naive(start), _naive(end), frequency)


@lru_cache(maxsize=256)
def _expected(
    exchange: str, start: pd.Timestamp, end: pd.Timestamp, frequency: str
) -> pd.DatetimeIndex:
    cal = calendar(exchange, start)
    first, last = cal.first_session, cal.last_session
    lo, hi = max(start.normalize(), first), min(end.normalize(), last)
    if lo > hi:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    if frequency == "1d":
        sessions = cal.sessions_in_range(lo, hi)
        stamps = pd.DatetimeIndex(sessions.tz_localize(None) if sessions.tz else sessions)
    else:
        period = f"{BAR_MINUTES[frequency]}min"
        index = cal.trading_index(lo, hi, period, intervals=False, closed="left", force=True)
        stamps = pd.DatetimeIndex(index).tz_convert("UTC").tz_localize(None)
    stamps = stamps.as_unit("ns")
    return stamps[(stamps >= start) & (stamps <= end)]


def session_labels(stamps: np.ndarray, exchange: str | None) -> np.ndarray:
    """Daily bar stamps (naive UTC ns) as session dates at 00:00 UTC.

    A stamp already at midnight UTC is a date label and kept; any other time (a provider that
    stamps daily bars at the open, say) is read in the exchange's time zone and its date taken.
    """
    stamps = np.asarray(stamps, dtype="datetime64[ns]")
    ints = stamps.view("int64")
    if len(ints) == 0 or not (ints % _NS_PER_DAY).any():
        return stamps
    tz = calendar(exchange).tz
    local = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    dates = local.normalize().to_numpy(dtype="datetime64[ns]")
    return np.where(ints % _NS_PER_DAY == 0, stamps, dates)


def _naive(ts: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
