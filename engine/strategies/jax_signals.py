"""A ``Plan`` evaluated on whole arrays with JAX: ``(P,)`` parameter sets to ``(P, T, S)`` weights.

This is the signal stage of the portable path (``lax.scan`` on any device): indicators for
every set's window, the rule's expressions on ``(P, T, S)`` arrays, legs held through
``last_event``. The fused CPU loop reads the same ``indicator_values`` for each distinct window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax.numpy as jnp

from engine.strategies import indicators as ind
from engine.strategies.plan import Expr, Leg, Plan, TopK
from engine.strategies.registry import Bars

MAX_WINDOW = 1000
_BINARY: dict[str, Callable[[jnp.ndarray, jnp.ndarray], jnp.ndarray]] = {
    "lt": jnp.less,
    "le": jnp.less_equal,
    "gt": jnp.greater,
    "ge": jnp.greater_equal,
    "and": jnp.logical_and,
    "or": jnp.logical_or,
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "div": jnp.divide,
}


def indicator_values(kind: str, bars: Bars, windows: jnp.ndarray) -> jnp.ndarray:
    """``(W, T, S)``: the indicator ``kind`` for each window in ``windows`` ``(W,)``."""
    windows = windows.astype(jnp.int32)
    close, high, low = (jnp.asarray(x) for x in (bars.close, bars.high, bars.low))  # traced
    if kind == "sma":
        return ind.rolling_mean(close, windows)
    if kind == "zscore":
        mean, std = ind.rolling_mean(close, windows), ind.rolling_std(close, windows, MAX_WINDOW)
        return (ind.quantized(close)[None] - mean) / std
    if kind == "rsi":
        return ind.relative_strength_index(close, windows)
    if kind == "highest":
        return ind.rolling_extreme(high, windows, MAX_WINDOW, jnp.maximum)
    if kind == "lowest":
        return ind.rolling_extreme(low, windows, MAX_WINDOW, jnp.minimum)
    if kind == "momentum":
        return ind.momentum(close, windows)
    if kind == "ema":
        return ind.exponential_average(close, windows)
    if kind == "stdev":
        return ind.rolling_std(close, windows, MAX_WINDOW)
    if kind == "atr":
        return ind.average_true_range(high, low, close, windows)
    if kind == "volume_sma":
        volume = jnp.full_like(close, jnp.nan) if bars.volume is None else jnp.asarray(bars.volume)
        return ind.rolling_float_mean(volume, windows)
    raise ValueError(f"unknown indicator kind {kind!r}")


def _leaf(node: Expr, env: Mapping[str, jnp.ndarray], params, bars: Bars) -> jnp.ndarray:
    if node.op == "ind":
        value = env[node.args[0]]
    elif node.op == "price":
        value = getattr(bars, node.args[0])[None]
    elif node.op == "param":
        return params[node.args[0]][:, None, None]
    else:
        return jnp.asarray(node.args[0])
    return ind.previous(value) if node.args[1] else value


def evaluate(node: Expr, env: Mapping[str, jnp.ndarray], params, bars: Bars) -> jnp.ndarray:
    """The value of an expression tree on ``(P, T, S)`` arrays (leaves broadcast)."""
    if node.op in ("ind", "price", "param", "const"):
        return _leaf(node, env, params, bars)
    values = [evaluate(a, env, params, bars) for a in node.args]
    if node.op == "not":
        return jnp.logical_not(values[0])
    if node.op == "neg":
        return jnp.negative(values[0])
    return _BINARY[node.op](*values)


def _held(leg: Leg, env, params, bars: Bars, shape) -> jnp.ndarray:
    enter = jnp.broadcast_to(evaluate(leg.enter, env, params, bars), shape)
    leave = jnp.broadcast_to(evaluate(leg.leave, env, params, bars), shape)
    held = ind.last_event(enter) > ind.last_event(leave)
    if leg.gate is not None:
        held = held & (params[leg.gate][:, None, None] > 0)
    return held


def _top_k(rule: TopK, env, params, bars: Bars) -> jnp.ndarray:
    n_symbols = bars.close.shape[1]
    score = evaluate(rule.score, env, params, bars)
    eligible = evaluate(rule.eligible, env, params, bars)
    ranked = jnp.where(eligible, score, -jnp.inf)
    rank = jnp.argsort(jnp.argsort(-ranked, axis=-1), axis=-1)
    k = jnp.minimum(params[rule.k], n_symbols)[:, None, None]
    weights = jnp.where(eligible & (rank < k), 1.0 / k, 0.0)
    return hold_between_rebalances(weights, bars, params[rule.schedule])


def hold_between_rebalances(weights, bars: Bars, frequency: jnp.ndarray) -> jnp.ndarray:
    """Targets only change on the first bar of each rebalance period; held in between."""
    starts = jnp.take(bars.period_starts, frequency.astype(jnp.int32), axis=0)  # (P, T)
    latest = jnp.clip(ind.last_event(starts), 0, None)
    return jnp.take_along_axis(weights, latest[:, :, None], axis=1)


def plan_signal(plan: Plan, bars: Bars, params: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
    """``(P, T, S)`` target weights of the plan for every parameter set in ``params``."""
    env = {
        name: indicator_values(spec.kind, bars, params[spec.window])
        for name, spec in plan.indicators.items()
    }
    rule = plan.traced()
    if isinstance(rule, TopK):
        return _top_k(rule, env, params, bars)
    shape = (params["_sets"].shape[0], *bars.close.shape)
    state = sum(leg.side * _held(leg, env, params, bars, shape).astype(jnp.int8) for leg in rule)
    state = jnp.asarray(state, jnp.int8).astype(jnp.float64)
    return state / shape[-1] if plan.fraction is None else state * plan.fraction
