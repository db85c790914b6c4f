"""The results document: the seed's ``GET /backtests/{id}/results`` body, in the seed's units.

Returns, drawdowns, volatility, alpha, VaR/CVaR, win rate, excess return and tracking error
are percent; ratios (Sharpe, Sortino, Calmar, beta, information ratio, profit factor,
correlation) and leverage are plain numbers. Undefined values are null.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.metrics import drawdown_series, simple_returns
from engine.trades import trade_statistics

if TYPE_CHECKING:
    from engine.backtest import BacktestResult

PERCENT = {
    "total_return",
    "annual_return",
    "max_drawdown",
    "volatility",
    "alpha",
    "var_95",
    "cvar_95",
    "benchmark_total_return",
    "benchmark_volatility",
    "excess_return",
    "tracking_error",
}


def _num(value: Any, key: str = "") -> float | None:
    """A JSON-safe number: percent where the seed shows percent, None when undefined."""
    if value is None or not math.isfinite(value):
        return None
    return float(value) * (100.0 if key in PERCENT else 1.0)


def _series(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in values]


def _timestamps(result: BacktestResult) -> list[str]:
    return [str(t) + "Z" for t in np.datetime_as_string(result.market.timestamps, "s")]


def results_document(
    result: BacktestResult, include_trades: bool, include_positions: bool, include_analytics: bool
) -> dict[str, Any]:
    spec, m = result.spec, result.metrics
    stamps = _timestamps(result)
    trades = [t.record(result.market.timestamps) for t in result.closed_trades]
    stats = trade_statistics(np.array([t["pnl"] for t in trades]))
    document = {
        "backtest_name": spec.backtest_name,
        "backtest_type": spec.backtest_type,
        "execution_summary": _execution_summary(result),
        "performance_metrics": _performance(result, stats),
        "portfolio_performance": _portfolio(result, stamps),
        "benchmark_comparison": _benchmark(result) if result.benchmark is not None else None,
        "trades_summary": {"total_trades": len(trades), "trade_statistics": stats},
        "equity_final": float(result.equity[-1]),
    }
    if include_analytics:
        document["risk_analytics"] = {
            "var_95": _num(m["var_95"], "var_95"),
            "cvar_95": _num(m["cvar_95"], "cvar_95"),
            "maximum_leverage": _num(float(np.max(result.gross_exposure / result.equity))),
            "correlation_with_market": _num(m.get("correlation")),
        }
    if include_trades:
        document["trades"] = trades
        document["open_positions"] = [_open_position(result, t, stamps) for t in result.open_trades]
        document["orders"] = [_order(f, stamps) for f in result.fills]
    if include_positions:
        document["positions"] = _positions(result, stamps)
    return document


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
    }


HEADLINE_METRICS = (
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "calmar_ratio",
    "volatility",
    "beta",
    "alpha",
    "win_rate",
    "profit_factor",
)
"""The results' ``performance_metrics``: what job listings show and sort by."""


def headline(result: BacktestResult) -> dict[str, float | None]:
    """The ``performance_metrics`` of a result, in the seed's units."""
    trades = np.array([t.pnl for t in result.closed_trades])
    return _performance(result, trade_statistics(trades))


def _performance(result: BacktestResult, stats: dict[str, Any]) -> dict[str, Any]:
    m = result.metrics
    out = {key: _num(m.get(key), key) for key in HEADLINE_METRICS[:-2]}
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
        "returns_unit": "percent",
    }


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
