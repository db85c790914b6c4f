"""Writing bars: bulk upserts with counts, all-or-nothing, and series versions kept in step.

On PostgreSQL, series not stored yet are written by one binary ``COPY`` straight into
``bars``; rows of stored series go through a binary ``COPY`` into a temporary table and one
``INSERT ... ON CONFLICT DO UPDATE`` that skips identical rows and returns how many were
inserted and updated per symbol; the embedded SQLite compares with the stored rows
and upserts the new and changed ones. Either way it all happens in the caller's transaction,
so a failure leaves nothing half-written. Every series that gained or changed a bar gets a new
``version`` (a ULID) in ``bar_series``, which dataset versions of markets are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session
from ulid import ULID

from engine.data.calendars import DEFAULT_EXCHANGE
from engine.errors import DataError
from engine.market import FIELDS
from store.bars.models import Bar, BarSeries
from store.db import dialect_insert
from store.models import utcnow

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"
PG_EPOCH_US = 946_684_800 * 10**6  # 2000-01-01 in Unix microseconds
STAGE_DTYPE = np.dtype(
    [("n", ">i2"), ("k_len", ">i4"), ("k", ">i4"), ("ts_len", ">i4"), ("ts", ">i8")]
    + [item for f in FIELDS for item in ((f"{f}_len", ">i4"), (f, ">f8"))]
)


@dataclass
class LoadCounts:
    """What an upsert did, per symbol and in total."""

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(self, k).values()) for k in ("inserted", "updated", "unchanged")}


def upsert_bars(
    session: Session,
    frame: pd.DataFrame,
    frequency: str,
    source: str,
    exchange: str | None = None,
) -> LoadCounts:
    """Insert or update ``frame``'s bars (``symbol``, ``ts`` naive UTC, OHLCV columns)."""
    symbols = sorted(frame["symbol"].unique().tolist())
    if not symbols:
        return LoadCounts()
    try:
        if session.get_bind().dialect.name == "postgresql":
            counts = _upsert_postgresql(session, frame, symbols, frequency, source)
        else:
            counts = _upsert_portable(session, frame, frequency, source)
    except (sa.exc.IntegrityError, psycopg.IntegrityError) as exc:
        detail = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise DataError(f"the database refused the bars, nothing was written: {detail}") from exc
    for symbol in symbols:
        staged = int((frame["symbol"] == symbol).sum())
        done = counts.inserted.get(symbol, 0) + counts.updated.get(symbol, 0)
        counts.unchanged[symbol] = staged - done
    changed = [s for s in symbols if counts.inserted.get(s) or counts.updated.get(s)]
    counts.versions = refresh_series(session, changed, frequency, source, exchange)
    return counts


def refresh_series(
    session: Session, symbols: list[str], frequency: str, source: str, exchange: str | None
) -> dict[str, str]:
    """Recount the series of ``symbols`` and give each a new version; returns the versions."""
    if not symbols:
        return {}
    stats = session.execute(
        sa.select(Bar.symbol, sa.func.count(), sa.func.min(Bar.ts), sa.func.max(Bar.ts))
        .where(Bar.frequency == frequency, Bar.symbol.in_(symbols))
        .group_by(Bar.symbol)
    ).all()
    version, now = str(ULID()), utcnow()
    rows = [
        {
            "symbol": symbol,
            "frequency": frequency,
            "exchange": exchange or DEFAULT_EXCHANGE,
            "bar_count": count,
            "first_ts": first,
            "last_ts": last,
            "source": source,
            "version": version,
            "updated_at": now,
        }
        for symbol, count, first, last in stats
    ]
    stmt = dialect_insert(session, BarSeries.__table__).values(rows)
    keep = {"bar_count", "first_ts", "last_ts", "source", "version", "updated_at"}
    keep |= {"exchange"} if exchange else set()
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["symbol", "frequency"],
            set_={k: stmt.excluded[k] for k in keep},
        )
    )
    return {str(row["symbol"]): version for row in rows}


# --- PostgreSQL: binary COPY into a staging table, one upsert --------------------------------

