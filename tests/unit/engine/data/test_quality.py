"""Planted defects are found by the right check, at the right dates; clean data scores 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.calendars import expected_bars
from engine.data.quality import SymbolBars, assess, runs
from engine.data.validation import validation_report

START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-31")


def clean_frame(seed: int = 7) -> pd.DataFrame:
    """A year of NYSE sessions: a gentle random walk with consistent OHLC."""
    index = expected_bars("XNYS", START, END)
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * 1.004
    low = np.minimum(open_, close) * 0.996
    volume = rng.integers(1_000_000, 2_000_000, len(index)).astype(float)
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(data, index=index)


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def planted() -> pd.DataFrame:
    f = clean_frame()
    f = f.drop([day(d) for d in ("2024-03-11", "2024-03-12", "2024-03-13")])
    f = f.drop([day("2024-12-24"), day("2024-12-26")])  # around the Christmas holiday
    f.loc[day("2024-05-01"), "close"] = np.nan
    f.loc[day("2024-05-02"), "low"] = 0.0
    f.loc[day("2024-06-03"), ["high", "low"]] = [90.0, 95.0]
    f.loc[day("2024-07-08") : day("2024-07-10"), "volume"] = 0.0
    flat = f.loc[day("2024-08-02"), "close"] * 1.001
    for d in pd.date_range("2024-08-05", "2024-08-09"):
        f.loc[d, ["open", "high", "low", "close"]] = flat
    spike = day("2024-09-16")
    f.loc[spike, ["close", "high"]] = f.loc[spike, "close"] * 1.6, f.loc[spike, "close"] * 1.61
    extra = f.loc[[day("2024-04-15")]]
    holiday = f.loc[[day("2024-07-05")]].set_axis([day("2024-07-04")])
    saturday = f.loc[[day("2024-07-05")]].set_axis([day("2024-07-06")])
    return pd.concat([f, extra, holiday, saturday]).sort_index(kind="stable")


@pytest.fixture(scope="module")
def quality():
    return assess(SymbolBars.from_frame("PLNT", planted()), START, END)


def dates(finding) -> list[str]:
    return [e["timestamp"][:10] for e in finding.examples]


def test_clean_data_has_no_findings_and_scores_one():
    q = assess(SymbolBars.from_frame("CLEAN", clean_frame()), START, END)
    assert {f.check: f.count for f in q.findings if f.count} == {}
    assert q.score == 1.0 and q.coverage == 1.0 and q.usable and q.good


def test_missing_sessions_are_ranges_and_holidays_are_not_gaps(quality):
    periods = [(str(p.start.date()), str(p.end.date()), p.bars) for p in quality.missing_periods]
    assert periods == [("2024-03-11", "2024-03-13", 3), ("2024-12-24", "2024-12-26", 2)]
    assert quality.finding("missing_sessions").count == 5
    assert quality.expected == 252 and quality.present == 247


@pytest.mark.parametrize(
    ("check", "count", "first"),
    [
        ("duplicate_timestamps", 1, ["2024-04-15"]),
        ("invalid_prices", 2, ["2024-05-01", "2024-05-02"]),
        ("inconsistent_ohlc", 1, ["2024-06-03"]),
        ("zero_volume_runs", 3, ["2024-07-08"]),
        ("stale_prices", 5, ["2024-08-05"]),
        ("return_outliers", 2, ["2024-09-16", "2024-09-17"]),
        ("off_calendar_bars", 2, ["2024-07-04", "2024-07-06"]),
    ],
)
def test_each_planted_defect_is_found_at_its_dates(quality, check, count, first):
    finding = quality.finding(check)
    assert finding.count == count
    assert dates(finding) == first


def test_examples_say_what_is_wrong(quality):
    (example,) = quality.finding("inconsistent_ohlc").examples
    assert "high=90" in example["detail"] and "low=95" in example["detail"]
    assert "close=nan" in quality.finding("invalid_prices").examples[0]["detail"]
    frame = planted()
    before, spiked = frame.loc[day("2024-09-13"), "close"], frame.loc[day("2024-09-16"), "close"]
    expected = f"{spiked / before - 1:+.1%}"
    assert expected in quality.finding("return_outliers").examples[0]["detail"]


def test_errors_make_the_symbol_unusable_and_lower_the_score(quality):
    assert {f.check for f in quality.errors} == {
        "duplicate_timestamps",
        "invalid_prices",
        "inconsistent_ohlc",
    }
    assert not quality.usable and 0.0 < quality.score < 0.99


def test_report_shape_and_recommendations(quality):
    clean = assess(SymbolBars.from_frame("CLEAN", clean_frame(3)), START, END)
    empty = assess(SymbolBars.from_frame("NONE", clean_frame().iloc[:0]), START, END)
    report = validation_report([clean, quality, empty], START, END, "1d")
    summary = report["validation_summary"]
    assert summary["symbols_requested"] == 3 and summary["symbols_available"] == 2
    assert summary["overall_coverage_percentage"] == round(100 * (252 + 247) / (3 * 252), 2)
    assert summary["ready_for_backtest"] is False and summary["data_quality_good"] is False
    detail = report["symbol_details"]["PLNT"]
    assert detail["missing_periods"][0] == {
        "start": "2024-03-11T00:00:00Z",
        "end": "2024-03-13T00:00:00Z",
        "missing_bars": 3,
    }
    assert detail["earliest_date"] == "2024-01-02T00:00:00Z"
    assert report["symbol_details"]["NONE"]["available"] is False
    text = " ".join(report["recommendations"])
    assert "NONE: no 1d bars" in text and "PLNT: 2 bar(s) fail invalid_prices" in text
    assert not any(line.startswith("CLEAN") for line in report["recommendations"])


def test_low_coverage_alone_makes_a_symbol_unusable():
    half = clean_frame().iloc[:100]
    q = assess(SymbolBars.from_frame("HALF", half), START, END)
    assert not q.errors and not q.usable
    assert q.missing_periods[-1].bars == 152


def test_runs_finds_runs_of_minimum_length():
    mask = np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    assert runs(mask) == [(0, 2), (3, 3), (7, 1)]
    assert runs(mask, 3) == [(3, 3)]
