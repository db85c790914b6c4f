"""One backtest: a spec and its market in, every series, fill, trade and metric out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from accel.device import decision_dtype, device_label
from engine.canonical import input_digest
from engine.errors import DataError
from engine.exits import exit_inputs
from engine.market import Market
from engine.metrics import performance_metrics
from engine.report import results_document
from engine.signals import TARGET_WEIGHTS, weights_on_bars
from engine.simulation import bars_for, execution_prices, simulate_lanes
from engine.spec import BacktestSpec
from engine.sweep import rules_for
from engine.trades import Fill, RoundTrip, fills_from_positions, round_trips

Progress = Callable[..., None]
"""``progress(fraction, message, at=None)``: ``at`` is the simulated time reached (a UTC
datetime), the status's ``current_date``; the callback may raise to cancel."""


@dataclass(frozen=True)
class BacktestResult:
    """The simulated path of one spec on one market, plus what it cost to compute."""

    spec: BacktestSpec
    market: Market  # the traded symbols over the spec's window
    benchmark: np.ndarray | None  # benchmark closes over the same bars
    equity: np.ndarray  # (T,)
    cash: np.ndarray  # (T,)
    shares: np.ndarray  # (T, S)
    gross_exposure: np.ndarray  # (T,)
    fills: list[Fill]
    closed_trades: list[RoundTrip]
    open_trades: list[RoundTrip]
    metrics: dict[str, float]
    device: str
    processing_time_ms: float

    @property
    def input_digest(self) -> str:
        """Identifies the inputs: the spec's content hash and the dataset version."""
        return input_digest(self.spec.content_hash(), self.market.source, self.market.version)

    def summary(self) -> dict:
        return {
            "processing_time_ms": round(self.processing_time_ms, 3),
            "data_points_processed": int(self.market.n_bars * len(self.market.symbols)),
            "orders_executed": len(self.fills),
            "trades_completed": len(self.closed_trades),
            "hardware_used": self.device,
            "current_date": str(np.datetime_as_string(self.market.timestamps[-1], "s")) + "Z",
            "equity_final": float(self.equity[-1]),
        }

    def row_fields(self) -> dict:
        """What the job's status reports once the run is done."""
        last = pd.Timestamp(self.market.timestamps[-1])
        return {
            "processing_time_ms": round(self.processing_time_ms, 3),
            "data_points_processed": int(self.market.n_bars * len(self.market.symbols)),
            "orders_executed": len(self.fills),
            "trades_completed": len(self.closed_trades),
            "hardware_used": self.device,
            "bar_time": (last.tz_localize("UTC") if last.tzinfo is None else last).to_pydatetime(),
        }

    def document(self, include_trades=True, include_positions=True, include_analytics=True):
        """The seed's results body; see ``engine.report``."""
        return results_document(self, include_trades, include_positions, include_analytics)


def required_symbols(spec: BacktestSpec) -> list[str]:
    """The symbols whose bars a run needs: the traded ones and the benchmark."""
    benchmark = spec.benchmark_symbol
    extra = [benchmark] if benchmark is not None and benchmark not in spec.symbols else []
    return [*spec.symbols, *extra]


def _window(spec: BacktestSpec, market: Market) -> tuple[Market, np.ndarray | None]:
    window = market.between(spec.start_date, spec.end_date)
    missing = [
        s
        for s in required_symbols(spec)
        if s not in window.symbols or not window.valid[:, window.column(s)].any()
    ]
    if missing:
        raise DataError(
            f"no bars for {missing} in the {market.source} data between {spec.start_date:%Y-%m-%d}"
            f" and {spec.end_date:%Y-%m-%d}: import them (`nautilus-bt data import FILE --symbol "
            "SYMBOL`, POST /data/bars) or pass their files"
        )
    if window.n_bars < 2:
        raise DataError(
            f"only {window.n_bars} bar(s) between {spec.start_date} and {spec.end_date}: "
            "widen the date range or use a finer frequency"
        )
    benchmark = None
    if spec.benchmark_symbol:
        benchmark = window.filled("close")[:, window.column(spec.benchmark_symbol)]
    return window.select(spec.symbols), benchmark


def _last_bar(market: Market) -> datetime:
    """The simulation's last bar, as the UTC datetime the progress callback reports."""
    return pd.Timestamp(market.timestamps[-1], tz="UTC").to_pydatetime()


def run_backtest(
    spec: BacktestSpec,
    market: Market,
    *,
    progress: Progress | None = None,
    backend: str | None = None,
    signals: pd.DataFrame | None = None,
) -> BacktestResult:
    """Simulate ``spec`` on ``market``, telling ``progress`` each stage (see ``Progress``).

    ``backend`` (``numba`` or ``jax``) defaults to ``accel.device.simulation_backend()``.
    ``signals``: the signal set of a ``target_weights`` spec (``engine.signals``)."""
    report = progress or (lambda fraction, message, at=None: None)
    started = time.perf_counter()
    traded, benchmark = _window(spec, market)
    report(0.1, "data ready")
    bars = bars_for(traded, decision_dtype(), backend=backend)
    strategy, params, weights = None, {"_sets": np.zeros(1)}, None
    if spec.strategy_id == TARGET_WEIGHTS:
        if signals is None:
            raise DataError("target_weights needs its signal set (signal_set_id)")
        weights = weights_on_bars(signals, traded.timestamps, traded.symbols)
    else:
        strategy = spec.strategy_definition()
        params = strategy.encode([spec.strategy_parameters])
    rules = rules_for(spec, traded.symbols)
    exits = exit_inputs(rules.exits, bars, rules.fill)
    report(0.2, "simulating")
    _, path = simulate_lanes(
        bars,
        params,
        rules.costs,
        rules.initial_cash,
        rules.limits,
        strategy=strategy,
        fill=rules.fill,
        whole_shares=rules.whole_shares,
        dtype=decision_dtype(),
        backend=backend,
        exits=exits,
        weights=weights,
    )
    simulated_to = _last_bar(traded)
    report(0.8, "scoring", at=simulated_to)
    assert path.shares is not None  # simulate_lanes records every path
    shares = np.asarray(path.shares[:, 0], dtype=np.float64)
    execute = np.asarray(execution_prices(bars, spec.fill).execute, dtype=np.float64)
    exited = None
    if exits is not None:
        assert path.exit_shares is not None and path.exit_price is not None
        exited = (np.asarray(path.exit_shares[:, 0], np.float64),
                  np.asarray(path.exit_price[:, 0], np.float64))  # fmt: skip
    fills = fills_from_positions(
        shares, execute, traded.symbols, *rules.costs, exited, spec.fill == "next_open"
    )
    closed, still_open = round_trips(fills)
    equity = np.asarray(path.equity[:, 0], dtype=np.float64)
    metrics = performance_metrics(
        equity,
        benchmark,
        periods_per_year=spec.periods_per_year,
        risk_free_rate=spec.risk_free_rate,
    )
    result = BacktestResult(
        spec=spec,
        market=traded,
        benchmark=benchmark,
        equity=equity,
        cash=np.asarray(path.cash[:, 0], dtype=np.float64),
        shares=shares,
        gross_exposure=np.asarray(path.gross_exposure[:, 0], dtype=np.float64),
        fills=fills,
        closed_trades=closed,
        open_trades=still_open,
        metrics={k: float(v) for k, v in metrics.items()},
        device=device_label(),
        processing_time_ms=(time.perf_counter() - started) * 1e3,
    )
    report(1.0, "results ready", at=simulated_to)
    return result
