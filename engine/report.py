"""The results document: the seed's ``GET /backtests/{id}/results`` body, in the seed's units.

Returns, drawdowns, volatility, alpha, VaR/CVaR, win rate, excess return and tracking error
are percent; ratios (Sharpe, Sortino, Calmar, beta, information ratio, profit factor,
correlation) and leverage are plain numbers. Undefined values are null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.metric_table import BY_NAME, display
from engine.metrics import drawdown_series, simple_returns
from engine.statistics import (
    buy_and_hold_return,
    drawdown_periods,
    drawdown_statistics,
    exposure_time,
    trade_quality,
)
from engine.trades import trade_statistics

if TYPE_CHECKING:
    from engine.backtest import BacktestResult

PRICE_SYMBOLS = 4
"""Symbols whose closes the document carries for trade markers (the most traded ones)."""


def _num(value: Any, key: str = "") -> float | None:
    """A JSON-safe number in the document's unit (``engine.metric_table``), None if undefined."""
    return display(key, value)


def _series(values: np.ndarray) -> list[float | None]:
    """A float series as JSON numbers, undefined values (NaN, infinities) as None."""
    values = np.asarray(values, np.float64)
    finite = np.isfinite(values)
    if finite.all():
        return values.tolist()
    out = values.astype(object)
    out[~finite] = None
    return out.tolist()


def _timestamps(result: BacktestResult) -> list[str]:
    return np.char.add(np.datetime_as_string(result.market.timestamps, "s"), "Z").tolist()


SECTION_KEYS = {
    "include_trades": ("trades", "open_positions", "orders"),
    "include_positions": ("positions", "prices"),
    "include_analytics": ("risk_analytics",),
}
"""The document's optional sections, each by the top-level keys it adds; the rest of the
document is the same with or without them."""


def results_document(
    result: BacktestResult,
    include_trades: bool = True,
    include_positions: bool = True,
    include_analytics: bool = True,
) -> dict[str, Any]:
    """The document with the optional sections whose flags are True (``SECTION_KEYS``, in
    the flags' order)."""
    flags = (include_trades, include_positions, include_analytics)
    left_out = [name for name, wanted in zip(SECTION_KEYS, flags, strict=True) if not wanted]
    return without_sections(_full_document(result), left_out)


def without_sections(document: dict[str, Any], sections: list[str]) -> dict[str, Any]:
    """``document`` without the top-level keys of the named sections (a new dict)."""
    dropped = {key for name in sections for key in SECTION_KEYS[name]}
    return {key: value for key, value in document.items() if key not in dropped}


def _full_document(result: BacktestResult) -> dict[str, Any]:
    spec, m = result.spec, result.metrics
    stamps = _timestamps(result)
    trades = [t.record(stamps) for t in result.closed_trades]
    stats = trade_statistics(np.array([t["pnl"] for t in trades]))
    return {
        "backtest_name": spec.backtest_name,
        "backtest_type": spec.backtest_type,
        "execution_summary": _execution_summary(result),
        "performance_metrics": _performance(result, stats),
        "portfolio_performance": _portfolio(result, stamps),
        "benchmark_comparison": _benchmark(result) if result.benchmark is not None else None,
        "trades_summary": {"total_trades": len(trades), "trade_statistics": stats},
        "statistics": statistics_section(result, trades, stats),
        "equity_final": float(result.equity[-1]),
        "risk_analytics": {
            "var_95": _num(m["var_95"], "var_95"),
            "cvar_95": _num(m["cvar_95"], "cvar_95"),
            "maximum_leverage": _num(float(np.max(result.gross_exposure / result.equity))),
            "correlation_with_market": _num(m.get("correlation")),
        },
        "trades": trades,
        "open_positions": [_open_position(result, t, stamps) for t in result.open_trades],
        "orders": [_order(f, stamps) for f in result.fills],
        "positions": _positions(result, stamps),
        "prices": _prices(result, trades),
    }


def statistics_section(
    result: BacktestResult, trades: list[dict[str, Any]], stats: dict[str, Any]
) -> dict[str, float | None]:
    """Every metric of ``engine.metric_table`` that applies, in its unit and the table's order."""
    stamps = result.market.timestamps
    values: dict[str, Any] = {
        **result.metrics,
        "final_equity": float(result.equity[-1]),
        "buy_and_hold_return": buy_and_hold_return(result.market.filled("close")),
        "exposure_time": exposure_time(result.shares),
        "maximum_leverage": float(np.max(result.gross_exposure / result.equity)),
        **drawdown_statistics(drawdown_periods(result.equity, stamps)),
        **_trade_values(trades, stamps),
    }
    win_rate = stats["win_rate"]  # percent in the trade statistics
    values["win_rate"] = None if win_rate is None else win_rate / 100.0
    values["profit_factor"] = stats["profit_factor"]
    has_benchmark = result.benchmark is not None
    return {
        name: info.display(values.get(name))
        for name, info in BY_NAME.items()
        if has_benchmark or not info.needs_benchmark
    }