_STAGE = """CREATE TEMP TABLE IF NOT EXISTS bars_stage (
    k int4 NOT NULL, ts timestamptz NOT NULL, open float8 NOT NULL, high float8 NOT NULL,
    low float8 NOT NULL, close float8 NOT NULL, volume float8 NOT NULL
) ON COMMIT DELETE ROWS"""

_MERGE = """
WITH staged AS (
    SELECT k.symbol, s.ts, s.open, s.high, s.low, s.close, s.volume
    FROM bars_stage s JOIN unnest(%(symbols)s::text[]) WITH ORDINALITY AS k(symbol, idx)
        ON k.idx = s.k
    WHERE NOT EXISTS (  -- identical rows: skipping them avoids locking and rewriting them
        SELECT 1 FROM bars o
        WHERE o.symbol = k.symbol AND o.frequency = %(frequency)s AND o.ts = s.ts
          AND (o.open, o.high, o.low, o.close, o.volume)
              = (s.open, s.high, s.low, s.close, s.volume)
    )
), up AS (
    INSERT INTO bars AS b (symbol, frequency, ts, open, high, low, close, volume, source)
    SELECT symbol, %(frequency)s, ts, open, high, low, close, volume, %(source)s FROM staged
    ON CONFLICT (symbol, frequency, ts) DO UPDATE SET
        open = excluded.open, high = excluded.high, low = excluded.low,
        close = excluded.close, volume = excluded.volume, source = excluded.source
    WHERE (b.open, b.high, b.low, b.close, b.volume)
        IS DISTINCT FROM (excluded.open, excluded.high, excluded.low, excluded.close,
                          excluded.volume)
    RETURNING b.symbol, (b.xmax = 0) AS inserted
)
SELECT symbol, count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
FROM up GROUP BY symbol
"""


def _upsert_postgresql(
    session: Session, frame: pd.DataFrame, symbols: list[str], frequency: str, source: str
) -> LoadCounts:
    """New series are COPYed straight into ``bars``; stored ones go through the merge."""
    stored = set(
        session.scalars(
            sa.select(BarSeries.symbol).where(
                BarSeries.frequency == frequency, BarSeries.symbol.in_(symbols)
            )
        )
    )
    counts = LoadCounts()
    raw: Any = session.connection().connection.driver_connection
    with raw.cursor() as cur:
        fresh = frame[~frame["symbol"].isin(stored)]
        if len(fresh):
            _copy_new_series(cur, fresh, frequency, source)
            counts.inserted |= fresh["symbol"].value_counts().to_dict()
        known = sorted(stored)
        if known:
            _merge(cur, frame[frame["symbol"].isin(stored)], known, frequency, source, counts)
    return counts


