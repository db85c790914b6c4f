"""Parameter sweeps: many parameter sets scored in one batched kernel call per memory chunk.

Only per-set scores leave the device: the metrics of ``engine.metrics`` and the kernel's trade
counts. Sets are processed in chunks sized from a memory budget and padded to one chunk
shape, so a sweep compiles once and runs within a bounded footprint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import accel.device
from accel.kernel import Costs
from engine.exits import ExitInputs, exit_inputs
from engine.metrics import performance_metrics
from engine.portfolio import Limits, limits_for
from engine.simulation import run_lanes
from engine.strategies import Bars, Strategy

if TYPE_CHECKING:
    from engine.spec import BacktestSpec

VALUES_PER_LANE_BAR = 24
"""Rough number of array values one (parameter set, symbol, bar) needs in the pipeline."""
CHUNK_MULTIPLE = 64


class SweepRules(NamedTuple):
    """Everything but the parameters that a sweep holds fixed."""

    costs: Costs
    initial_cash: float
    limits: Limits
    periods_per_year: float
    risk_free_rate: float
    fill: str = "next_open"
    whole_shares: bool = False
    exits: Mapping[str, Mapping[str, float]] | None = None
    """The spec's exit orders (``engine.exits``), the same for every set."""


def rules_for(spec: BacktestSpec, symbols: Sequence[str]) -> SweepRules:
    """The costs, limits and conventions a spec fixes for every parameter set."""
    return SweepRules(
        costs=Costs(spec.commission_rate, spec.slippage_basis_points / 1e4, spec.fee_per_order),
        initial_cash=spec.initial_capital,
        limits=limits_for(
            symbols,
            spec.max_position_size,
            spec.max_portfolio_leverage,
            spec.risk_limits,
            spec.sectors,
        ),
        periods_per_year=spec.periods_per_year,
        risk_free_rate=spec.risk_free_rate,
        fill=spec.fill,
        whole_shares=not spec.fractional_shares,
        exits=spec.exits,
    )


def _score(
    bars, params, benchmark, rules: SweepRules, exits, strategy, dtype, extra, tail_risk
) -> dict:
    account, path = run_lanes(
        bars,
        params,
        rules.costs,
        rules.initial_cash,
        rules.limits,
        strategy=strategy,
        fill=rules.fill,
        whole_shares=rules.whole_shares,
        record=False,
        dtype=dtype,
        exits=exits,
    )
    scores = performance_metrics(
        path.equity.T,
        benchmark,
        periods_per_year=rules.periods_per_year,
        risk_free_rate=rules.risk_free_rate,
        xp=jnp,
        tail_risk=tail_risk,
    )
    trades = account.wins + account.losses
    scores.update(
        final_equity=path.equity[-1],
        orders=account.orders,
        trades=trades,
        win_rate=jnp.where(trades > 0, account.wins / jnp.maximum(trades, 1), jnp.nan),
        profit_factor=jnp.where(
            account.gross_loss > 0, account.gross_profit / account.gross_loss, jnp.nan
        ),
    )
    if extra is not None:
        scores.update(extra(path.equity))
    return scores


@functools.partial(
    jax.jit,
    static_argnames=(
        "strategy",
        "fill",
        "whole_shares",
        "per_symbol",
        "dtype",
        "extra",
        "tail_risk",
    ),
)
def _score_chunk(
    bars,
    params,
    benchmark,
    rules_dynamic,
    exits,
    *,
    strategy,
    fill,
    whole_shares,
    per_symbol,
    dtype,
    extra=None,
    tail_risk=False,
):
    rules = SweepRules(*rules_dynamic, fill=fill, whole_shares=whole_shares)
    if not per_symbol:
        return _score(bars, params, benchmark, rules, exits, strategy, dtype, extra, tail_risk)
    fields = bars.series_fields()
    columns = Bars(1, 1, 1, 1, 1, None, None if bars.volume is None else 1)
    exit_columns = None if exits is None else ExitInputs(None, 2)

    def one_symbol(column_bars, column_exits):
        single = column_bars._replace(**{f: getattr(column_bars, f)[:, None] for f in fields})
        if column_exits is not None:
            column_exits = column_exits._replace(atr=column_exits.atr[:, :, None])
        return _score(single, params, None, rules, column_exits, strategy, dtype, extra, tail_risk)

    return jax.vmap(one_symbol, in_axes=(columns, exit_columns), out_axes=1)(bars, exits)


