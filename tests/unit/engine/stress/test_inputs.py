"""The book and history of a stress test, from an inline portfolio or a stored backtest result."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backtest import run_backtest
from engine.data import synthetic_market
from engine.errors import DataError
from engine.spec import parse_spec
from engine.stress import parse_stress_request
from engine.stress.inputs import (
    backtest_inputs,
    backtest_window,
    daily_closes,
    inline_inputs,
    inline_window,
)

SYMBOLS = ["SPY", "QQQ", "TLT"]


def _spec():
    return parse_spec(
        {
            "backtest_name": "stress base",
            "start_date": "2023-01-01",
            "end_date": "2023-06-30",
            "symbols": SYMBOLS,
            "strategy_id": "momentum_factor",
            "strategy_parameters": {"lookback_period": 10},
            "benchmark_symbol": "SPY",
        }
    )


def test_a_backtest_book_is_its_last_bar_and_worth_its_final_equity():
    spec = _spec()
    market = synthetic_market(SYMBOLS, spec.start_date, spec.end_date, seed=spec.data_seed)
    document = run_backtest(spec, market).document()
    book, history = backtest_inputs(document, market, "SPY")
    assert book.symbols == tuple(SYMBOLS)
    assert book.value == pytest.approx(document["equity_final"], rel=1e-12)
    closes = market.filled("close")
    assert history.assets.shape == (market.n_bars - 1, 3)
    assert np.allclose(history.assets[:, 1], closes[1:, 1] / closes[:-1, 1] - 1)
    assert np.allclose(history.market, history.assets[:, 0])
    equity = np.array(document["portfolio_performance"]["portfolio_values"])
    assert np.allclose(history.strategy, equity[1:] / equity[:-1] - 1)
    window = backtest_window(spec, "IWM")
    assert window.symbols == tuple(SYMBOLS) and window.benchmark_symbol == "IWM"
    with pytest.raises(DataError, match="no positions"):
        backtest_inputs({**document, "positions": None}, market, "SPY")


def test_an_inline_book_reads_its_history_from_the_window_of_the_request():
    request = parse_stress_request(
        {"portfolio": {"QQQ": 0.5, "TLT": -0.2}, "initial_value": 1000.0,
         "history_start_date": "2022-01-01", "history_end_date": "2022-12-31"}
    )  # fmt: skip
    window = inline_window(request)
    assert window.symbols == ("QQQ", "TLT") and window.benchmark_symbol == "SPY"
    market = synthetic_market(["QQQ", "TLT", "SPY"], window.start_date, window.end_date)
    book, history = inline_inputs(request, market)
    assert list(book.values) == [500.0, -200.0] and book.cash == 700.0
    assert history.assets.shape == (market.n_bars - 1, 2) and history.strategy is None
    without_proxy = market.select(["QQQ", "TLT"])
    assert inline_inputs(request, without_proxy)[1].market is None


def test_intraday_bars_become_daily_closes():
    market = synthetic_market(["SPY"], "2024-03-04", "2024-03-07", frequency="1h")
    daily = daily_closes(market)
    days = market.timestamps.astype("datetime64[D]")
    assert len(daily) == len(set(days)) >= 3
    for day, close in daily["SPY"].items():
        last_bar = np.flatnonzero(days == np.datetime64(day.date()))[-1]
        assert close == market.filled("close")[last_bar, 0]
