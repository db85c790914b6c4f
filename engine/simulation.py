"""From bars and parameter sets to simulated accounts: signals, limits, alignment, the scan.

One jitted function per (strategy, shapes): a second call with the same shapes reuses the
compiled program. ``simulate_lanes`` picks the backend: this JAX path, or the fused CPU loop
of ``engine.fused`` (same rules, same outputs).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from accel.device import scan_unroll, simulation_backend
from accel.kernel import Account, Costs, ExitBars, Path, Prices, simulate
from engine.market import FIELDS, Market
from engine.portfolio import Limits, apply_limits
from engine.strategies import Bars, Strategy
from engine.strategies.registry import REBALANCE_CHOICES


def period_starts(timestamps: np.ndarray) -> np.ndarray:
    """``(3, T)``: bar t opens a new day, ISO week or month (the first bar opens all three)."""
    days = np.asarray(timestamps, "datetime64[ns]").astype("datetime64[D]")
    day_numbers = days.astype(np.int64)
    keys = {
        "daily": day_numbers,
        "weekly": day_numbers - (day_numbers + 3) % 7,  # 1970-01-01 was a Thursday
        "monthly": days.astype("datetime64[M]").astype(np.int64),
    }
    rows = []
    for name in REBALANCE_CHOICES:
        key = keys[name]
        rows.append(np.concatenate([[True], key[1:] != key[:-1]]))
    return np.stack(rows)


def bars_for(market: Market, dtype, *, backend: str | None = None) -> Bars:
    """The signal functions' view of a market, prices in ``dtype``, as the arrays ``backend``
    reads (default ``accel.device.simulation_backend()``): JAX arrays on the device for
    ``jax``, numpy arrays for the fused CPU loop (``numba``), which then needs no copy back."""
    prices = {name: market.filled(name).astype(dtype, copy=False) for name in FIELDS}
    bars = Bars(valid=market.valid, period_starts=period_starts(market.timestamps), **prices)
    return jax.device_put(bars) if (backend or simulation_backend()) == "jax" else bars


def execution_prices(bars: Bars, fill: str) -> Prices:
    """Prices seen by the orders placed one step earlier (``next_open``) or at the same close,
    in the bars' array kind (JAX, traced or not, or numpy)."""
    xp = jnp if isinstance(bars.close, jax.Array) else np
    close = xp.nan_to_num(bars.close)
    if fill == "close":
        return Prices(close, close, close, bars.valid)
    opens = xp.nan_to_num(bars.open)
    prior_close = xp.concatenate([close[:1], close[:-1]])
    value = xp.where(bars.valid, opens, prior_close)
    return Prices(opens, value, close, bars.valid)


def exit_bars(bars: Bars, exits, dtype) -> ExitBars | None:
    """The scan's view of ``engine.exits.exit_inputs`` (None: no exit orders)."""
    if exits is None:
        return None
    opens, high, low = (jnp.nan_to_num(x).astype(dtype) for x in (bars.open, bars.high, bars.low))
    return ExitBars(
        opens, high, low, jnp.asarray(exits.atr, dtype), jnp.asarray(exits.fraction, dtype)
    )


def execution_targets(weights: jnp.ndarray, fill: str) -> jnp.ndarray:
    """``(P, T, S)`` decisions at each close as ``(T, P, S)`` targets at the bar that fills them."""
    weights = jnp.nan_to_num(weights)
    if fill == "next_open":
        weights = jnp.concatenate([jnp.zeros_like(weights[:, :1]), weights[:, :-1]], axis=1)
    return jnp.swapaxes(weights, 0, 1)


@functools.partial(jax.jit, static_argnames=("strategy", "fill", "whole_shares", "record", "dtype"))
def run_lanes(
    bars: Bars,
    params: Mapping[str, jnp.ndarray],
    costs: Costs,
    initial_cash: float,
    limits: Limits,
    *,
    strategy: Strategy | None,
    fill: str,
    whole_shares: bool,
    record: bool,
    dtype=None,
    exits=None,
    weights=None,
):
    """Simulate one account per parameter set; returns the final accounts and their paths.

    Signals are computed in the bars' dtype, the accounts in ``dtype`` (default: the same).
    ``exits``: ``engine.exits.ExitInputs`` or None. ``strategy`` None: the given ``weights``
    ``(P, T, S)`` instead of a strategy's signals.
    """
    dtype = dtype or bars.close.dtype
    if weights is None:
        assert strategy is not None  # callers pass one of the two
        raw = strategy.signal(bars, params)
    else:
        raw = jnp.asarray(weights, bars.close.dtype)
    weights = apply_limits(raw, limits)
    targets = execution_targets(weights, fill).astype(dtype)
    prices = jax.tree.map(
        lambda x: x.astype(dtype) if x.dtype != bool else x, execution_prices(bars, fill)
    )
    return simulate(
        targets,
        prices,
        costs,
        initial_cash,
        whole_shares=whole_shares,
        record=record,
        unroll=scan_unroll(),
        exits=exit_bars(bars, exits, dtype),
        fill_next=fill == "next_open",
    )


def simulate_lanes(
    bars: Bars,
    params: Mapping[str, np.ndarray],
    costs: Costs,
    initial_cash: float,
    limits: Limits,
    *,
    strategy: Strategy | None,
    fill: str,
    whole_shares: bool,
    dtype=None,
    backend: str | None = None,
    exits=None,
    weights=None,
) -> tuple[Account, Path]:
    """Every parameter set's account with its whole path recorded, as numpy, on ``backend``
    (default ``accel.device.simulation_backend()``: ``numba`` or ``jax``); ``exits``:
    ``engine.exits.ExitInputs`` or None; ``strategy`` None: one account trading the given
    ``weights`` ``(T, S)``."""
    if (backend or simulation_backend()) == "numba":
        from engine import fused

        return fused.simulate(
            strategy,
            bars,
            params,
            costs,
            initial_cash,
            limits,
            fill=fill,
            whole_shares=whole_shares,
            exits=exits,
            weights=weights,
        )
    account, path = run_lanes(
        bars,
        params,
        costs,
        initial_cash,
        limits,
        strategy=strategy,
        fill=fill,
        whole_shares=whole_shares,
        record=True,
        dtype=dtype,
        exits=exits,
        weights=None if weights is None else np.asarray(weights)[None],
    )
    return jax.tree.map(np.asarray, account), jax.tree.map(np.asarray, path)
