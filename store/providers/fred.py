"""FRED economic series (``/fred/series/observations``); needs an API key.

The response's ``observations`` are ``{"date": "2024-01-01", "value": "28269.174", ...}`` with
``"."`` for a missing value. Errors come with HTTP 400 as ``{"error_code", "error_message"}``.
Economic series are not bars: :meth:`Fred.series` returns a float ``Series`` by date.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from store.providers.base import (
    HttpClient,
    ProviderRejected,
    Transport,
    default_transport,
    require_key,
)

NAME = "FRED"
KEY_VARIABLE = "FRED_API_KEY"
URL = "https://api.stlouisfed.org/fred/series/observations"


class Fred:
    """Observations of one series over a window (dates are the observation periods)."""

    def __init__(
        self, api_key: str | None, transport: Transport | None = None, timeout_s: float = 10.0
    ) -> None:
        self.api_key = api_key
        self.http = HttpClient(NAME, transport or default_transport(), timeout_s)

    def series(self, series_id: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
        key = require_key(NAME, self.api_key, KEY_VARIABLE)
        params = {
            "series_id": series_id,
            "api_key": key,
            "file_type": "json",
            "observation_start": pd.Timestamp(start).strftime("%Y-%m-%d"),
            "observation_end": pd.Timestamp(end).strftime("%Y-%m-%d"),
        }
        status, body = self.http.get_json(URL, params)
        return observations(body, series_id, status)


def observations(body: Any, series_id: str, status: int = 200) -> pd.Series:
    """The observations as floats by date (``"."`` becomes NaN)."""
    if not isinstance(body, dict):
        raise ProviderRejected(f"{NAME} answered without a JSON object for {series_id}")
    if status >= 400 or "error_message" in body:
        message = body.get("error_message", f"HTTP {status}")
        raise ProviderRejected(f"{NAME} refused the request for {series_id}: {message}")
    rows = body.get("observations") or []
    if not rows:
        raise ProviderRejected(f"{NAME} returned no observations for {series_id} in this window")
    dates = pd.DatetimeIndex([r["date"] for r in rows], name="date")
    values = pd.to_numeric(pd.Series([r["value"] for r in rows]), errors="coerce").to_numpy()
    return pd.Series(values, index=dates, name=series_id, dtype=float)
