"""The backtest report: a results document (and its spec) in, one self-contained HTML page out.

Every number is the document's or derived from its series by ``engine.analytics`` and
``engine.statistics``; this module only draws. Sections the document was read without
(positions, trades) are left out of the page rather than drawn empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.analytics import calendar_returns, monthly_table, rolling_statistics, rolling_window
from engine.metrics import periods_per_year
from engine.statistics import drawdown_periods, worst_drawdowns
from reports.page import COLORS, Section, figure, page, statistics_tables

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WORST_PERIODS = 5


def _stamps(document: Mapping[str, Any]) -> np.ndarray:
    text = [t.rstrip("Z") for t in document["portfolio_performance"]["timestamps"]]
    return np.array(text, dtype="datetime64[s]")


def _equity(document: Mapping[str, Any]) -> np.ndarray:
    values = document["portfolio_performance"]["portfolio_values"]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def equity_figure(document: Mapping[str, Any]) -> go.Figure:
    """Equity against the benchmark bought with the same capital; a linear/log switch."""
    p = document["portfolio_performance"]
    fig = go.Figure()
    fig.add_scatter(
        x=p["timestamps"],
        y=p["portfolio_values"],
        name="strategy",
        line={"color": COLORS["strategy"]},
    )
    if p.get("benchmark_values"):
        symbol = (document.get("benchmark_comparison") or {}).get("benchmark_symbol", "benchmark")
        fig.add_scatter(
            x=p["timestamps"],
            y=p["benchmark_values"],
            name=f"{symbol} (buy and hold)",
            line={"color": COLORS["benchmark"]},
        )
    scales = [
        {"label": label, "method": "relayout", "args": [{"yaxis.type": kind}]}
        for label, kind in (("linear", "linear"), ("log scale", "log"))
    ]
    fig.update_layout(
        updatemenus=[
            {"buttons": scales, "type": "buttons", "direction": "right", "x": 0, "y": 1.15}
        ],
        yaxis_title="value",
        height=420,
    )
    return fig


def drawdown_figure(document: Mapping[str, Any]) -> go.Figure:
    """The underwater curve (percent below the running peak), the deepest periods shaded."""
    p = document["portfolio_performance"]
    fig = go.Figure()
    fig.add_scatter(
        x=p["timestamps"],
        y=p["drawdown_series"],
        fill="tozeroy",
        name="drawdown",
        line={"color": COLORS["loss"]},
    )
    stamps = p["timestamps"]
    periods = worst_drawdowns(drawdown_periods(_equity(document), _stamps(document)), WORST_PERIODS)
    for rank, period in enumerate(periods, start=1):
        fig.add_vrect(
            x0=stamps[period.start],
            x1=stamps[period.end],
            fillcolor=COLORS["loss"],
            opacity=0.08,
            line_width=0,
            annotation_text=f"#{rank} {100 * period.depth:.1f}%",
            annotation_position="bottom left",
        )
    fig.update_layout(yaxis_title="drawdown (%)", height=320, showlegend=False)
    return fig


def returns_heatmap(document: Mapping[str, Any]) -> go.Figure:
    """Monthly returns (percent) by year, with each year's compounded return in a last column."""
    equity, stamps = _equity(document), _stamps(document)
    table = monthly_table(equity, stamps) * 100.0
    yearly = calendar_returns(equity, stamps, "Y") * 100.0
    z = np.column_stack([table.to_numpy(), yearly.to_numpy()])
    text = [["" if np.isnan(v) else f"{v:.1f}" for v in row] for row in z]
    years = [str(y) for y in table.index]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[*MONTHS, "Year"],
            y=years,
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0,
            colorbar={"title": "%"},
            hovertemplate="%{y} %{x}: %{z:.2f} %<extra></extra>",
        )
    )
    fig.update_layout(height=max(220, 40 * len(years) + 120), yaxis={"autorange": "reversed"})
    return fig


def rolling_figure(document: Mapping[str, Any], spec: Mapping[str, Any]) -> go.Figure:
    """Rolling Sharpe ratio and volatility over six months of bars (fewer on short runs)."""
    ppy = periods_per_year(spec.get("frequency", "1d"))
    equity = _equity(document)
    window = rolling_window(len(equity), ppy)
    rolling = rolling_statistics(equity, ppy, float(spec.get("risk_free_rate", 0.0)), window)
    x = document["portfolio_performance"]["timestamps"][1:]
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(f"Sharpe ratio ({window} bars)", f"volatility ({window} bars, % p.a.)"),
    )
    fig.add_scatter(
        x=x,
        y=rolling["sharpe_ratio"],
        name="Sharpe",
        row=1,
        col=1,
        line={"color": COLORS["strategy"]},
    )
    fig.add_scatter(
        x=x,
        y=rolling["volatility"] * 100.0,
        name="volatility",
        row=2,
        col=1,
        line={"color": COLORS["benchmark"]},
    )
    fig.update_layout(height=440, showlegend=False)
    return fig


def exposure_figure(document: Mapping[str, Any]) -> go.Figure:
    """Gross exposure as a percent of equity, and how many symbols are held, per bar."""
    positions = document["positions"]
    equity = _equity(document)
    gross = np.array(positions["gross_exposure"], dtype=np.float64)
    held = np.sum(
        [np.array(s, dtype=np.float64) != 0 for s in positions["shares"].values()], axis=0
    )
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=positions["timestamps"],
        y=100.0 * gross / equity,
        name="gross exposure (% of equity)",
        fill="tozeroy",
        line={"color": COLORS["strategy"]},
    )
    fig.add_scatter(
        x=positions["timestamps"],
        y=held,
        name="symbols held",
        secondary_y=True,
        line={"color": COLORS["benchmark"], "shape": "hv"},
    )
    fig.update_yaxes(title_text="% of equity", secondary_y=False)
    fig.update_yaxes(title_text="symbols", secondary_y=True)
    fig.update_layout(height=320)
    return fig


