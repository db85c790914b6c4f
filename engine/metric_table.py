"""The one table of metrics: name, label, unit, direction and whether it needs a benchmark.

The results document, the reports' statistics tables, the CLI summary, the dashboard's
leaderboard and the optimization targets all read it, so a metric's unit and the direction
in which it is better are written down once. ``unit`` is the unit of the value as the results
document shows it: metrics in a percent unit are fractions in the engine, times 100 there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAXIMIZE, MINIMIZE = "maximize", "minimize"
PERCENT_UNITS = frozenset({"%", "% p.a.", "% per bar"})
COUNT_UNITS = frozenset({"trades"})
GROUPS = ("returns", "risk", "benchmark", "trades")


@dataclass(frozen=True)
class MetricInfo:
    """How one metric is named, shown and compared.

    ``transform`` is ``"magnitude"`` for losses reported as negative numbers (drawdowns, VaR),
    whose size is what a direction refers to. ``optimizable`` marks the metrics a parameter
    sweep computes for every set, which are the ones an optimization may target.
    """

    name: str
    label: str
    unit: str
    direction: str | None
    group: str
    needs_benchmark: bool = False
    transform: str = "value"
    optimizable: bool = False

    @property
    def percent(self) -> bool:
        return self.unit in PERCENT_UNITS

    def display(self, fraction: float | None) -> float | int | None:
        """An engine value (fractions) in the document's unit; None when undefined."""
        if fraction is None or not math.isfinite(fraction):
            return None
        if self.unit in COUNT_UNITS:
            return int(fraction)
        return float(fraction) * (100.0 if self.percent else 1.0)

    @property
    def better_first(self) -> str:
        """The sort key that lists better values first: ``-name`` for descending. A loss shown
        as a negative number (``magnitude``) is better when it is closer to zero."""
        descending = (self.direction != MINIMIZE) != (self.transform == "magnitude")
        return f"-{self.name}" if descending else self.name

    def format(self, value: float | None) -> str:
        """A document value with its unit, for people: ``12.34 %``, ``1.52``, ``n/a``."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "n/a"
        if self.unit in COUNT_UNITS:
            return f"{int(value):,d}"
        if self.unit == "currency":
            return f"{value:,.2f}"
        if self.unit == "days":
            return f"{value:,.1f} days"
        text = f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
        return text if self.unit == "ratio" else f"{text} {self.unit}"


def _m(name: str, label: str, unit: str, direction: str | None, group: str, **kw) -> MetricInfo:
    return MetricInfo(name, label, unit, direction, group, **kw)


_OPT = {"optimizable": True}
_LOSS = {"transform": "magnitude"}
_BENCH = {"needs_benchmark": True}

METRICS: tuple[MetricInfo, ...] = (
    _m("total_return", "Total return", "%", MAXIMIZE, "returns", **_OPT),
    _m("annual_return", "Annual return (CAGR)", "% p.a.", MAXIMIZE, "returns", **_OPT),
    _m("buy_and_hold_return", "Buy-and-hold return", "%", None, "returns"),
    _m("final_equity", "Final equity", "currency", MAXIMIZE, "returns", **_OPT),
    _m("volatility", "Volatility", "% p.a.", MINIMIZE, "risk", **_OPT),
    _m("sharpe_ratio", "Sharpe ratio", "ratio", MAXIMIZE, "risk", **_OPT),
    _m("sortino_ratio", "Sortino ratio", "ratio", MAXIMIZE, "risk", **_OPT),
    _m("calmar_ratio", "Calmar ratio", "ratio", MAXIMIZE, "risk", **_OPT),
    _m("max_drawdown", "Max drawdown", "%", MINIMIZE, "risk", **_LOSS, **_OPT),
    _m("average_drawdown", "Average drawdown", "%", MINIMIZE, "risk", **_LOSS),
    _m("max_drawdown_duration", "Max drawdown duration", "days", MINIMIZE, "risk"),
    _m("average_drawdown_duration", "Average drawdown duration", "days", MINIMIZE, "risk"),
    _m("var_95", "VaR 95", "% per bar", MINIMIZE, "risk", **_LOSS, **_OPT),
    _m("cvar_95", "CVaR 95", "% per bar", MINIMIZE, "risk", **_LOSS, **_OPT),
    _m("exposure_time", "Exposure time", "%", None, "risk"),
    _m("maximum_leverage", "Maximum leverage", "ratio", MINIMIZE, "risk"),
    _m("benchmark_total_return", "Benchmark return", "%", None, "benchmark", **_BENCH),
    _m("benchmark_volatility", "Benchmark volatility", "% p.a.", None, "benchmark", **_BENCH),
    _m("benchmark_sharpe", "Benchmark Sharpe ratio", "ratio", None, "benchmark", **_BENCH),
    _m("excess_return", "Excess return", "%", MAXIMIZE, "benchmark", **_BENCH, **_OPT),
    _m("alpha", "Alpha", "% p.a.", MAXIMIZE, "benchmark", **_BENCH, **_OPT),
    _m("beta", "Beta", "ratio", MINIMIZE, "benchmark", **_LOSS, **_BENCH, **_OPT),
    _m("correlation", "Correlation", "ratio", MINIMIZE, "benchmark", **_LOSS, **_BENCH, **_OPT),
    _m("tracking_error", "Tracking error", "% p.a.", MINIMIZE, "benchmark", **_BENCH, **_OPT),
    _m("information_ratio", "Information ratio", "ratio", MAXIMIZE, "benchmark", **_BENCH, **_OPT),
    _m("total_trades", "Trades", "trades", None, "trades"),
    _m("win_rate", "Win rate", "%", MAXIMIZE, "trades", **_OPT),
    _m("profit_factor", "Profit factor", "ratio", MAXIMIZE, "trades", **_OPT),
    _m("expectancy", "Expectancy (mean trade return)", "%", MAXIMIZE, "trades"),
    _m("sqn", "System quality number (SQN)", "ratio", MAXIMIZE, "trades"),
    _m("kelly_criterion", "Kelly criterion", "ratio", MAXIMIZE, "trades"),
    _m("best_trade", "Best trade", "%", MAXIMIZE, "trades"),
    _m("worst_trade", "Worst trade", "%", MAXIMIZE, "trades"),
    _m("average_trade", "Average trade (geometric)", "%", MAXIMIZE, "trades"),
    _m("average_trade_duration", "Average trade duration", "days", None, "trades"),
)
BY_NAME: dict[str, MetricInfo] = {m.name: m for m in METRICS}
PERCENT: frozenset[str] = frozenset(m.name for m in METRICS if m.percent)


def metric_info(name: str) -> MetricInfo:
    """The table's row for ``name`` (KeyError for a metric the table does not know)."""
    return BY_NAME[name]


def display(name: str, fraction: float | None) -> float | None:
    """An engine value in the document's unit; names outside the table pass through."""
    info = BY_NAME.get(name)
    if info is not None:
        return info.display(fraction)
    if fraction is None or not math.isfinite(fraction):
        return None
    return float(fraction)
