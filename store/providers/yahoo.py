"""Yahoo Finance bars from its chart API (``/v8/finance/chart/{symbol}``), no key needed.

The response holds ``chart.result[0]`` with ``timestamp`` (epoch seconds, each bar's start; daily
bars start at the session's open) and ``indicators.quote[0]`` with ``open``, ``high``, ``low``,
``close`` and ``volume`` lists, where a bar without trades is all ``null`` (such rows are left
out). Prices are as traded; ``adjclose`` is ignored like ``Adj Close`` in files. Errors come as
``chart.error`` ``{code, description}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from store.bars.imports import ParsedBars, parse_table
from store.providers.base import HttpClient, ProviderRejected, Transport, default_transport

NAME = "Yahoo Finance"
SOURCE = "yahoo_finance"
URL = "https://query1.finance.yahoo.com/v8/finance/chart/{symbol}"
INTERVALS = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "60m", "1d": "1d"}
QUOTE = ("open", "high", "low", "close", "volume")


class YahooFinance:
    """Bars of one symbol over a window, checked like an imported file."""

    source = SOURCE

    def __init__(self, transport: Transport | None = None, timeout_s: float = 10.0) -> None:
        self.http = HttpClient(NAME, transport or default_transport(), timeout_s)

    def bars(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp, frequency: str = "1d"
    ) -> ParsedBars:
        if frequency not in INTERVALS:
            raise ProviderRejected(f"{NAME} has no {frequency} bars; use {', '.join(INTERVALS)}")
        params = {
            "period1": int(_utc(start).timestamp()),
            "period2": int(_utc(end).timestamp()) + 86_400,
            "interval": INTERVALS[frequency],
            "events": "history",
            "includePrePost": "false",
        }
        _, body = self.http.get_json(URL.format(symbol=symbol), params)
        raw = chart_frame(body, symbol)
        parsed = parse_table(raw, Path(f"yahoo:{symbol}"), symbol=symbol, frequency=frequency)
        window = (parsed.frame["ts"] >= _naive(start)) & (parsed.frame["ts"] <= _naive(end))
        return ParsedBars(parsed.frame[window], parsed.rows, parsed.reasons, parsed.examples)


def chart_frame(body: Any, symbol: str) -> pd.DataFrame:
    """The chart response as a table with a ``timestamp`` column; all-null bars dropped."""
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        raise ProviderRejected(f"{NAME} answered without a chart for {symbol}")
    if chart.get("error"):
        error = chart["error"]
        raise ProviderRejected(
            f"{NAME} has no data for {symbol}: {error.get('code')}: {error.get('description')}"
        )
    result = (chart.get("result") or [None])[0]
    if not result or not result.get("timestamp"):
        raise ProviderRejected(f"{NAME} returned no bars for {symbol} in this window")
    quote = result["indicators"]["quote"][0]
    frame = pd.DataFrame({"timestamp": result["timestamp"], **{k: quote[k] for k in QUOTE}})
    return frame.dropna(how="all", subset=list(QUOTE)).reset_index(drop=True)


def _utc(ts: Any) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _naive(ts: Any) -> pd.Timestamp:
    return _utc(ts).tz_localize(None)