def _copy_new_series(cur: Any, frame: pd.DataFrame, frequency: str, source: str) -> None:
    """One binary COPY into ``bars``: rows of one symbol share a width, so numpy packs them."""
    columns = "symbol, frequency, ts, open, high, low, close, volume, source"
    with cur.copy(f"COPY bars ({columns}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(COPY_HEADER)
        for symbol, part in frame.groupby("symbol", sort=True):
            copy.write(_series_records(str(symbol), frequency, source, part))
        copy.write(COPY_TRAILER)


def _series_records(symbol: str, frequency: str, source: str, part: pd.DataFrame) -> bytes:
    texts = {"symbol": symbol.encode(), "frequency": frequency.encode(), "source": source.encode()}
    layout = [("n", ">i2")]
    for name in ("symbol", "frequency", "ts", *FIELDS, "source"):
        width = f"S{len(texts[name])}" if name in texts else (">i8" if name == "ts" else ">f8")
        layout += [(f"{name}_len", ">i4"), (name, width)]
    records = np.empty(len(part), dtype=np.dtype(layout))
    records["n"] = 9
    for name, value in texts.items():
        records[f"{name}_len"], records[name] = len(value), value
    records["ts_len"] = 8
    records["ts"] = part["ts"].to_numpy(dtype="datetime64[ns]").view("int64") // 1000 - PG_EPOCH_US
    for name in FIELDS:
        records[f"{name}_len"], records[name] = 8, part[name].to_numpy(dtype=float)
    return records.tobytes()


def _merge(
    cur: Any, frame: pd.DataFrame, symbols: list[str], frequency: str, source: str, counts
) -> None:
    index = {s: i + 1 for i, s in enumerate(symbols)}
    cur.execute(_STAGE)
    with cur.copy("COPY bars_stage FROM STDIN (FORMAT binary)") as copy:
        copy.write(copy_payload(frame["symbol"].map(index).to_numpy(), frame))
    cur.execute(_MERGE, {"symbols": symbols, "frequency": frequency, "source": source})
    for symbol, inserted, updated in cur.fetchall():
        counts.inserted[symbol], counts.updated[symbol] = inserted, updated
    cur.execute("TRUNCATE bars_stage")


def copy_payload(keys: np.ndarray, frame: pd.DataFrame) -> bytes:
    """PostgreSQL's binary COPY format for (k int4, ts timestamptz, 5 x float8) rows."""
    records = np.empty(len(frame), dtype=STAGE_DTYPE)
    records["n"], records["k_len"], records["ts_len"] = 7, 4, 8
    records["k"] = keys
    ns = frame["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
    records["ts"] = ns // 1000 - PG_EPOCH_US
    for name in FIELDS:
        records[f"{name}_len"] = 8
        records[name] = frame[name].to_numpy(dtype=float)
    return COPY_HEADER + records.tobytes() + COPY_TRAILER


# --- SQLite (and any other backend): compare, then upsert what is new or changed -------------


def _upsert_portable(
    session: Session, frame: pd.DataFrame, frequency: str, source: str
) -> LoadCounts:
    counts = LoadCounts()
    for symbol, rows in frame.groupby("symbol", sort=True):
        stored = _stored(session, str(symbol), frequency, rows["ts"].min(), rows["ts"].max())
        merged = rows.merge(stored, on="ts", how="left", suffixes=("", "_old"))
        new = merged["close_old"].isna().to_numpy()
        same = np.logical_and.reduce([merged[f] == merged[f"{f}_old"] for f in FIELDS])
        write = merged[new | ~same]
        counts.inserted[str(symbol)] = int(new.sum())
        counts.updated[str(symbol)] = int((~new & ~same).sum())
        if len(write):
            _write_rows(session, write, frequency, source)
    return counts


def _stored(
    session: Session, symbol: str, frequency: str, first: pd.Timestamp, last: pd.Timestamp
) -> pd.DataFrame:
    columns = [getattr(Bar, f) for f in FIELDS]
    rows = session.execute(
        sa.select(Bar.ts, *columns).where(
            Bar.symbol == symbol,
            Bar.frequency == frequency,
            Bar.ts >= _aware(first),
            Bar.ts <= _aware(last),
        )
    ).all()
    stored = pd.DataFrame(rows, columns=["ts", *[f"{f}_old" for f in FIELDS]])
    stored["ts"] = pd.to_datetime(stored["ts"], utc=True).dt.tz_localize(None).astype("M8[ns]")
    return stored


def _write_rows(session: Session, rows: pd.DataFrame, frequency: str, source: str) -> None:
    stamps = pd.DatetimeIndex(rows["ts"]).tz_localize("UTC").to_pydatetime()
    columns = (rows[f].tolist() for f in FIELDS)
    values = [
        {"symbol": s, "frequency": frequency, "ts": t, "source": source}
        | dict(zip(FIELDS, v, strict=True))
        for s, t, *v in zip(rows["symbol"], stamps, *columns, strict=True)
    ]
    stmt = dialect_insert(session, Bar.__table__)
    update = {k: stmt.excluded[k] for k in (*FIELDS, "source")}
    session.execute(
        stmt.on_conflict_do_update(index_elements=["symbol", "frequency", "ts"], set_=update),
        values,
    )


def _aware(ts: pd.Timestamp) -> object:
    return pd.Timestamp(ts).tz_localize("UTC").to_pydatetime()
