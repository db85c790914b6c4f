"""Bars to import, checked row by row so every rejected row is counted with its reason.

The file shapes are those of :mod:`store.bars.files` (whose table reader and column rules this
reuses): a time column (``Date``/``Datetime``/``Timestamp``/``Time``, ISO 8601 or epoch),
``Open``/``High``/``Low``/``Close``/``Volume`` in any case, ``Adj Close`` and other columns
ignored. An optional ``Symbol`` (or ``Ticker``) column lets one file hold many symbols. A file
whose columns are wrong is rejected whole (:class:`DataError`); after that each row is either
accepted or rejected with one reason:

* ``unparseable_time``: the time is not ISO 8601 or an epoch number;
* ``not_a_number``: a price or the volume is empty or not a number;
* ``non_positive_price``: a price is 0 or below; ``negative_volume``: the volume is below 0;
* ``duplicate_timestamp``: an earlier row of the same symbol has this bar time;
* ``off_grid_time``: an intraday time that is not a multiple of the bar length;
* ``bad_symbol``: no symbol, or one that is not a valid ticker.

Daily bars are stored at 00:00 UTC of their session date (see ``engine.data.calendars``).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.data.calendars import BAR_MINUTES, session_labels
from engine.errors import DataError, SpecError
from engine.fields import SYMBOL_PATTERN
from engine.market import FIELDS
from store.bars.files import _columns, _epoch, _load_table, _row

SYMBOL_NAMES = ("symbol", "ticker")
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class ParsedBars:
    """Accepted rows (``symbol``, ``ts`` naive UTC, OHLCV) and what was rejected, and why."""

    frame: pd.DataFrame
    rows: int
    reasons: dict[str, int]
    examples: tuple[dict[str, Any], ...]

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def report(self) -> dict[str, Any]:
        return {"rejected": self.rejected, "reasons": self.reasons, "examples": list(self.examples)}


def parse_file(path: str | Path, **options: Any) -> ParsedBars:
    """Bars of a CSV or Parquet file (see :func:`parse_table` for ``options``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    return parse_table(_load_table(data, path), path, **options)


def parse_csv(text: bytes, **options: Any) -> ParsedBars:
    """Bars of a CSV document (a request body)."""
    path = Path("body.csv")
    return parse_table(_load_table(text, path), path, **options)


def parse_records(records: Sequence[Any], **options: Any) -> ParsedBars:
    """Bars of JSON objects, one per bar, with the CSV's column names as keys."""
    if not isinstance(records, Sequence) or not all(isinstance(r, dict) for r in records):
        raise DataError("bars must be a JSON array of objects, one per bar")
    if not records:
        raise DataError("bars is empty: send at least one bar")
    return parse_table(pd.DataFrame.from_records(list(records)), Path("bars"), **options)


def parse_table(
    raw: pd.DataFrame,
    path: Path,
    *,
    symbol: str | None = None,
    frequency: str = "1d",
    exchange: str | None = None,
) -> ParsedBars:
    """Check every row of ``raw``; structural problems raise :class:`DataError`."""
    if frequency not in BAR_MINUTES:
        choices = ", ".join(BAR_MINUTES)
        raise SpecError.single("frequency", f"unknown frequency {frequency!r}; use {choices}")
    if raw.empty:
        raise DataError(f"{path}: the file has no rows of bars")
    names = _columns(raw, path)
    bad = _Rejections(path, len(raw))
    symbols = _symbols(raw, symbol, bad, path)
    stamps = _stamps(raw, names, frequency, exchange, bad)
    values = {field: _values(raw[names[field]], field, bad) for field in FIELDS}
    frame = pd.DataFrame({"symbol": symbols, "ts": stamps, **values})
    _duplicates(frame, bad)
    accepted = frame[~bad.mask].reset_index(drop=True)
    return ParsedBars(accepted, len(raw), dict(bad.reasons), tuple(bad.examples))


class _Rejections:
    """Which rows are rejected, the count per reason and the first examples."""

    def __init__(self, path: Path, rows: int) -> None:
        self.path, self.mask = path, np.zeros(rows, dtype=bool)
        self.reasons: Counter[str] = Counter()
        self.examples: list[dict[str, Any]] = []

    def add(self, flagged: np.ndarray, reason: str, column: str, values: Any, hint: str) -> None:
        """Reject the rows of ``flagged`` not already rejected (one reason per row)."""
        new = np.flatnonzero(flagged & ~self.mask)
        if not len(new):
            return
        self.mask[new] = True
        self.reasons[reason] += len(new)
        for i in new[: max(0, MAX_EXAMPLES - len(self.examples))]:
            value = values.iloc[i] if hasattr(values, "iloc") else values[i]
            self.examples.append(
                {
                    "row": _row(self.path, int(i)),
                    "column": column,
                    "value": None if pd.isna(value) else str(value),
                    "reason": reason,
                    "message": hint,
                }
            )


def _symbols(raw: pd.DataFrame, symbol: str | None, bad: _Rejections, path: Path) -> np.ndarray:
    column = next((c for c in raw.columns if str(c).strip().lower() in SYMBOL_NAMES), None)
    if column is None:
        if not symbol:
            raise DataError(f"{path}: no Symbol column; name the symbol (--symbol or ?symbol=)")
        if not SYMBOL_PATTERN.match(symbol):
            raise SpecError.single("symbol", f"{symbol!r} is not a valid symbol")
        return np.full(len(raw), symbol, dtype=object)
    values = raw[column].astype("string").str.strip().fillna("")
    valid = values.str.fullmatch(SYMBOL_PATTERN.pattern).fillna(False).to_numpy(dtype=bool)
    hint = "use a ticker of letters, digits and . - _ ^ = (at most 32 characters)"
    if symbol:
        valid &= (values == symbol).to_numpy(dtype=bool)
        hint = f"this import is for {symbol!r}; leave out --symbol to import every symbol"
    bad.add(~valid, "bad_symbol", str(column), values, hint)
    return values.to_numpy(dtype=object)


def _stamps(
    raw: pd.DataFrame, names: dict[str, str], frequency: str, exchange: str | None, bad: _Rejections
) -> np.ndarray:
    """Bar times as naive UTC ``datetime64[ns]``; unparseable ones rejected (NaT)."""
    column, values = names["time"], raw[names["time"]]
    if "date_part" in names:
        values = raw[names["date_part"]].astype(str).str.strip() + " " + values.astype(str)
        column = f"{names['date_part']}+{column}"
    parsed = _parse_times(values)
    missing = parsed.isna().to_numpy()
    hint = "use ISO 8601 (2020-01-31, 2020-01-31T14:30:00Z) or epoch seconds/milliseconds"
    bad.add(missing, "unparseable_time", str(column), values, hint)
    stamps = parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    if frequency == "1d":
        return session_labels(np.where(missing, np.datetime64(0, "ns"), stamps), exchange)
    step = BAR_MINUTES[frequency] * 60 * 10**9
    off_grid = ~missing & (stamps.view("int64") % step != 0)
    bad.add(off_grid, "off_grid_time", str(column), values, f"{frequency} bars start on the grid")
    return stamps


def _parse_times(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return _epoch(values)
    text = values.astype(str).str.strip()
    return pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")


def _values(values: pd.Series, field: str, bad: _Rejections) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad.add(~np.isfinite(numbers), "not_a_number", field, values, "write a number")
    with np.errstate(invalid="ignore"):
        if field == "volume":
            bad.add(numbers < 0, "negative_volume", field, values, "volume must be >= 0")
        else:
            bad.add(numbers <= 0, "non_positive_price", field, values, "prices must be > 0")
    return numbers


def _duplicates(frame: pd.DataFrame, bad: _Rejections) -> None:
    valid = pd.Series(~bad.mask)
    repeated = frame[valid.to_numpy()].duplicated(["symbol", "ts"]).reindex(frame.index)
    flagged = repeated.fillna(False).to_numpy(dtype=bool)
    times = pd.Series(frame["ts"]).astype(str)
    hint = "an earlier row has this symbol and bar time; keep one bar per time"
    bad.add(flagged, "duplicate_timestamp", "time", times, hint)


def read_json_body(body: Any) -> tuple[Sequence[Any], dict[str, Any]]:
    """``{"symbol", "frequency", "exchange", "source", "on_error", "bars"}`` or a bare array."""
    if isinstance(body, list):
        return body, {}
    if not isinstance(body, dict) or "bars" not in body:
        raise DataError('send {"symbol": "...", "frequency": "1d", "bars": [{...}, ...]}')
    keys = ("symbol", "frequency", "exchange", "source", "on_error")
    options = {k: body[k] for k in keys if body.get(k)}
    return body["bars"], options


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as CSV (for tests and the bench)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()