def trades_on_price(document: Mapping[str, Any]) -> go.Figure:
    """Each drawn symbol's close with its trades: entries (triangles) and exits (coloured by
    the trade's P&L)."""
    prices, stamps = document["prices"], document["portfolio_performance"]["timestamps"]
    fig = make_subplots(rows=len(prices), cols=1, shared_xaxes=True, subplot_titles=list(prices))
    for row, (symbol, closes) in enumerate(prices.items(), start=1):
        fig.add_scatter(
            x=stamps,
            y=closes,
            name=symbol,
            row=row,
            col=1,
            showlegend=False,
            line={"color": COLORS["benchmark"], "width": 1},
        )
        trades = [t for t in document["trades"] if t["symbol"] == symbol]
        _add_trade_markers(fig, trades, row)
    fig.update_layout(height=260 * len(prices) + 60, legend={"orientation": "h"})
    return fig


def _add_trade_markers(fig: go.Figure, trades: list[dict[str, Any]], row: int) -> None:
    first = row == 1
    for side, symbol_shape in (("long", "triangle-up"), ("short", "triangle-down")):
        legs = [t for t in trades if t["side"] == side]
        fig.add_scatter(
            x=[t["entry_time"] for t in legs],
            y=[t["entry_price"] for t in legs],
            mode="markers",
            name=f"{side} entry",
            legendgroup=side,
            showlegend=first,
            marker={"symbol": symbol_shape, "size": 9, "color": COLORS["strategy"]},
            row=row,
            col=1,
        )
    fig.add_scatter(
        x=[t["exit_time"] for t in trades],
        y=[t["exit_price"] for t in trades],
        mode="markers",
        name="exit",
        legendgroup="exit",
        showlegend=first,
        row=row,
        col=1,
        marker={
            "symbol": "x",
            "size": 8,
            "color": [COLORS["gain"] if t["pnl"] > 0 else COLORS["loss"] for t in trades],
        },
        text=[f"{t['side']} {t['return_pct']:+.2f}% ({t['pnl']:+,.2f})" for t in trades],
        hovertemplate="%{text}<extra></extra>",
    )


def trade_distribution(document: Mapping[str, Any]) -> go.Figure:
    """Histogram of round-trip returns (percent of the entry notional), zero and mean marked."""
    returns = [t["return_pct"] for t in document["trades"]]
    fig = go.Figure(
        go.Histogram(
            x=returns,
            nbinsx=min(60, max(10, len(returns) // 3)),
            marker={"color": COLORS["strategy"]},
            name="trades",
        )
    )
    fig.add_vline(x=0, line={"color": "#333", "width": 1})
    fig.add_vline(
        x=float(np.mean(returns)),
        line={"color": COLORS["gain"], "dash": "dash"},
        annotation_text=f"mean {np.mean(returns):.2f}%",
    )
    fig.update_layout(xaxis_title="trade return (%)", yaxis_title="trades", height=320)
    return fig


def sections(document: Mapping[str, Any], spec: Mapping[str, Any]) -> list[Section]:
    """The report's blocks in reading order, skipping those whose data the document lacks."""
    out = [
        Section("Statistics", statistics_tables(document.get("statistics") or {})),
        Section("Equity", figure(equity_figure(document), "equity")),
        Section(
            "Drawdown",
            figure(drawdown_figure(document), "drawdown"),
            f"The {WORST_PERIODS} deepest drawdown periods are shaded, from peak to recovery.",
        ),
        Section("Monthly and yearly returns (%)", figure(returns_heatmap(document), "monthly")),
        Section(
            "Rolling Sharpe ratio and volatility", figure(rolling_figure(document, spec), "rolling")
        ),
    ]
    if document.get("positions"):
        out.append(Section("Exposure", figure(exposure_figure(document), "exposure")))
    if document.get("prices") and document.get("trades") is not None:
        out.append(
            Section(
                "Trades on price",
                figure(trades_on_price(document), "trades"),
                "Closes of the most traded symbols; exits are green for a gain.",
            )
        )
    if document.get("trades"):
        out.append(Section("Trade returns", figure(trade_distribution(document), "distribution")))
    return out


def facts(document: Mapping[str, Any], spec: Mapping[str, Any]) -> list[str]:
    """Header lines: period, data source (synthetic data said so), strategy and capital."""
    s = document["execution_summary"]
    source = escape(str(s.get("data_source")))
    if s.get("synthetic_data"):
        source += " <strong>(synthetic data, not market prices)</strong>"
    params = ", ".join(f"{k}={v}" for k, v in (spec.get("strategy_parameters") or {}).items())
    return [
        f"{escape(s['start_date'][:10])} to {escape(s['end_date'][:10])} · "
        f"{escape(str(spec.get('frequency', '1d')))} bars · data: {source}",
        f"strategy {escape(str(spec.get('strategy_id')))}({escape(params)}) · symbols: "
        f"{escape(', '.join(spec.get('symbols', [])))}",
        f"initial capital {document['portfolio_performance']['initial_value']:,.2f} · "
        f"computed on {escape(str(s.get('hardware_used')))} · "
        f"input digest {escape(str(s.get('input_digest'))[:12])}",
    ]


def render_backtest_report(
    document: Mapping[str, Any], spec: Mapping[str, Any], plotly_src: str | None = None
) -> str:
    """The HTML report of a backtest's results document; ``spec`` is its ``POST`` body."""
    title = f"Backtest report: {document['backtest_name']}"
    return page(title, facts(document, spec), sections(document, spec), plotly_src)
