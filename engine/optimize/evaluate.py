"""Score a batch of parameter sets on one window of a base spec: one batched sweep per call.

The numbers are those of ``engine.backtest.run_backtest`` on the same spec restricted to the
window's dates (tests hold the two paths together). Optionally the kernel also returns, per
set, the power sums of its returns over equal blocks of the window: enough to compute Sharpe,
Sortino, returns, skewness and kurtosis of any union of blocks, which is what CSCV needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from accel.device import decision_dtype
from engine.backtest import required_symbols
from engine.errors import DataError
from engine.fused_scores import block_ids
from engine.market import Market
from engine.optimize.windows import Window
from engine.simulation import bars_for
from engine.spec import BacktestSpec
from engine.sweep import rules_for, sweep

BLOCK_STATS = ("count", "sum", "sum2", "sum3", "sum4", "downside2", "log_growth")
"""Per block: returns, and sums of excess returns, their 2nd-4th powers, squared negative
parts, and of ``log(1 + r)`` of the raw returns."""
INTEGER_SCORES = ("orders", "trades")


@dataclass(frozen=True)
class BlockStats:
    """In-kernel scorer: ``(T, P)`` equity paths to ``(P, blocks, 7)`` return power sums."""

    n_blocks: int
    risk_free_per_period: float

    def __call__(self, equity) -> dict[str, Any]:
        import jax
        import jax.numpy as jnp

        returns = equity[1:] / equity[:-1] - 1.0
        excess = returns - self.risk_free_per_period
        columns = jnp.stack(
            [
                jnp.ones_like(excess),
                excess,
                excess**2,
                excess**3,
                excess**4,
                jnp.minimum(excess, 0.0) ** 2,
                jnp.log1p(returns),
            ],
            axis=-1,
        )
        ids = block_ids(returns.shape[0], self.n_blocks)
        sums = jax.ops.segment_sum(columns, ids, num_segments=self.n_blocks)
        return {"blocks": jnp.swapaxes(sums, 0, 1)}


def window_market(
    spec: BacktestSpec, market: Market, window: Window | None = None
) -> tuple[Market, np.ndarray | None]:
    """The spec's traded bars (and benchmark closes) over its dates, cut to ``window``."""
    missing = [s for s in required_symbols(spec) if s not in market.symbols]
    if missing:
        raise DataError(f"no bars for {missing} in the {market.source} data")
    span = market.between(spec.start_date, spec.end_date)
    if window is not None:
        if not 0 <= window.start < window.stop <= span.n_bars:
            raise DataError(f"window {window} is outside the {span.n_bars} bars of the spec")
        stamps = span.timestamps[window.start : window.stop]
        span = span.between(_utc(stamps[0]), _utc(stamps[-1]))
    if span.n_bars < 2:
        raise DataError(f"only {span.n_bars} bar(s) to evaluate: widen the date range")
    benchmark = None
    if spec.benchmark_symbol:
        benchmark = span.filled("close")[:, span.column(spec.benchmark_symbol)]
    return span.select(spec.symbols), benchmark


def _utc(stamp: np.datetime64):
    import pandas as pd

    return pd.Timestamp(stamp).tz_localize("UTC")


def evaluate_batch(
    base_spec: BacktestSpec,
    market: Market,
    param_sets: Sequence[Mapping[str, Any]],
    window: Window | None = None,
    *,
    blocks: int = 0,
    memory_budget: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    backend: str | None = None,
) -> list[dict[str, Any]]:
    """``{"params", "metrics"[, "blocks"]}`` per set, scored on ``window`` in one sweep.

    ``param_sets`` override the base spec's strategy parameters and are validated by the
    strategy (SpecError for an invalid set). Metrics are JSON numbers, None when undefined;
    ``blocks`` > 0 adds ``BLOCK_STATS`` over that many equal blocks of the window's returns.
    The base spec's ``exits`` apply to every set; ``backend`` is ``engine.sweep.sweep``'s.
    """
    strategy = base_spec.strategy_definition()
    resolved = [strategy.resolve({**base_spec.strategy_parameters, **p}) for p in param_sets]
    if not resolved:
        return []
    traded, benchmark = window_market(base_spec, market, window)
    if blocks and traded.n_bars - 1 < blocks:
        raise DataError(f"{traded.n_bars - 1} returns cannot fill {blocks} CSCV blocks")
    extra = BlockStats(blocks, base_spec.risk_free_rate / base_spec.periods_per_year)
    scores = sweep(
        strategy,
        bars_for(traded, decision_dtype(), backend=backend),
        strategy.encode(resolved),
        rules_for(base_spec, traded.symbols),
        benchmark=benchmark,
        memory_budget=memory_budget,
        dtype=decision_dtype(),
        progress=progress,
        extra=extra if blocks else None,
        tail_risk=True,
        backend=backend,
    )
    return [_trial(params, scores, i) for i, params in enumerate(resolved)]


def _trial(params: dict[str, Any], scores: Mapping[str, np.ndarray], i: int) -> dict[str, Any]:
    metrics = {k: _number(k, v[i]) for k, v in scores.items() if k != "blocks"}
    trial: dict[str, Any] = {"params": params, "metrics": metrics}
    if "blocks" in scores:
        trial["blocks"] = np.asarray(scores["blocks"][i], dtype=np.float64).tolist()
    return trial


def _number(key: str, value: Any) -> float | int | None:
    value = float(value)
    if not math.isfinite(value):
        return None
    return int(value) if key in INTEGER_SCORES else value