def chunk_size(n_sets: int, n_bars: int, n_symbols: int, itemsize: int, budget: int) -> int:
    """Sets per chunk: the fewest chunks the budget allows, split evenly, in multiples of 64.

    Even chunks waste little on padding; rounding to a multiple buckets the shapes so that
    sweeps of similar size reuse one compiled program.
    """
    per_set = VALUES_PER_LANE_BAR * itemsize * n_bars * max(n_symbols, 1)
    fit = max(1, budget // per_set)
    chunks = -(-n_sets // fit)
    even = -(-n_sets // chunks)
    rounded = -(-even // CHUNK_MULTIPLE) * CHUNK_MULTIPLE
    return rounded if rounded <= fit else even


def sweep(
    strategy: Strategy,
    bars: Bars,
    params: Mapping[str, np.ndarray],
    rules: SweepRules,
    *,
    benchmark: np.ndarray | None = None,
    per_symbol: bool = False,
    memory_budget: int | None = None,
    dtype=None,
    progress: Callable[[int, int], None] | None = None,
    extra: Callable[[jnp.ndarray], dict[str, jnp.ndarray]] | None = None,
    tail_risk: bool = False,
    backend: str | None = None,
) -> dict[str, np.ndarray]:
    """Score every set in ``params`` (encoded, ``(P,)`` each); ``(P,)`` or ``(P, S)`` arrays.

    ``per_symbol`` scores each symbol as its own single-symbol account (a universe sweep).
    ``progress(done, total)`` is called after each chunk and may raise to cancel.
    ``memory_budget`` defaults to ``accel.device.memory_budget()``; accounts are simulated in
    ``dtype`` (default ``accel.device.decision_dtype()``), signals in the bars' dtype.
    ``extra(equity)`` maps the ``(T, P)`` equity paths to more ``(P, ...)`` scores inside the
    kernel; it is a static argument of the compiled chunk, so it must hash by value.
    ``tail_risk`` adds ``var_95``/``cvar_95`` (a partial sort per set: slow on XLA's CPU).
    ``rules.exits`` puts the same exit orders on every set's positions.
    ``backend`` ``numba`` (the default on a CPU, ``accel.device.simulation_backend()``) runs
    the fused per-lane loop, which supports ``extra`` only as ``BlockStats`` (``n_blocks``,
    ``risk_free_per_period``); ``jax`` runs the scan in memory chunks.
    """
    if (backend or accel.device.simulation_backend()) == "numba":
        from engine import fused

        scores = fused.sweep_scores(
            strategy,
            bars,
            params,
            rules,
            benchmark=benchmark,
            per_symbol=per_symbol,
            tail_risk=tail_risk,
            blocks=extra,
        )
        if progress:
            progress(len(params["_sets"]), len(params["_sets"]))
        return scores
    n_sets = len(params["_sets"])
    n_bars, n_symbols = bars.close.shape
    dtype = np.dtype(dtype or accel.device.decision_dtype())
    budget = memory_budget or accel.device.memory_budget()
    size = chunk_size(n_sets, n_bars, n_symbols, bars.close.dtype.itemsize, budget)
    dynamic = (
        rules.costs,
        rules.initial_cash,
        rules.limits,
        rules.periods_per_year,
        rules.risk_free_rate,
    )
    bench = None if benchmark is None else jnp.asarray(benchmark, bars.close.dtype)
    exits = exit_inputs(rules.exits, bars, rules.fill)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, n_sets, size):
        take = np.arange(start, start + size) % n_sets  # the last chunk is padded with early sets
        chunk = {k: jnp.asarray(v[take], bars.close.dtype) for k, v in params.items()}
        scores = _score_chunk(
            bars,
            chunk,
            bench,
            dynamic,
            exits,
            strategy=strategy,
            fill=rules.fill,
            whole_shares=rules.whole_shares,
            per_symbol=per_symbol,
            dtype=dtype,
            extra=extra,
            tail_risk=tail_risk,
        )
        kept = min(size, n_sets - start)
        parts.append({k: v[:kept] for k, v in jax.device_get(scores).items()})
        if progress:
            progress(start + kept, n_sets)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
