"""Parameter sweeps: many parameter sets scored in one batched kernel call per memory chunk.

Only per-set scores leave the device: the metrics of ``engine.metrics`` and the kernel's trade
counts. Sets are processed in chunks sized from a memory budget and padded to one chunk
shape, so a sweep compiles once and runs within a bounded footprint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from accel.kernel import Costs
from engine.metrics import performance_metrics
from engine.portfolio import Limits
from engine.simulation import run_lanes
from engine.strategies import Bars, Strategy

BYTES_PER_LANE_BAR = 24 * 8
"""Rough device bytes one (parameter set, symbol, bar) needs in the fused pipeline."""
DEFAULT_MEMORY_BUDGET = 1 << 30


class SweepRules(NamedTuple):
    """Everything but the parameters that a sweep holds fixed."""

    costs: Costs
    initial_cash: float
    limits: Limits
    periods_per_year: float
    risk_free_rate: float
    fill: str = "next_open"
    whole_shares: bool = False


def _score(bars, params, benchmark, rules: SweepRules, strategy: Strategy) -> dict:
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
    )
    scores = performance_metrics(
        path.equity.T,
        benchmark,
        periods_per_year=rules.periods_per_year,
        risk_free_rate=rules.risk_free_rate,
        xp=jnp,
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
    return scores


@functools.partial(jax.jit, static_argnames=("strategy", "fill", "whole_shares", "per_symbol"))
def _score_chunk(
    bars, params, benchmark, rules_dynamic, *, strategy, fill, whole_shares, per_symbol
):
    rules = SweepRules(*rules_dynamic, fill=fill, whole_shares=whole_shares)
    if not per_symbol:
        return _score(bars, params, benchmark, rules, strategy)
    columns = Bars(1, 1, 1, 1, 1, None)

    def one_symbol(column_bars):
        fields = ("open", "high", "low", "close", "valid")
        single = column_bars._replace(**{f: getattr(column_bars, f)[:, None] for f in fields})
        return _score(single, params, None, rules, strategy)

    return jax.vmap(one_symbol, in_axes=(columns,), out_axes=1)(bars)


def chunk_size(n_sets: int, n_bars: int, n_symbols: int, budget: int) -> int:
    """Sets per chunk: as many as the budget allows, rounded down to a power of two."""
    fit = max(1, budget // (BYTES_PER_LANE_BAR * n_bars * max(n_symbols, 1)))
    if fit >= n_sets:
        return n_sets
    return 1 << (int(fit).bit_length() - 1)


def sweep(
    strategy: Strategy,
    bars: Bars,
    params: Mapping[str, np.ndarray],
    rules: SweepRules,
    *,
    benchmark: np.ndarray | None = None,
    per_symbol: bool = False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Score every set in ``params`` (encoded, ``(P,)`` each); ``(P,)`` or ``(P, S)`` arrays.

    ``per_symbol`` scores each symbol as its own single-symbol account (a universe sweep).
    ``progress(done, total)`` is called after each chunk and may raise to cancel.
    """
    n_sets = len(params["_sets"])
    n_bars, n_symbols = bars.close.shape
    size = chunk_size(n_sets, n_bars, n_symbols, memory_budget)
    dtype = bars.close.dtype
    dynamic = (
        rules.costs,
        rules.initial_cash,
        rules.limits,
        rules.periods_per_year,
        rules.risk_free_rate,
    )
    bench = None if benchmark is None else jnp.asarray(benchmark, dtype)
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, n_sets, size):
        take = np.arange(start, start + size) % n_sets  # the last chunk is padded with early sets
        chunk = {k: jnp.asarray(v[take], dtype) for k, v in params.items()}
        scores = _score_chunk(
            bars,
            chunk,
            bench,
            dynamic,
            strategy=strategy,
            fill=rules.fill,
            whole_shares=rules.whole_shares,
            per_symbol=per_symbol,
        )
        kept = min(size, n_sets - start)
        parts.append({k: np.asarray(v)[:kept] for k, v in scores.items()})
        if progress:
            progress(start + kept, n_sets)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
