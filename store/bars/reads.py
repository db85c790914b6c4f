"""Reading bars: every requested symbol's bars in one query, as arrays for the engine.

On PostgreSQL the query returns one row per symbol whose columns are ``array_send`` blobs
(binary arrays of times and prices), which numpy reads in place: no Python object or protocol
message per bar. The dataset version of what was read is a hash of each
series' version (from ``bar_series``, read in the same snapshot), the frequency and the window:
it changes whenever any of those series' bars changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from engine.data.quality import SymbolBars
from engine.market import FIELDS, Market
from store.bars.models import Bar, BarSeries
from store.bars.writes import PG_EPOCH_US

SOURCE = "database"


@dataclass(frozen=True)
class SeriesInfo:
    """One stored series: how many bars, from when to when, on which calendar, which version."""

    symbol: str
    frequency: str
    exchange: str
    bar_count: int
    first_ts: datetime | None
    last_ts: datetime | None
    source: str
    version: str


@dataclass(frozen=True)
class StoredBars:
    """Bars of several symbols in long form, sorted by (symbol column, time)."""

    symbols: tuple[str, ...]
    column: np.ndarray  # (N,) int: index into symbols
    timestamps: np.ndarray  # (N,) datetime64[ns], naive UTC
    values: dict[str, np.ndarray]  # field -> (N,) float64
    frequency: str
    version: str

    def symbol_bars(self, symbol: str, exchange: str) -> SymbolBars:
        col = self.symbols.index(symbol)
        lo, hi = np.searchsorted(self.column, [col, col + 1])
        parts = {f: self.values[f][lo:hi] for f in FIELDS}
        return SymbolBars(symbol, self.timestamps[lo:hi], exchange=exchange, **parts)

    def to_market(self) -> Market:
        """Aligned ``(T, S)`` arrays on the union of the symbols' bar times."""
        times = np.sort(pd.unique(self.timestamps))
        rows = np.searchsorted(times, self.timestamps)
        arrays = {}
        for name in FIELDS:
            grid = np.full((len(times), len(self.symbols)), np.nan)
            grid[rows, self.column] = self.values[name]
            arrays[name] = grid
        return Market(
            timestamps=times.astype("datetime64[ns]"),
            symbols=self.symbols,
            open=arrays["open"],
            high=arrays["high"],
            low=arrays["low"],
            close=arrays["close"],
            volume=arrays["volume"],
            frequency=self.frequency,
            source=SOURCE,
            version=self.version,
        )