def _trade_values(trades: list[dict[str, Any]], stamps: np.ndarray) -> dict[str, Any]:
    pnl = np.array([t["pnl"] for t in trades])
    returns = np.array([t["return_pct"] / 100.0 for t in trades])
    bars = [(t["entry_bar"], t["exit_bar"]) for t in trades]
    days = np.array([(stamps[b] - stamps[a]) / np.timedelta64(86_400, "s") for a, b in bars])
    return {"total_trades": len(trades), **trade_quality(pnl, returns, days)}


def _execution_summary(result: BacktestResult) -> dict[str, Any]:
    stamps = np.datetime_as_string(result.market.timestamps[[0, -1]], "s")
    return {
        "status": "completed",
        "start_date": f"{stamps[0]}Z",
        "end_date": f"{stamps[1]}Z",
        **result.summary(),
        "data_source": result.market.source,
        "synthetic_data": result.market.synthetic,
        "dataset_version": result.market.version,
        "input_digest": result.input_digest,
        "fill": result.spec.fill,
        "fractional_shares": result.spec.fractional_shares,
        "strategy": result.spec.strategy_provenance(),
    }


PERFORMANCE_KEYS = (
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "volatility",
    "beta",
    "alpha",
)
"""The contract's ``performance_metrics`` besides the trade figures (win rate, profit factor)."""


def _performance(result: BacktestResult, stats: dict[str, Any]) -> dict[str, Any]:
    m = result.metrics
    out = {key: _num(m.get(key), key) for key in PERFORMANCE_KEYS}
    out["win_rate"] = stats["win_rate"]
    out["profit_factor"] = stats["profit_factor"]
    return out


def _portfolio(result: BacktestResult, stamps: list[str]) -> dict[str, Any]:
    equity = result.equity
    return {
        "initial_value": float(result.spec.initial_capital),
        "final_value": float(equity[-1]),
        "timestamps": stamps,
        "portfolio_values": _series(equity),
        "daily_returns": _series(simple_returns(equity) * 100.0),
        "cumulative_returns": _series((equity / result.spec.initial_capital - 1.0) * 100.0),
        "drawdown_series": _series(drawdown_series(equity) * 100.0),
        "benchmark_values": _benchmark_values(result),
        "returns_unit": "percent",
    }


def _benchmark_values(result: BacktestResult) -> list[float | None] | None:
    """The benchmark as a portfolio of the initial capital bought at the first bar's close."""
    if result.benchmark is None:
        return None
    return _series(result.spec.initial_capital * result.benchmark / result.benchmark[0])


def _benchmark(result: BacktestResult) -> dict[str, Any]:
    m = result.metrics
    return {
        "benchmark_symbol": result.spec.benchmark_symbol,
        "benchmark_performance": {
            "total_return": _num(m["benchmark_total_return"], "benchmark_total_return"),
            "volatility": _num(m["benchmark_volatility"], "benchmark_volatility"),
            "sharpe_ratio": _num(m["benchmark_sharpe"]),
        },
        "relative_performance": {
            "excess_return": _num(m["excess_return"], "excess_return"),
            "information_ratio": _num(m["information_ratio"]),
            "tracking_error": _num(m["tracking_error"], "tracking_error"),
        },
    }


def _open_position(result: BacktestResult, trip, stamps: list[str]) -> dict[str, Any]:
    col = result.market.column(trip.symbol)
    return {
        "symbol": trip.symbol,
        "side": trip.side,
        "entry_time": stamps[trip.entry_bar],
        "size": float(abs(result.shares[-1, col])),
    }


def _order(fill, stamps: list[str]) -> dict[str, Any]:
    return {
        "time": stamps[fill.bar],
        "symbol": fill.symbol,
        "side": "buy" if fill.quantity > 0 else "sell",
        "quantity": abs(fill.quantity),
        "price": fill.price,
        "commission": fill.commission,
        "fee": fill.fee,
    }


def _positions(result: BacktestResult, stamps: list[str]) -> dict[str, Any]:
    return {
        "timestamps": stamps,
        "cash": _series(result.cash),
        "shares": {s: _series(result.shares[:, i]) for i, s in enumerate(result.market.symbols)},
        "gross_exposure": _series(result.gross_exposure),
    }


def _prices(result: BacktestResult, trades: list[dict[str, Any]]) -> dict[str, Any]:
    """Closes of the most traded symbols (at most ``PRICE_SYMBOLS``), for trade markers."""
    counts = {s: sum(t["symbol"] == s for t in trades) for s in result.market.symbols}
    chosen = sorted(result.market.symbols, key=lambda s: -counts[s])[:PRICE_SYMBOLS]
    closes = result.market.filled("close")
    return {s: _series(closes[:, result.market.column(s)]) for s in chosen}
