"""Extended statistics against backtesting.py 0.6.6 on its GOOG data, and on small cases."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest
from backtesting.test import GOOG

from engine.backtest import run_backtest
from engine.market import Market
from engine.spec import parse_spec
from engine.statistics import (
    buy_and_hold_return,
    drawdown_periods,
    exposure_time,
    geometric_mean_return,
    trade_quality,
    worst_drawdowns,
)
from tests.unit.engine.test_parity_backtesting_py import SmaCross

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def theirs() -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(GOOG, SmaCross, cash=10_000, commission=0.002).run()


@pytest.fixture(scope="module")
def statistics() -> dict:
    spec = parse_spec(json.loads((ROOT / "examples" / "goog_sma.json").read_text()))
    market = Market.from_frames({"GOOG": GOOG.rename(columns=str.lower)}, source="file")
    return run_backtest(spec, market).document()["statistics"]


@pytest.mark.parametrize(
    ("ours", "their_key"),
    [
        ("expectancy", "Expectancy [%]"),
        ("sqn", "SQN"),
        ("kelly_criterion", "Kelly Criterion"),
        ("best_trade", "Best Trade [%]"),
        ("worst_trade", "Worst Trade [%]"),
        ("average_trade", "Avg. Trade [%]"),
        ("average_drawdown", "Avg. Drawdown [%]"),
        ("max_drawdown", "Max. Drawdown [%]"),
        ("win_rate", "Win Rate [%]"),
        ("total_return", "Return [%]"),
    ],
)
def test_statistics_agree_with_backtesting_py(statistics, theirs, ours, their_key):
    np.testing.assert_allclose(statistics[ours], theirs[their_key], rtol=1e-9)


@pytest.mark.parametrize(
    ("ours", "their_key"),
    [
        ("max_drawdown_duration", "Max. Drawdown Duration"),
        ("average_drawdown_duration", "Avg. Drawdown Duration"),
        ("average_trade_duration", "Avg. Trade Duration"),
    ],
)
def test_durations_agree_once_rounded_up_to_days(statistics, theirs, ours, their_key):
    """backtesting.py rounds durations up to the bar period (a day here); we keep fractions."""
    assert np.ceil(statistics[ours]) == theirs[their_key].days
    assert theirs[their_key].days - 1 < statistics[ours] <= theirs[their_key].days


def test_buy_and_hold_from_the_first_traded_bar(theirs):
    """backtesting.py buys at the close of the bar where the slow SMA is first defined."""
    closes = GOOG["Close"].to_numpy()
    first = 20 - 1
    np.testing.assert_allclose(
        100 * buy_and_hold_return(closes[first:]), theirs["Buy & Hold Return [%]"], rtol=1e-12
    )


def test_units_and_counts(statistics):
    assert statistics["total_trades"] == 93 and isinstance(statistics["total_trades"], int)
    assert statistics["final_equity"] == pytest.approx(56_263.52, abs=0.005)
    assert "beta" not in statistics  # no benchmark: benchmark metrics are left out
    assert 90 < statistics["exposure_time"] <= 100


def test_drawdown_periods_by_hand():
    equity = np.array([100, 110, 99, 105, 110, 120, 90, 95.0])
    stamps = np.arange(8).astype("datetime64[D]").astype("datetime64[s]")
    periods = drawdown_periods(equity, stamps)
    assert [(p.start, p.trough, p.end, p.recovered) for p in periods] == [
        (1, 2, 4, True),
        (5, 6, 7, False),
    ]
    assert periods[0].depth == pytest.approx(-0.1) and periods[0].duration_days == 3
    assert periods[1].depth == pytest.approx(-0.25) and periods[1].duration_days == 2
    assert worst_drawdowns(periods, 1) == [periods[1]]
    assert drawdown_periods(np.array([1.0, 2.0, 3.0]), stamps[:3]) == []


def test_exposure_and_buy_and_hold_by_hand():
    shares = np.array([[0, 0], [1, 0], [0, -2], [0, 0]])
    assert exposure_time(shares) == 0.5
    closes = np.array([[10.0, 20.0], [12.0, 10.0]])
    assert buy_and_hold_return(closes) == pytest.approx((0.2 - 0.5) / 2)


def test_trade_quality_by_hand():
    pnl = np.array([10.0, -5.0, 20.0, -5.0])
    returns = np.array([0.1, -0.05, 0.2, -0.05])
    quality = trade_quality(pnl, returns, np.array([1.0, 2.0, 3.0, 6.0]))
    assert quality["expectancy"] == pytest.approx(0.05)
    assert quality["sqn"] == pytest.approx(2 * 5.0 / np.std(pnl, ddof=1))
    assert quality["kelly_criterion"] == pytest.approx(0.5 - 0.5 / (15.0 / 5.0))
    assert (quality["best_trade"], quality["worst_trade"]) == (0.2, -0.05)
    assert quality["average_trade_duration"] == 3.0
    assert np.isnan(trade_quality(np.array([1.0]), np.array([0.1]), np.ones(1))["sqn"])
    assert all(np.isnan(v) for v in trade_quality(np.array([]), np.array([]), []).values())


def test_geometric_mean_return():
    assert geometric_mean_return(np.array([0.1, -0.1])) == pytest.approx(np.sqrt(0.99) - 1)
    assert geometric_mean_return(np.array([0.5, -1.0])) == 0.0
