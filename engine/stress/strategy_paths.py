"""The base backtest's strategy re-run on simulated price paths (a stress test option).

Each path continues the backtest's own bars: the last ``WARMUP_BARS`` real bars (so the
indicators are warm and the strategy holds what it held) followed by ``horizon_days``
simulated bars of the traded symbols, drawn with the request's method from the same return
model as the book's Monte Carlo. The batched kernel runs one account per path; the figures
are the strategy's return and drawdown over the simulated horizon only.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import accel.device
from accel import montecarlo as kernel
from engine.errors import SpecError
from engine.market import Market
from engine.simulation import bars_for, period_starts, run_lanes
from engine.spec import BacktestSpec
from engine.strategies import Bars
from engine.stress.montecarlo import (
    HISTOGRAM_BINS,
    PERCENTILES,
    TAILS,
    _log_returns,
    bootstrap_model,
    parametric_model,
    summary_document,
)
from engine.stress.request import StressRequest, strategy_paths_unsupported
from engine.sweep import VALUES_PER_LANE_BAR, rules_for

WARMUP_BARS = 252
STRATEGY_STREAM = 1 << 20
"""Key stream of the strategy paths, apart from the book's runs (0 and one per scenario)."""


def _model(request: StressRequest, closes: np.ndarray, dtype) -> kernel.Model:
    returns = _log_returns(closes[1:] / closes[:-1] - 1.0)
    ones = np.ones(returns.shape[1])
    if request.method == "bootstrap":
        return bootstrap_model(returns, request.drift, ones, dtype)
    return parametric_model(returns, request.drift, ones, request.degrees_of_freedom, dtype)


def _future_period_starts(timestamps: np.ndarray, horizon: int) -> jnp.ndarray:
    """Rebalance calendar of the warm-up bars followed by ``horizon`` business days."""
    last = pd.Timestamp(timestamps[-1])
    future = pd.bdate_range(last + pd.Timedelta(days=1), periods=horizon).to_numpy()
    return jnp.asarray(period_starts(np.concatenate([timestamps, future])))


def path_bars(warm: Bars, log_returns: jnp.ndarray, starts: jnp.ndarray) -> Bars:
    """Bars ``(N, W + H, S)``: the warm-up bars, then closes compounding ``log_returns``.

    A simulated bar opens at the previous close; its high and low are its open and close.
    """
    n_paths = log_returns.shape[0]
    last_close = warm.close[-1]
    closes = last_close * jnp.exp(jnp.cumsum(log_returns, axis=1))
    opens = jnp.concatenate([jnp.broadcast_to(last_close, closes[:, :1].shape), closes[:, :-1]], 1)

    def extend(real, simulated):
        return jnp.concatenate([jnp.broadcast_to(real, (n_paths, *real.shape)), simulated], 1)

    return Bars(
        open=extend(warm.open, opens),
        high=extend(warm.high, jnp.maximum(opens, closes)),
        low=extend(warm.low, jnp.minimum(opens, closes)),
        close=extend(warm.close, closes),
        valid=extend(warm.valid, jnp.ones(closes.shape, bool)),
        period_starts=starts,
    )


@functools.partial(
    jax.jit,
    static_argnames=(
        "strategy",
        "fill",
        "whole_shares",
        "dtype",
        "n_blocks",
        "horizon",
        "method",
        "block",
    ),
)
def _chunk_stats(
    warm,
    starts,
    params,
    rules_dynamic,
    model,
    seed,
    first,
    *,
    strategy,
    fill,
    whole_shares,
    dtype,
    n_blocks,
    horizon,
    method,
    block,
) -> kernel.PathStats:
    keys = kernel.block_keys(seed, STRATEGY_STREAM, first, n_blocks)
    bars = path_bars(warm, kernel.draw_log_returns(keys, model, horizon, method, block), starts)
    costs, cash, limits = rules_dynamic

    def one_path(path: Bars):
        _, run = run_lanes(
            path,
            params,
            costs,
            cash,
            limits,
            strategy=strategy,
            fill=fill,
            whole_shares=whole_shares,
            record=False,
            dtype=dtype,
        )
        return run.equity[:, 0]

    axes = Bars._make((0, 0, 0, 0, 0, None, None))  # each path's prices; shared period starts
    equity = jax.vmap(one_path, in_axes=(axes,))(bars)
    warmup = warm.close.shape[0]
    relative = equity[:, warmup:] / equity[:, warmup - 1 : warmup]
    return kernel.path_stats(relative, jnp.asarray(1.0, relative.dtype))


def rerun_strategy(
    spec: BacktestSpec, market: Market, request: StressRequest, *, dtype=None, budget=None
) -> dict:
    """The distribution of the strategy's horizon return over ``request.strategy_paths`` paths."""
    problem = strategy_paths_unsupported(spec)
    if problem:
        raise SpecError.single("strategy_paths", problem)
    traded = market.between(spec.start_date, spec.end_date).select(spec.symbols)
    warm_market = traded.between(pd.Timestamp(traded.timestamps[-WARMUP_BARS:][0], tz="UTC"), None)
    dtype = np.dtype(dtype or accel.device.montecarlo_dtype())
    strategy, rules = spec.strategy_definition(), rules_for(spec, traded.symbols)
    warm = bars_for(warm_market, accel.device.decision_dtype(), backend="jax")
    model = _model(request, traded.filled("close"), warm.close.dtype)
    horizon = request.horizon_days
    per_path = (
        VALUES_PER_LANE_BAR * dtype.itemsize * (warm_market.n_bars + horizon) * len(traded.symbols)
    )
    budget = budget or accel.device.memory_budget()
    n_blocks = -(-request.strategy_paths // kernel.BLOCK)
    per_chunk = max(1, min(n_blocks, budget // (per_path * kernel.BLOCK)))
    run = functools.partial(
        _chunk_stats,
        warm,
        _future_period_starts(warm_market.timestamps, horizon),
        strategy.encode([spec.strategy_parameters]),
        (rules.costs, rules.initial_cash, rules.limits),
        model,
        np.uint32(request.seed),
        strategy=strategy,
        fill=rules.fill,
        whole_shares=rules.whole_shares,
        dtype=dtype,
        n_blocks=per_chunk,
        horizon=horizon,
        method=request.method,
        block=request.block_size,
    )
    parts = [run(i * per_chunk) for i in range(-(-n_blocks // per_chunk))]
    stats = kernel.PathStats(*(jnp.concatenate(f) for f in zip(*parts, strict=True)))
    summary = kernel.summarize_jit(
        stats, request.strategy_paths, tuple(p / 100 for p in PERCENTILES), TAILS, HISTOGRAM_BINS
    )
    return {
        "strategy_id": spec.strategy_id,
        "paths": request.strategy_paths,
        "horizon_days": horizon,
        "warmup_bars": warm_market.n_bars,
        "method": request.method,
        "seed": request.seed,
        **summary_document(jax.device_get(summary), spec.initial_capital),
    }
