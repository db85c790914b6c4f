"""Alpha Vantage bars (``TIME_SERIES_DAILY`` and ``TIME_SERIES_INTRADAY``); needs an API key.

The response maps each bar's time to ``{"1. open", "2. high", "3. low", "4. close",
"5. volume"}`` (numbers as strings) under ``Time Series (Daily)`` or ``Time Series (5min)``;
intraday times are local to ``Meta Data["6. Time Zone"]`` (US/Eastern) and converted to UTC
here. Refusals come as ``{"Error Message": ...}`` (bad symbol or call) or as ``Note`` /
``Information`` (rate limit, premium-only endpoint), all with HTTP 200.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from store.bars.imports import ParsedBars, parse_table
from store.providers.base import (
    HttpClient,
    ProviderRejected,
    Transport,
    default_transport,
    require_key,
)

NAME = "Alpha Vantage"
SOURCE = "alpha_vantage"
KEY_VARIABLE = "ALPHAVANTAGE_API_KEY"
URL = "https://www.alphavantage.co/query"
INTERVALS = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "60min"}
FIELDS = {"1. open": "open", "2. high": "high", "3. low": "low", "4. close": "close"}
REFUSALS = ("Error Message", "Note", "Information")


class AlphaVantage:
    """Bars of one symbol; the full history is asked for and cut to the window here."""

    source = SOURCE

    def __init__(
        self, api_key: str | None, transport: Transport | None = None, timeout_s: float = 10.0
    ) -> None:
        self.api_key = api_key
        self.http = HttpClient(NAME, transport or default_transport(), timeout_s)

    def bars(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp, frequency: str = "1d"
    ) -> ParsedBars:
        key = require_key(NAME, self.api_key, KEY_VARIABLE)
        params = {"symbol": symbol, "outputsize": "full", "datatype": "json", "apikey": key}
        if frequency == "1d":
            params["function"] = "TIME_SERIES_DAILY"
        elif frequency in INTERVALS:
            params |= {"function": "TIME_SERIES_INTRADAY", "interval": INTERVALS[frequency]}
        else:
            raise ProviderRejected(f"{NAME} has no {frequency} bars")
        _, body = self.http.get_json(URL, params)
        raw = series_frame(body, symbol)
        where = Path(f"alpha_vantage:{symbol}")
        parsed = parse_table(raw, where, symbol=symbol, frequency=frequency)
        ts = parsed.frame["ts"]
        window = (ts >= _naive(start)) & (ts <= _naive(end))
        return ParsedBars(parsed.frame[window], parsed.rows, parsed.reasons, parsed.examples)


def series_frame(body: Any, symbol: str) -> pd.DataFrame:
    """The time series as a table with a UTC ``timestamp`` column, oldest first."""
    if not isinstance(body, dict):
        raise ProviderRejected(f"{NAME} answered without a JSON object for {symbol}")
    for key in REFUSALS:
        if key in body:
            raise ProviderRejected(f"{NAME} refused the request for {symbol}: {body[key]}")
    name = next((k for k in body if k.startswith("Time Series")), None)
    if name is None or not body[name]:
        raise ProviderRejected(f"{NAME} returned no time series for {symbol}")
    zone = _time_zone(body.get("Meta Data", {}))
    frame = pd.DataFrame.from_dict(body[name], orient="index").rename(columns=_column)
    local = pd.DatetimeIndex(pd.to_datetime(frame.index, format="ISO8601"))
    if "Daily" not in name:  # intraday times are local; daily ones are dates
        local = local.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")
    frame.insert(0, "timestamp", local)
    return frame.sort_values("timestamp").reset_index(drop=True)


def _column(name: str) -> str:
    return FIELDS.get(name, "volume" if name.endswith("volume") else name)


def _time_zone(meta: dict[str, Any]) -> str:
    zone = next((v for k, v in meta.items() if k.endswith("Time Zone")), "US/Eastern")
    return {"US/Eastern": "America/New_York"}.get(zone, zone)


def _naive(ts: Any) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