@contextmanager
def snapshot(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session whose statements all see one snapshot (REPEATABLE READ)."""
    with factory() as session:
        options = {}
        if session.get_bind().dialect.name == "postgresql":
            options = {"isolation_level": "REPEATABLE READ"}
        session.connection(execution_options=options)
        yield session


def list_series(
    session: Session, symbols: Sequence[str] | None = None, frequency: str | None = None
) -> list[SeriesInfo]:
    """Stored series, by symbol then frequency, optionally only some symbols or a frequency."""
    query = sa.select(BarSeries).order_by(BarSeries.symbol, BarSeries.frequency)
    if symbols is not None:
        query = query.where(BarSeries.symbol.in_(list(symbols)))
    if frequency is not None:
        query = query.where(BarSeries.frequency == frequency)
    return [
        SeriesInfo(
            r.symbol,
            r.frequency,
            r.exchange,
            r.bar_count,
            r.first_ts,
            r.last_ts,
            r.source,
            r.version,
        )
        for r in session.scalars(query)
    ]


def dataset_version(
    infos: Sequence[SeriesInfo], symbols: Sequence[str], frequency: str, start, end
) -> str:
    """16 hex digits identifying the bars of ``symbols`` in the window (missing ones count)."""
    by_symbol = {i.symbol: i.version for i in infos}
    parts = [frequency, str(pd.Timestamp(start)), str(pd.Timestamp(end))]
    parts += [f"{s}={by_symbol.get(s, '-')}" for s in symbols]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def load_bars(
    session: Session,
    symbols: Sequence[str],
    frequency: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    infos: Sequence[SeriesInfo] | None = None,
) -> StoredBars:
    """The bars of ``symbols`` with ``start <= ts <= end``, read in one query."""
    symbols = tuple(dict.fromkeys(symbols))
    if infos is None:
        infos = list_series(session, symbols, frequency)
    version = dataset_version(infos, symbols, frequency, start, end)
    bounds = (_aware(start), _aware(end))
    if session.get_bind().dialect.name == "postgresql":
        column, stamps, values = _read_postgresql(session, symbols, frequency, *bounds)
    else:
        column, stamps, values = _read_portable(session, symbols, frequency, *bounds)
    if not _sorted(column, stamps):
        order = np.lexsort((stamps, column))
        column, stamps = column[order], stamps[order]
        values = {k: v[order] for k, v in values.items()}
    return StoredBars(symbols, column, stamps, values, frequency, version)


_PACKED = """
SELECT (k.idx - 1)::int4, array_send(array_agg(b.ts)), array_send(array_agg(b.open)),
       array_send(array_agg(b.high)), array_send(array_agg(b.low)),
       array_send(array_agg(b.close)), array_send(array_agg(b.volume))
FROM bars b JOIN unnest(%(symbols)s::text[]) WITH ORDINALITY AS k(symbol, idx)
    ON b.symbol = k.symbol
WHERE b.frequency = %(frequency)s AND b.ts >= %(start)s AND b.ts <= %(end)s
GROUP BY k.idx
"""
_ARRAY_HEADER = 20  # array_send of a 1-D array without NULLs: ndim, flags, oid, size, lbound
_INT8 = np.dtype([("len", ">i4"), ("value", ">i8")])
_FLOAT8 = np.dtype([("len", ">i4"), ("value", ">f8")])


def _read_postgresql(session, symbols, frequency, start, end):
    """One row per symbol, each column an ``array_send`` blob that numpy reads in place.

    The aggregates of one group see its rows in the same order, so the arrays line up; the
    caller sorts by time. Packing avoids one protocol message (and Python call) per bar.
    """
    raw = session.connection().connection.driver_connection
    params = {"symbols": list(symbols), "frequency": frequency, "start": start, "end": end}
    with raw.cursor(binary=True) as cur:
        cur.execute(_PACKED, params)
        rows = sorted(cur.fetchall(), key=lambda row: row[0])
    if not rows:
        return np.empty(0, np.int64), np.empty(0, "datetime64[ns]"), _empty_values()
    column = np.concatenate([np.full(_count(r[1]), r[0], dtype=np.int64) for r in rows])
    micros = np.concatenate([_unpack(r[1], _INT8) for r in rows]).astype(np.int64)
    stamps = ((micros + PG_EPOCH_US) * 1000).view("datetime64[ns]")
    values = {
        f: np.concatenate([_unpack(r[i + 2], _FLOAT8) for r in rows]).astype(np.float64)
        for i, f in enumerate(FIELDS)
    }
    return column, stamps, values


def _sorted(column: np.ndarray, stamps: np.ndarray) -> bool:
    """Whether rows are in (column, time) order already (an O(n) check, no sort)."""
    step, ticks = np.diff(column), np.diff(stamps.view(np.int64))
    return bool(np.all((step > 0) | ((step == 0) & (ticks >= 0))))


def _unpack(blob: bytes, dtype: np.dtype) -> np.ndarray:
    return np.frombuffer(blob, dtype=dtype, offset=_ARRAY_HEADER)["value"]


def _count(blob: bytes) -> int:
    return (len(blob) - _ARRAY_HEADER) // _INT8.itemsize


def _empty_values() -> dict[str, np.ndarray]:
    return {f: np.empty(0, np.float64) for f in FIELDS}


def _read_portable(session, symbols, frequency, start, end):
    columns = [getattr(Bar, f) for f in FIELDS]
    rows = session.execute(
        sa.select(Bar.symbol, Bar.ts, *columns).where(
            Bar.frequency == frequency, Bar.symbol.in_(symbols), Bar.ts >= start, Bar.ts <= end
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["symbol", "ts", *FIELDS])
    index = {s: i for i, s in enumerate(symbols)}
    column = frame["symbol"].map(index).to_numpy(dtype=np.int64)
    stamps = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None).to_numpy("M8[ns]")
    return column, stamps, {f: frame[f].to_numpy(dtype=np.float64) for f in FIELDS}


def _aware(ts) -> datetime:
    ts = pd.Timestamp(ts)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()
