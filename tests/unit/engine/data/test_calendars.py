from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.calendars import expected_bars, resolve_exchange, session_labels
from engine.errors import SpecError


def test_daily_sessions_skip_weekends_and_nyse_holidays():
    sessions = expected_bars("XNYS", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31"))
    assert len(sessions) == 252
    dates = set(sessions.strftime("%Y-%m-%d"))
    for holiday in ("2024-01-01", "2024-03-29", "2024-07-04", "2024-11-28", "2024-12-25"):
        assert holiday not in dates
    assert {"2024-07-03", "2024-07-05", "2024-12-24"} <= dates
    assert (sessions.day_of_week < 5).all()


def test_calendars_differ_by_exchange():
    lse = expected_bars("XLON", pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-31"))
    nyse = expected_bars("XNYS", pd.Timestamp("2024-07-01"), pd.Timestamp("2024-07-31"))
    assert "2024-07-04" in set(lse.strftime("%Y-%m-%d")) - set(nyse.strftime("%Y-%m-%d"))


def test_hourly_bars_follow_sessions_and_early_closes():
    bars = expected_bars("XNYS", pd.Timestamp("2024-07-03"), pd.Timestamp("2024-07-05 23:00"), "1h")
    per_day = pd.Series(1, index=bars).groupby(bars.date).sum()
    assert per_day.to_dict() == {
        pd.Timestamp("2024-07-03").date(): 4,  # closes 13:00 New York
        pd.Timestamp("2024-07-05").date(): 7,  # 09:30..15:30, the last bar 30 minutes
    }
    assert bars[0] == pd.Timestamp("2024-07-03 13:30")


def test_window_bounds_are_inclusive_and_utc_aware_inputs_accepted():
    bars = expected_bars(
        "XNYS", pd.Timestamp("2024-07-05", tz="UTC"), pd.Timestamp("2024-07-08", tz="UTC")
    )
    assert list(bars.strftime("%Y-%m-%d")) == ["2024-07-05", "2024-07-08"]


def test_session_labels_turn_open_stamps_into_dates_and_keep_midnight():
    stamps = np.array(["2024-07-05T13:30", "2024-07-08T00:00"], dtype="datetime64[ns]")
    labels = session_labels(stamps, "XNYS")
    assert list(labels.astype("datetime64[D]").astype(str)) == ["2024-07-05", "2024-07-08"]


def test_unknown_exchange_suggests_names():
    assert resolve_exchange("nyse") == "XNYS"
    with pytest.raises(SpecError, match="Did you mean"):
        resolve_exchange("XNYZ")
