"""Provider adapters against recorded responses in the providers' documented formats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from store.providers import ProviderKeyMissing, ProviderRejected, ProviderUnavailable
from store.providers.alpha_vantage import AlphaVantage
from store.providers.fred import Fred
from store.providers.yahoo import YahooFinance

RECORDED = Path(__file__).resolve().parents[3] / "data" / "providers"
START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31")


@dataclass
class Recorded:
    """Answers every GET with one recorded body; remembers what was asked."""

    name: str
    status: int = 200
    calls: list = field(default_factory=list)

    def get(self, url, params=None, timeout=None):
        self.calls.append((url, dict(params or {}), timeout))
        return _Response(self.status, json.loads((RECORDED / self.name).read_text()))


@dataclass
class _Response:
    status_code: int
    body: object

    def json(self):
        return self.body


class Offline:
    def get(self, url, params=None, timeout=None):
        raise requests.ConnectionError("Failed to resolve host (no network)")


def test_yahoo_daily_bars_are_session_dates_and_null_bars_are_dropped():
    transport = Recorded("yahoo/chart_SPY_1d.json")
    parsed = YahooFinance(transport).bars("SPY", START, END)
    frame = parsed.frame
    assert parsed.rejected == 0 and len(frame) == 9
    assert str(frame["ts"].iloc[0]) == "2024-01-02 00:00:00"
    assert frame["close"].iloc[-1] == 476.68 and frame["volume"].iloc[0] == 123623700
    url, params, _ = transport.calls[0]
    assert url.endswith("/v8/finance/chart/SPY") and params["interval"] == "1d"
    assert params["period1"] == int(pd.Timestamp("2024-01-01", tz="UTC").timestamp())


def test_yahoo_unknown_symbol_says_so():
    with pytest.raises(ProviderRejected, match="No data found"):
        YahooFinance(Recorded("yahoo/chart_not_found.json", 404)).bars("NOPE", START, END)


def test_unreachable_provider_is_named_with_the_cause():
    with pytest.raises(ProviderUnavailable, match="Yahoo Finance is unreachable.*ConnectionError"):
        YahooFinance(Offline()).bars("SPY", START, END)
    with pytest.raises(ProviderUnavailable, match="failed on its side"):
        YahooFinance(Recorded("yahoo/chart_not_found.json", 503)).bars("SPY", START, END)


def test_alpha_vantage_daily_oldest_first_with_key_sent():
    transport = Recorded("alpha_vantage/daily_IBM.json")
    frame = AlphaVantage("demo-key", transport).bars("IBM", START, END).frame
    assert list(frame["ts"].dt.strftime("%m-%d"))[:3] == ["01-02", "01-03", "01-04"]
    assert np.isclose(frame["close"].iloc[-1], 165.8) and len(frame) == 9
    params = transport.calls[0][1]
    assert params["function"] == "TIME_SERIES_DAILY" and params["apikey"] == "demo-key"


def test_alpha_vantage_intraday_eastern_times_become_utc():
    transport = Recorded("alpha_vantage/intraday_5min_IBM.json")
    frame = AlphaVantage("k", transport).bars("IBM", START, END, "5m").frame
    assert str(frame["ts"].iloc[0]) == "2024-01-12 14:30:00"
    assert transport.calls[0][1]["interval"] == "5min"


def test_alpha_vantage_without_key_asks_for_it_before_any_request():
    transport = Recorded("alpha_vantage/daily_IBM.json")
    with pytest.raises(ProviderKeyMissing, match="ALPHAVANTAGE_API_KEY"):
        AlphaVantage("", transport).bars("IBM", START, END)
    assert transport.calls == []


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("alpha_vantage/error_invalid_symbol.json", "Invalid API call"),
        ("alpha_vantage/rate_limit.json", "rate limit is 25 requests per day"),
    ],
)
def test_alpha_vantage_refusals_are_reported(name, match):
    with pytest.raises(ProviderRejected, match=match):
        AlphaVantage("k", Recorded(name)).bars("XXXX", START, END)


def test_fred_observations_with_missing_values():
    transport = Recorded("fred/observations_GDP.json")
    series = Fred("fred-key", transport).series("GDP", pd.Timestamp("2022-01-01"), END)
    assert len(series) == 9 and series.iloc[0] == 24740.48 and np.isnan(series.iloc[-1])
    assert transport.calls[0][1]["series_id"] == "GDP"


def test_fred_errors_and_missing_key():
    with pytest.raises(ProviderRejected, match="series does not exist"):
        Fred("k", Recorded("fred/error_unknown_series.json", 400)).series("NOPE", START, END)
    with pytest.raises(ProviderKeyMissing, match="FRED_API_KEY"):
        Fred(None, Recorded("fred/observations_GDP.json")).series("GDP", START, END)
