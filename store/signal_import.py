"""Signal sets (target weights) from CSV or Parquet, checked row by row like bar imports.

Two shapes: **long** (a time column, ``Symbol``/``Ticker`` and ``Weight``: one row per symbol
and date) or **wide** (a time column and one column per symbol). Times follow the bar files'
rules (:mod:`store.bars.imports`); daily times are read as session dates. Each rejected row (or
cell) is counted under one reason, with the first examples, in the report bar imports give:

* ``unparseable_time``, ``bad_symbol``, ``duplicate_timestamp`` as for bars;
* ``not_a_number``: a weight that is not a number (an empty wide cell keeps the last weight);
* ``weight_out_of_range``: ``|weight|`` above ``engine.signals.MAX_WEIGHT``;
* ``no_bar_at_time`` (from :func:`check_against_bars`): no stored bar of the symbol at that
  time, so the weight could not be decided on a close the backtest sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.data.calendars import session_labels
from engine.errors import DataError
from engine.fields import SYMBOL_PATTERN
from engine.signals import MAX_WEIGHT
from store.bars.files import TIME_NAMES, _load_table
from store.bars.imports import SYMBOL_NAMES, _parse_times, _Rejections


@dataclass(frozen=True)
class ParsedSignals:
    """Accepted weights as a wide frame (naive UTC index, one column per symbol) and what was
    rejected, and why (the shape of ``ParsedBars.report``)."""

    weights: pd.DataFrame
    rows: int
    rejections: _Rejections

    @property
    def rejected(self) -> int:
        return sum(self.rejections.reasons.values())

    def report(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "symbols": list(self.weights.columns),
            "rejected": self.rejected,
            "rejections": {
                "rejected": self.rejected,
                "reasons": dict(self.rejections.reasons),
                "examples": list(self.rejections.examples),
            },
        }


def parse_signals(data: bytes, name: str, frequency: str = "1d") -> ParsedSignals:
    """The signal set in ``data`` (a file called ``name``: its extension picks the reader)."""
    path = Path(name)
    raw = _load_table(data, path)
    if raw.empty:
        raise DataError(f"{path}: the file has no rows of weights")
    columns = {str(c).strip().lower(): c for c in raw.columns}
    time = next((columns[k] for k in TIME_NAMES if k in columns), raw.columns[0])
    symbol = next((columns[k] for k in SYMBOL_NAMES if k in columns), None)
    bad = _Rejections(path, len(raw))
    stamps = _times(raw[time], frequency, bad, str(time))
    if symbol is not None:
        if "weight" not in columns:
            raise DataError(f"{path}: a long file needs a Weight column; found {list(raw.columns)}")
        long = _long(raw, symbol, columns["weight"], stamps, bad)
    else:
        long = _wide(raw, time, stamps, path)
    weights = _checked(long, bad)
    return ParsedSignals(weights, len(raw), bad)


def _times(values: pd.Series, frequency: str, bad: _Rejections, column: str) -> np.ndarray:
    parsed = _parse_times(values)
    missing = parsed.isna().to_numpy()
    bad.add(missing, "unparseable_time", column, values, "use ISO 8601 such as 2024-01-31")
    stamps = parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    if frequency == "1d":
        return session_labels(np.where(missing, np.datetime64(0, "ns"), stamps), None)
    return stamps


def _long(raw, symbol, weight, stamps, bad: _Rejections) -> pd.DataFrame:
    names = raw[symbol].astype("string").str.strip().fillna("")
    valid = names.str.fullmatch(SYMBOL_PATTERN.pattern).fillna(False).to_numpy(dtype=bool)
    bad.add(~valid, "bad_symbol", str(symbol), names, "use a ticker such as SPY")
    values = pd.to_numeric(raw[weight], errors="coerce").to_numpy(dtype=float)
    bad.add(~np.isfinite(values), "not_a_number", str(weight), raw[weight], "write a number")
    return pd.DataFrame({"row": np.arange(len(raw)), "ts": stamps, "symbol": names.to_numpy(),
                         "weight": values})  # fmt: skip


def _wide(raw, time, stamps, path: Path) -> pd.DataFrame:
    symbols = [c for c in raw.columns if c != time]
    bad_names = [c for c in symbols if not SYMBOL_PATTERN.match(str(c).strip())]
    if not symbols or bad_names:
        raise DataError(
            f"{path}: a wide file has a time column and one column per symbol; "
            f"not symbols: {bad_names[:5]} (or send long form: Date, Symbol, Weight)"
        )
    frame = raw[symbols].apply(pd.to_numeric, errors="coerce")
    text = raw[symbols].astype("string")
    if (frame.isna() & text.notna()).to_numpy().any():
        column = next(c for c in symbols if (frame[c].isna() & text[c].notna()).any())
        raise DataError(f"{path}: column {column!r} holds values that are not numbers")
    long = frame.set_axis([str(c).strip() for c in symbols], axis=1).assign(
        row=np.arange(len(raw)), ts=stamps
    )
    long = long.melt(id_vars=["row", "ts"], var_name="symbol", value_name="weight")
    return long.dropna(subset=["weight"]).sort_values("row", kind="stable")


def _checked(long: pd.DataFrame, bad: _Rejections) -> pd.DataFrame:
    rows = long["row"].to_numpy()
    flagged = np.zeros(len(bad.mask), dtype=bool)
    flagged[rows[np.abs(long["weight"].to_numpy()) > MAX_WEIGHT]] = True
    weights_by_row = pd.Series(np.nan, index=range(len(bad.mask)))
    weights_by_row[rows] = long["weight"].to_numpy()
    bad.add(flagged, "weight_out_of_range", "weight", weights_by_row,
            f"weights are fractions of equity from -{MAX_WEIGHT} to {MAX_WEIGHT}")  # fmt: skip
    ok = long[~bad.mask[rows]]
    repeated = ok.duplicated(["ts", "symbol"])
    flagged = np.zeros(len(bad.mask), dtype=bool)
    flagged[ok["row"].to_numpy()[repeated.to_numpy()]] = True
    times = pd.Series(pd.DatetimeIndex(long.groupby("row")["ts"].first().reindex(
        range(len(bad.mask))).to_numpy()).astype(str))  # fmt: skip
    bad.add(flagged, "duplicate_timestamp", "time", times,
            "an earlier row gives this symbol a weight at this time; keep one")  # fmt: skip
    ok = long[~bad.mask[rows]]
    wide = ok.pivot(index="ts", columns="symbol", values="weight").sort_index()
    wide.columns.name = None
    return wide


def check_against_bars(parsed: ParsedSignals, bar_times: dict[str, set]) -> None:
    """Reject weights at times where the symbol has no stored bar (``no_bar_at_time``)."""
    weights = parsed.weights
    missing = [
        (ts, symbol)
        for symbol in weights.columns
        for ts in weights.index[weights[symbol].notna()]
        if pd.Timestamp(ts) not in bar_times.get(symbol, set())
    ]
    for ts, symbol in missing[:20]:
        parsed.rejections.examples.append(
            {"row": str(pd.Timestamp(ts).date()), "column": symbol, "value": None,
             "reason": "no_bar_at_time",
             "message": "no stored bar of this symbol at this time: import its bars first"}
        )  # fmt: skip
    if missing:
        parsed.rejections.reasons["no_bar_at_time"] += len(missing)
