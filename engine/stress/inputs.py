"""What a stress test runs on: the book and its daily history, from a portfolio or a backtest.

Pure: the caller loads the market (``HistoryWindow`` reads like a run spec, so the service's
market loader takes it) and, for a backtest, its stored result document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.market import Market
from engine.stress.montecarlo import Book, History, inline_book
from engine.stress.request import StressRequest


@dataclass(frozen=True)
class HistoryWindow:
    """The bars a book's model is estimated on, with the fields a market loader reads."""

    symbols: tuple[str, ...]
    benchmark_symbol: str | None
    start_date: pd.Timestamp
    end_date: pd.Timestamp
    data_sources: tuple[str, ...] = ("synthetic",)
    data_seed: int = 42
    frequency: str = "1d"

    def without_benchmark(self) -> HistoryWindow:
        return replace(self, benchmark_symbol=None)


def inline_window(request: StressRequest) -> HistoryWindow:
    """The history of an inline portfolio's symbols plus the market proxy."""
    return HistoryWindow(
        tuple(request.portfolio),
        request.market_proxy,
        request.history_start_date,
        request.history_end_date,
        request.data_sources,
        request.data_seed,
    )


def backtest_window(spec: Any, market_proxy: str | None) -> HistoryWindow:
    """A backtest's own window and data, with the market proxy in place of its benchmark."""
    return HistoryWindow(
        tuple(spec.symbols),
        market_proxy,
        spec.start_date,
        spec.end_date,
        tuple(spec.data_sources),
        spec.data_seed,
        spec.frequency,
    )


def daily_closes(market: Market) -> pd.DataFrame:
    """Forward-filled closes, one row per day (the last bar of each day for intraday data)."""
    index = pd.DatetimeIndex(market.timestamps)
    frame = pd.DataFrame(market.filled("close"), index=index, columns=list(market.symbols))
    return frame.groupby(index.normalize()).last()


def _returns(closes: pd.DataFrame) -> pd.DataFrame:
    return closes / closes.shift(1) - 1.0


def history(closes: pd.DataFrame, symbols: tuple[str, ...], proxy: str | None) -> History:
    """Daily simple returns of ``symbols`` and of the market proxy (when it was loaded)."""
    missing = [s for s in symbols if s not in closes.columns]
    if missing:
        raise DataError(f"no bars for {missing} in the history window")
    returns = _returns(closes).iloc[1:]
    market = returns[proxy].to_numpy() if proxy in returns.columns else None
    return History(returns[list(symbols)].to_numpy(), market=market)


def inline_inputs(request: StressRequest, market: Market) -> tuple[Book, History]:
    """The book of an inline portfolio and its history from ``market``."""
    book = inline_book(request)
    return book, history(daily_closes(market), book.symbols, request.market_proxy)


def backtest_inputs(
    document: Mapping[str, Any], market: Market, proxy: str | None
) -> tuple[Book, History]:
    """The book held at a backtest's last bar, its history and the strategy's daily returns.

    Positions and cash come from the stored result document (the truth of what was held);
    prices and returns from ``market``, the backtest's own bars.
    """
    positions = document.get("positions")
    if not positions:
        raise DataError("the backtest's result has no positions; run it again to store them")
    symbols = tuple(positions["shares"])
    shares = np.array([_last(positions["shares"][s]) for s in symbols])
    closes = daily_closes(market)
    prices = closes[list(symbols)].iloc[-1].to_numpy()
    book = Book(symbols, shares * prices, _last(positions["cash"]))
    found = history(closes, symbols, proxy)
    return book, History(found.assets, found.market, _strategy_returns(document))


def _last(series: list[float | None]) -> float:
    known = [v for v in series if v is not None]
    return float(known[-1]) if known else 0.0


def _strategy_returns(document: Mapping[str, Any]) -> np.ndarray:
    """Daily returns of the backtest's equity curve (end-of-day values for intraday runs)."""
    performance = document["portfolio_performance"]
    index = pd.DatetimeIndex(pd.to_datetime(performance["timestamps"]))
    equity = pd.Series(np.array(performance["portfolio_values"], dtype=float), index=index)
    equity = equity.groupby(index.normalize()).last()
    return (equity / equity.shift(1) - 1.0).iloc[1:].to_numpy()
