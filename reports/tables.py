"""A backtest's results document as tables: equity, returns, trades, orders, positions.

One conversion for the API's CSV and Parquet exports, the Python client's ``to_pandas()``
accessors and the reports, so every consumer reads the same columns. Times are UTC
timestamps; returns and drawdowns keep the document's unit (percent).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

FORMATS = ("json", "csv", "parquet")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


class MissingSection(LookupError):
    """The document was read without the section a table needs."""


def _times(values: list[str]) -> pd.DatetimeIndex:
    return pd.to_datetime(pd.Series(values, dtype="string"), utc=True)


def _section(document: Mapping[str, Any], name: str) -> Any:
    if document.get(name) is None:
        raise MissingSection(f"the document has no {name!r} section; read it with that section")
    return document[name]


def equity_table(document: Mapping[str, Any]) -> pd.DataFrame:
    """Per bar: equity, cumulative return and drawdown (percent), and the benchmark's value."""
    p = _section(document, "portfolio_performance")
    frame = pd.DataFrame(
        {
            "timestamp": _times(p["timestamps"]),
            "equity": pd.array(p["portfolio_values"], dtype="Float64"),
            "cumulative_return_pct": pd.array(p["cumulative_returns"], dtype="Float64"),
            "drawdown_pct": pd.array(p["drawdown_series"], dtype="Float64"),
        }
    )
    if p.get("benchmark_values") is not None:
        frame["benchmark"] = pd.array(p["benchmark_values"], dtype="Float64")
    return frame


def returns_table(document: Mapping[str, Any]) -> pd.DataFrame:
    """Per bar after the first: the portfolio's simple return in percent."""
    p = _section(document, "portfolio_performance")
    returns = pd.array(p["daily_returns"], dtype="Float64")
    return pd.DataFrame({"timestamp": _times(p["timestamps"][1:]), "return_pct": returns})


def _records(document: Mapping[str, Any], name: str, times: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(_section(document, name))
    for column in times:
        if column in frame:
            frame[column] = _times(list(frame[column]))
    return frame


def trades_table(document: Mapping[str, Any]) -> pd.DataFrame:
    """One row per closed round trip, in the document's field order."""
    return _records(document, "trades", ("entry_time", "exit_time"))


def orders_table(document: Mapping[str, Any]) -> pd.DataFrame:
    """One row per fill."""
    return _records(document, "orders", ("time",))


def positions_table(document: Mapping[str, Any]) -> pd.DataFrame:
    """Per bar: cash, gross exposure and the shares held of each symbol (one column each)."""
    p = _section(document, "positions")
    frame = pd.DataFrame(
        {
            "timestamp": _times(p["timestamps"]),
            "cash": pd.array(p["cash"], dtype="Float64"),
            "gross_exposure": pd.array(p["gross_exposure"], dtype="Float64"),
        }
    )
    for symbol, shares in p["shares"].items():
        frame[symbol] = pd.array(shares, dtype="Float64")
    return frame


TABLES: dict[str, Callable[[Mapping[str, Any]], pd.DataFrame]] = {
    "equity": equity_table,
    "returns": returns_table,
    "trades": trades_table,
    "orders": orders_table,
    "positions": positions_table,
}


def encode(frame: pd.DataFrame, fmt: str) -> bytes:
    """The table as CSV, Parquet or JSON records (ISO times, nulls for missing values)."""
    if fmt == "csv":
        return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode()
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    if fmt == "json":
        return frame.to_json(orient="records", date_format="iso", date_unit="s").encode()
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")


def decode(raw: bytes, fmt: str) -> pd.DataFrame:
    """The inverse of ``encode`` (CSV times parsed back to UTC timestamps)."""
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(raw))
    if fmt == "csv":
        frame = pd.read_csv(io.BytesIO(raw))
    else:
        frame = pd.DataFrame.from_records(json.loads(raw))
    for column in ("timestamp", "entry_time", "exit_time", "time"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
