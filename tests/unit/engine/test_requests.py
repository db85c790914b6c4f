from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.requests import bar_seconds, estimate_bars


@pytest.mark.parametrize(
    ("frequency", "seconds"),
    [("1d", 86400), ("1h", 3600), ("5m", 300), ("15min", 900), ("1w", 604800), ("d", 86400)],
)
def test_bar_seconds(frequency, seconds):
    assert bar_seconds(frequency) == seconds


def test_bar_seconds_rejects_nonsense():
    with pytest.raises(ValueError):
        bar_seconds("fortnightly")


def test_estimate_bars_counts_calendar_bars_inclusive():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert estimate_bars(start, datetime(2024, 12, 31, tzinfo=UTC), "1d") == 366
    assert estimate_bars(start, start, "1h") == 1
    assert estimate_bars(start, datetime(2024, 1, 2, tzinfo=UTC), "odd") == 2  # falls back to days
