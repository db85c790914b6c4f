"""Real OHLCV bars from CSV or Parquet files, validated strictly so bad data fails loudly.

Accepted shapes (column names in any case, surrounding spaces ignored):

* a time column named ``Date``, ``Datetime``, ``Timestamp`` or ``Time`` (or separate ``Date``
  and ``Time`` columns, joined), or a time index: a Parquet index, or a CSV's unnamed first
  column as written by ``DataFrame.to_csv``;
* times as ISO 8601 strings (``2020-01-31``, ``2020-01-31 14:30``, ``2020-01-31T14:30:00Z``,
  with or without an offset; naive times are read as UTC) or as epoch numbers, whose unit is
  told from their size: seconds below 1e11, milliseconds below 1e14, then micro-, nanoseconds;
* ``Open``, ``High``, ``Low``, ``Close`` and ``Volume``, all required. Volume has no default:
  write 0 where it is unknown, so a missing column is never mistaken for "no trading".
  ``Adj Close`` and any other column are ignored: prices are used as traded, unadjusted.

The file type comes from the extension: ``.csv``, ``.csv.gz``, ``.txt`` or ``.parquet``/``.pq``.
Rows are sorted by time. Every problem raises :class:`DataError` naming the file, the column and
the first offending row (rows count from 1 after the header; CSV messages add the line number).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.synthetic import FREQUENCIES
from engine.errors import DataError, SpecError
from engine.market import FIELDS, Market

TIME_NAMES = ("date", "datetime", "timestamp", "time")
INDEX_NAMES = ("", "index")  # what an unnamed index becomes in a file
PRICES = ("open", "high", "low", "close")
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
_EPOCH_UNITS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def read_bar_file(path: str | Path) -> pd.DataFrame:
    """Bars of one file: a sorted UTC ``DatetimeIndex`` and float ``open..volume`` columns."""
    path = Path(path)
    return _parse(_read_bytes(path), path)


def market_from_files(files: Mapping[str, str | Path], frequency: str = "1d") -> Market:
    """A ``source="file"`` market of one file per symbol, aligned on the union of their times.

    ``version`` is the first 16 hex digits of a SHA-256 over each symbol name and its file's
    bytes, so it changes exactly when the data (or the symbol it is filed under) changes.
    """
    if frequency not in FREQUENCIES:
        raise SpecError.single(
            "frequency", f"unknown frequency {frequency!r}; use one of {', '.join(FREQUENCIES)}"
        )
    if not files:
        raise DataError("no bar files given; map each symbol to a CSV or Parquet file")
    digest, frames = hashlib.sha256(), {}
    for symbol, name in files.items():
        data = _read_bytes(Path(name))
        for part in (symbol.encode(), data):
            digest.update(len(part).to_bytes(8, "big") + part)
        frame = _parse(data, Path(name))
        # tz-naive UTC: Market.from_frames unions with a naive empty index (pandas 3 would
        # otherwise fall back to an object Index).
        frames[symbol] = frame.set_axis(frame.index.tz_localize(None))
    return Market.from_frames(
        frames, frequency=frequency, source="file", version=digest.hexdigest()[:16]
    )


# --- reading --------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def _parse(data: bytes, path: Path) -> pd.DataFrame:
    """Validate and normalise one file's table (see the module docstring for the rules)."""
    raw = _load_table(data, path)
    if raw.empty:
        raise DataError(f"{path}: the file has no rows of bars")
    names = _columns(raw, path)
    times = _times(raw, names, path)
    frame = pd.DataFrame(
        {field: _numbers(raw[names[field]], path, names[field]) for field in FIELDS},
        index=times,
    )
    _check_values(frame, names, path)
    _check_unique(times, path, names["time"])
    return frame.sort_index(kind="stable")


def _load_table(data: bytes, path: Path) -> pd.DataFrame:
    """The file as read by pandas, with any Parquet index turned back into a column."""
    name = path.name.lower()
    try:
        if name.endswith(PARQUET_SUFFIXES):
            table = pd.read_parquet(io.BytesIO(data))
            return table if isinstance(table.index, pd.RangeIndex) else table.reset_index()
        if name.endswith(CSV_SUFFIXES):
            compression = "gzip" if name.endswith(".gz") else None
            return pd.read_csv(io.BytesIO(data), compression=compression)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except Exception as exc:  # any parser failure means an unreadable file
        raise DataError(f"{path}: cannot read the file as a table ({exc})") from None
    raise DataError(
        f"{path}: unsupported file type; use one of {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
    )


