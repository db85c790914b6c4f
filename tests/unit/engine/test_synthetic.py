"""The synthetic market: deterministic per bar, realistic OHLCV, correlated, fast, strict."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data import synthetic_market
from engine.data.synthetic import symbol_profile
from engine.errors import SpecError
from engine.market import FIELDS, Market

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM"]


def assert_same_bars(a: Market, b: Market) -> None:
    """Bit-identical timestamps, symbols and OHLCV."""
    assert a.symbols == b.symbols
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def assert_ohlcv_consistent(m: Market) -> None:
    for name in FIELDS:
        assert np.isfinite(getattr(m, name)).all(), name
    assert (m.low > 0).all() and (m.volume > 0).all()
    assert (m.high >= np.maximum(m.open, m.close)).all()
    assert (m.low <= np.minimum(m.open, m.close)).all()


# --- determinism ----------------------------------------------------------------------------


def test_same_inputs_give_identical_markets():
    a = synthetic_market(SYMBOLS, "2015-01-01", "2016-12-31", seed=7)
    b = synthetic_market(SYMBOLS, "2015-01-01", "2016-12-31", seed=7)
    assert_same_bars(a, b)
    assert a.version == b.version


def test_bars_do_not_depend_on_the_other_symbols():
    full = synthetic_market(SYMBOLS, "2018-01-01", "2019-06-30")
    alone = synthetic_market(["XOM", "AAPL"], "2018-01-01", "2019-06-30")
    assert_same_bars(full.select(["XOM", "AAPL"]), alone)


@pytest.mark.parametrize(
    ("wide", "narrow"),
    [
        (("2010-01-01", "2012-12-31"), ("2011-03-15", "2011-09-30")),
        (("1995-01-01", "2001-06-30"), ("1998-02-02", "2000-02-01")),  # across the origin
        (("1990-01-01", "1996-12-31"), ("1993-05-05", "1994-05-05")),  # wholly before it
    ],
)
def test_daily_bars_do_not_depend_on_the_window(wide, narrow):
    big = synthetic_market(SYMBOLS, *wide)
    small = synthetic_market(SYMBOLS, *narrow)
    t0, t1 = (pd.Timestamp(t, tz="UTC") for t in narrow)
    assert small.n_bars > 0
    assert_same_bars(big.between(t0, t1), small)


@pytest.mark.parametrize("frequency", ["1m", "5m", "1h"])
def test_intraday_bars_do_not_depend_on_the_window(frequency):
    big = synthetic_market(SYMBOLS, "2024-01-01", "2024-01-12", frequency)
    t0, t1 = pd.Timestamp("2024-01-05 15:07", tz="UTC"), pd.Timestamp("2024-01-09 17:00", tz="UTC")
    small = synthetic_market(SYMBOLS[1:3], t0, t1, frequency)
    assert small.n_bars > 0
    assert_same_bars(big.between(t0, t1).select(SYMBOLS[1:3]), small)


def test_pinned_values_guard_the_streams_against_accidental_change():
    """Stable across processes and platforms: no salted hash, no numpy normal sampler."""
    profile = symbol_profile("AAPL", 42)
    assert profile.volatility == pytest.approx(0.20786834475584326, rel=1e-12)
    m = synthetic_market(["AAPL"], "2020-01-02", "2020-01-03")
    np.testing.assert_allclose(m.close[:, 0], PINNED_AAPL_CLOSES, rtol=1e-12)


PINNED_AAPL_CLOSES = [13.092101865432186, 12.735626187703751]  # synthetic-v1, seed 42


def test_seed_changes_every_stream():
    a = synthetic_market(SYMBOLS, "2020-01-01", "2020-03-31", seed=1)
    b = synthetic_market(SYMBOLS, "2020-01-01", "2020-03-31", seed=2)
    assert not np.isclose(a.close, b.close).any()


# --- realism --------------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", ["1d", "15m", "1h"])
def test_ohlcv_is_consistent(frequency):
    end = "2021-12-31" if frequency == "1d" else "2021-02-28"
    assert_ohlcv_consistent(synthetic_market(SYMBOLS, "2019-01-01", end, frequency))


@settings(max_examples=25, deadline=None)
@given(
    symbols=st.lists(
        st.text(min_size=1, max_size=8).filter(str.strip), min_size=1, max_size=4, unique=True
    ),
    seed=st.integers(0, 2**40),
    start=st.dates(pd.Timestamp("1980-01-01").date(), pd.Timestamp("2040-01-01").date()),
)
def test_ohlcv_is_consistent_for_any_symbols_and_seed(symbols, seed, start):
    m = synthetic_market(symbols, start, pd.Timestamp(start) + pd.Timedelta(days=60), seed=seed)
    assert m.n_bars > 30
    assert_ohlcv_consistent(m)


def test_opens_gap_from_the_previous_close():
    m = synthetic_market(SYMBOLS, "2020-01-01", "2020-12-31")
    gap = np.log(m.open[1:] / m.close[:-1])
    assert (gap != 0).all()
    assert np.abs(gap).mean() < np.abs(np.log(m.close[1:] / m.close[:-1])).mean()


def test_volume_is_higher_on_big_moves():
    m = synthetic_market(SYMBOLS, "2005-01-01", "2015-12-31")
    moves = np.abs(np.diff(np.log(m.close), axis=0))
    volume = m.volume[1:]
    big = moves > np.quantile(moves, 0.8, axis=0)
    small = moves < np.quantile(moves, 0.2, axis=0)
    for s in range(len(SYMBOLS)):
        assert np.median(volume[big[:, s], s]) > 1.3 * np.median(volume[small[:, s], s])


def test_profiles_stay_in_their_designed_ranges():
    profiles = [symbol_profile(f"S{i}", 42) for i in range(300)]
    vols = np.array([p.volatility for p in profiles])
    rhos = np.array([p.correlation for p in profiles])
    assert vols.min() >= 0.15 and vols.max() <= 0.45
    assert rhos.min() >= 0.30 and rhos.max() <= 0.80
    assert vols.std() > 0.05  # symbols really differ


def test_returns_match_the_designed_volatility_and_correlation():
    m = synthetic_market(SYMBOLS, "2000-01-03", "2019-12-31")
    returns = np.diff(np.log(m.close), axis=0)
    profiles = [symbol_profile(s, 42) for s in SYMBOLS]
    realised = returns.std(axis=0) * np.sqrt(252)
    np.testing.assert_allclose(realised, [p.volatility for p in profiles], rtol=0.08)
    corr = np.corrcoef(returns.T)
    for i in range(len(SYMBOLS)):
        for j in range(i):
            expected = profiles[i].correlation * profiles[j].correlation
            assert corr[i, j] > 0
            assert corr[i, j] == pytest.approx(expected, abs=0.06)


def test_intraday_days_chain_through_the_daily_series():
    daily = synthetic_market(SYMBOLS, "2024-03-04", "2024-03-08")
    bars = synthetic_market(SYMBOLS, "2024-03-04", "2024-03-08 23:59", "30m")
    days = bars.timestamps.astype("datetime64[D]")
    for k, day in enumerate(daily.timestamps.astype("datetime64[D]")):
        rows = np.flatnonzero(days == day)
        np.testing.assert_allclose(bars.open[rows[0]], daily.open[k], rtol=1e-12)
        np.testing.assert_allclose(bars.close[rows[-1]], daily.close[k], rtol=1e-12)
        np.testing.assert_array_equal(bars.open[rows[1:]], bars.close[rows[:-1]])


# --- calendar -------------------------------------------------------------------------------


def test_daily_bars_are_weekdays_at_midnight():
    m = synthetic_market(["A"], "2024-01-01", "2024-12-31")
    ts = pd.DatetimeIndex(m.timestamps)
    assert (ts == ts.normalize()).all()
    assert (ts.day_of_week < 5).all()
    assert len(ts) == np.busday_count("2024-01-01", "2025-01-01")
    assert m.source == "synthetic" and m.synthetic and m.frequency == "1d"


@pytest.mark.parametrize(
    ("frequency", "per_day"), [("1m", 390), ("5m", 78), ("15m", 26), ("30m", 13), ("1h", 7)]
)
def test_intraday_bars_lie_inside_weekday_sessions(frequency, per_day):
    m = synthetic_market(["A", "B"], "2024-03-01", "2024-03-12 23:00", frequency)
    ts = pd.DatetimeIndex(m.timestamps)
    minute = ts.hour * 60 + ts.minute
    assert ((minute >= 14 * 60 + 30) & (minute < 21 * 60)).all()
    assert (ts.day_of_week < 5).all()
    assert ts.is_monotonic_increasing and ts.is_unique
    assert (pd.Series(1, index=ts).groupby(ts.normalize()).size() == per_day).all()
    assert m.frequency == frequency
    assert_ohlcv_consistent(m)


def test_window_edges_are_inclusive_and_timezones_convert_to_utc():
    m = synthetic_market(["A"], "2024-01-02 09:30-05:00", "2024-01-02T15:30:00Z", "30m")
    ts = pd.DatetimeIndex(m.timestamps)
    assert ts[0] == pd.Timestamp("2024-01-02 14:30") and ts[-1] == pd.Timestamp("2024-01-02 15:30")


def test_a_weekend_window_has_no_bars():
    m = synthetic_market(["A", "B"], "2024-01-06", "2024-01-07")
    assert m.n_bars == 0 and m.close.shape == (0, 2)


# --- version, errors, speed -----------------------------------------------------------------


def test_version_changes_with_every_input():
    base = dict(symbols=["A", "B"], start="2020-01-01", end="2020-06-30", frequency="1d", seed=1)
    changes = [
        {"symbols": ["B", "A"]},
        {"start": "2020-01-02"},
        {"end": "2020-06-29"},
        {"frequency": "1h"},
        {"seed": 2},
    ]
    version = synthetic_market(**base).version
    assert version.startswith("synthetic-v1:") and len(version) == len("synthetic-v1:") + 16
    others = {synthetic_market(**(base | change)).version for change in changes}
    assert version not in others and len(others) == len(changes)


@pytest.mark.parametrize(
    ("kwargs", "field", "hint"),
    [
        ({"symbols": []}, "symbols", "at least one"),
        ({"symbols": ["A", "A"]}, "symbols", "once"),
        ({"symbols": ["A", ""]}, "symbols", "non-empty"),
        ({"symbols": 5}, "symbols", "non-empty"),
        ({"start": "not a date"}, "start_date", "ISO 8601"),
        ({"end": "2019-12-31"}, "end_date", "on or after start_date"),
        ({"frequency": "2h"}, "frequency", "1m, 5m, 15m, 30m, 1h, 1d"),
        ({"seed": "x"}, "seed", "integer"),
    ],
)
def test_bad_inputs_raise_spec_errors_naming_the_field(kwargs, field, hint):
    args = dict(symbols=["A"], start="2020-01-01", end="2020-12-31", frequency="1d", seed=1)
    with pytest.raises(SpecError) as info:
        synthetic_market(**(args | kwargs))
    assert field in info.value.errors
    assert hint in " ".join(info.value.errors[field])


def test_500_symbols_by_5000_days_is_fast():
    symbols = [f"SYM{i:03d}" for i in range(500)]
    best = np.inf
    for _ in range(2):
        started = time.perf_counter()
        m = synthetic_market(symbols, "2000-01-03", "2019-02-28")
        best = min(best, time.perf_counter() - started)
    assert m.close.shape == (4999, 500)
    assert best < 2.0