def _columns(raw: pd.DataFrame, path: Path) -> dict[str, str]:
    """Map ``time``, ``date_part`` (optional) and each OHLCV field to the file's column name."""
    found: dict[str, str] = {}
    for column in raw.columns:
        key = str(column).strip().lower()
        if key.startswith("unnamed:"):
            key = ""
        if key in found:
            raise DataError(f"{path}: columns {found[key]!r} and {column!r} clash; keep one")
        found[key] = column
    names = {field: found[field] for field in FIELDS if field in found}
    missing = [field.capitalize() for field in FIELDS if field not in found]
    if missing:
        hint = " (volume is required: write 0 where it is unknown)" if "Volume" in missing else ""
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}{hint}; found {list(raw.columns)}"
        )
    return names | _time_columns(found, raw, path)


def _time_columns(found: dict[str, str], raw: pd.DataFrame, path: Path) -> dict[str, str]:
    if "date" in found and "time" in found:
        return {"time": found["time"], "date_part": found["date"]}
    for key in TIME_NAMES:
        if key in found:
            return {"time": found[key]}
    first = str(raw.columns[0]).strip().lower()
    if first in INDEX_NAMES or first.startswith("unnamed:"):
        return {"time": raw.columns[0]}
    raise DataError(
        f"{path}: no time column; name one Date, Datetime, Timestamp or Time (any case), "
        f"found {list(raw.columns)}"
    )


# --- values ---------------------------------------------------------------------------------


def _row(path: Path, i: int) -> str:
    """How to point a reader at the ``i``-th (0-based) data row of ``path``."""
    where = f"row {i + 1}"
    return where + f" (line {i + 2})" if path.name.lower().endswith(CSV_SUFFIXES) else where


def _times(raw: pd.DataFrame, names: dict[str, str], path: Path) -> pd.DatetimeIndex:
    """The time column parsed to a UTC ``DatetimeIndex`` (nanoseconds)."""
    column = names["time"]
    values = raw[column]
    if "date_part" in names:
        values = raw[names["date_part"]].astype(str).str.strip() + " " + values.astype(str)
        column = f"{names['date_part']}+{column}"
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, utc=True)
    elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        parsed = _epoch(values)
    else:
        text = values.astype(str).str.strip()
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise DataError(
            f"{path}: column {column!r}, {_row(path, i)}: cannot read {values.iloc[i]!r} as a "
            "time; use ISO 8601 (2020-01-31, 2020-01-31T14:30:00Z) or epoch seconds/milliseconds"
        )
    return pd.DatetimeIndex(parsed, name="timestamp").as_unit("ns")


def _epoch(values: pd.Series) -> pd.Series:
    """Epoch numbers to UTC times, the unit told from the largest magnitude."""
    numbers = values.astype(float)
    top = float(np.nanmax(np.abs(numbers.to_numpy()))) if numbers.notna().any() else 0.0
    unit = next((unit for limit, unit in _EPOCH_UNITS if top < limit), "ns")
    return pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")


def _numbers(values: pd.Series, path: Path, column: str) -> np.ndarray:
    """A column as float64; an empty or non-numeric cell is an error naming its row."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if len(bad):
        i = int(bad[0])
        what = (
            "is missing (empty or NA)"
            if pd.isna(values.iloc[i])
            else f"has {values.iloc[i]!r}, not a number"
        )
        raise DataError(f"{path}: column {column!r}, {_row(path, i)} {what}")
    return numbers


def _check_values(frame: pd.DataFrame, names: dict[str, str], path: Path) -> None:
    """Prices must be positive and volumes non-negative."""
    for field in (*PRICES, "volume"):
        values = frame[field].to_numpy()
        bad = np.flatnonzero(values <= 0 if field in PRICES else values < 0)
        if len(bad):
            i = int(bad[0])
            rule = "prices must be > 0" if field in PRICES else "volume must be >= 0"
            raise DataError(
                f"{path}: column {names[field]!r}, {_row(path, i)}: {values[i]:g}; {rule}"
            )


def _check_unique(times: pd.DatetimeIndex, path: Path, column: str) -> None:
    """Each timestamp at most once; report the first repeat and the row it repeats."""
    repeats = np.flatnonzero(times.duplicated())
    if len(repeats):
        i = int(repeats[0])
        j = int(np.flatnonzero(times == times[i])[0])
        raise DataError(
            f"{path}: column {column!r}, {_row(path, i)} repeats the timestamp "
            f"{times[i].isoformat()} of {_row(path, j)}; keep one bar per timestamp"
        )
