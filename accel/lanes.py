"""The fused CPU kernel's building blocks (numba): one account, one bar, in registers.

Arrays are symbol-major, ``(S, T)``: a lane reads its symbols' series contiguously in time.

These are the per-lane steps of ``accel.kernel.simulate`` (the same rules, documented in
docs/engine.md and held to ``accel.reference`` by the tests), written for one lane at a time
so the loop in ``accel.lanes_template`` can branch past bars where no target changes. The
account's scalars live in ``acc``: cash, orders, wins, losses, gross profit, gross loss.

Nothing here is cached on disk by itself: these functions are compiled into the generated
kernels, whose cache key carries this file's and ``accel.costs``' text (``accel.jit``), so a
changed rule is never served from an old kernel.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from accel import costs as cost_model

CASH, ORDERS, WINS, LOSSES, GROSS_PROFIT, GROSS_LOSS = range(6)
STAT_FIELDS = (
    "first",
    "last",
    "mean",
    "css",
    "constant",
    "downside2",
    "max_drawdown",
    "var",
    "cvar",
    "cov_bench",
    "active_mean",
    "active_css",
    "active_constant",
)
"""Per-lane statistics of the equity curve that ``engine.fused_scores`` turns into metrics."""
VAR_CUTOFF = 0.05


@njit(nogil=True, inline="always", error_model="numpy")
def _sign(x):
    return 0.0 if x == 0 else (1.0 if x > 0 else -1.0)


_fill_price = njit(nogil=True, inline="always")(cost_model.fill_price)
_commission_paid = njit(nogil=True, inline="always")(cost_model.commission_paid)
_unit_cost = njit(nogil=True, inline="always")(cost_model.unit_cost)


@njit(nogil=True, inline="always", error_model="numpy")
def trade(acc, held, trade_cash, new, price, costs):
    """Trade one symbol from ``held`` to ``new`` shares at ``price`` with costs, booking a
    closed round trip in ``acc``; the symbol's trade cash after it."""
    delta = new - held
    if delta == 0:
        return trade_cash
    commission, slippage, fee = costs
    fill_price = _fill_price(price, _sign(delta), slippage)
    flow = -delta * fill_price - (_commission_paid(delta, fill_price, commission) + fee)
    running = trade_cash + flow
    acc[CASH] += flow
    acc[ORDERS] += 1
    if held != 0 and new == 0:
        if running > 0:
            acc[WINS] += 1
            acc[GROSS_PROFIT] += running
        else:
            acc[LOSSES] += 1
            acc[GROSS_LOSS] -= running
        return 0.0
    return running


@njit(nogil=True, error_model="numpy")
def fill(acc, shares, trade_cash, s, new, price, costs):
    """``trade`` symbol ``s`` of a lane's arrays."""
    trade_cash[s] = trade(acc, shares[s], trade_cash[s], new, price, costs)
    shares[s] = new


@njit(nogil=True, inline="always", error_model="numpy")
def closes_first(target, held):
    """Whether a position must be closed before ``target`` is sized: its side changes."""
    return held != 0 and _sign(target) != _sign(held)


@njit(nogil=True, inline="always", error_model="numpy")
def sized(target, budget, price, costs, whole_shares):
    """Shares for a non-zero ``target`` weight of ``budget`` at the cost-adjusted ``price``."""
    wanted = target * budget / _unit_cost(price, _sign(target), costs[1], costs[0])
    return np.trunc(wanted) if whole_shares else wanted


@njit(nogil=True, inline="always", error_model="numpy")
def pending(target, sized_for, tradable, t, col):
    """Whether any tradable symbol's target differs from what its position was sized for."""
    for s in range(target.shape[0]):  # noqa: SIM110 - a loop numba compiles
        if tradable[col + s, t] and target[s] != sized_for[s]:
            return True
    return False


@njit(nogil=True, error_model="numpy")
def rebalance(
    acc,
    shares,
    sized_for,
    trade_cash,
    target,
    execute,
    value,
    tradable,
    t,
    col,
    costs,
    whole_shares,
):
    """Close the positions whose side changes, then size every changed non-zero target to
    ``target x equity`` at the cost-adjusted price (equity after the closing leg and fees)."""
    width = target.shape[0]
    n_open = 0
    for s in range(width):
        c = col + s
        if not tradable[c, t] or target[s] == sized_for[s]:
            continue
        if closes_first(target[s], shares[s]):
            fill(acc, shares, trade_cash, s, 0.0, execute[c, t], costs)
        if target[s] != 0:
            n_open += 1
    equity = acc[CASH] - costs[2] * n_open
    for s in range(width):
        equity += shares[s] * value[col + s, t]
    budget = max(equity, 0.0)
    for s in range(width):
        c = col + s
        if not tradable[c, t] or target[s] == sized_for[s]:
            continue
        if target[s] != 0:
            new = sized(target[s], budget, execute[c, t], costs, whole_shares)
            fill(acc, shares, trade_cash, s, new, execute[c, t], costs)
        sized_for[s] = target[s]


@njit(nogil=True, inline="always", error_model="numpy")
def rebalance_one(acc, held, trade_cash, target, execute, value, costs, whole_shares):
    """``rebalance`` of a single-symbol lane whose target changed, on scalars: the position
    and trade cash after it."""
    if closes_first(target, held):
        trade_cash = trade(acc, held, trade_cash, 0.0, execute, costs)
        held = 0.0
    if target == 0:
        return held, trade_cash
    budget = max(acc[CASH] - costs[2] + held * value, 0.0)
    new = sized(target, budget, execute, costs, whole_shares)
    return new, trade(acc, held, trade_cash, new, execute, costs)


STOP, TARGET, PEAK, TRAIL = range(4)


@njit(nogil=True, error_model="numpy")
def arm(stops, before, shares, execute, exit_atr, fraction, col, t):
    """Fix the exit levels (``stops`` rows STOP, TARGET, PEAK, TRAIL) of every position that
    opened at bar t, from flat or on a change of side (``engine.exits``)."""
    for s in range(shares.shape[0]):
        now = shares[s]
        if now == 0 or _sign(now) == _sign(before[s]):
            continue
        c = col + s
        entry = execute[c, t]
        a0, a1, a2 = exit_atr[0, c, t], exit_atr[1, c, t], exit_atr[2, c, t]
        a0 = np.inf if np.isnan(a0) else a0
        a1 = np.inf if np.isnan(a1) else a1
        if now > 0:
            stops[STOP, s] = entry * (1.0 - fraction[0]) - a0
            stops[TARGET, s] = entry * (1.0 + fraction[1]) + a1
        else:
            stops[STOP, s] = entry * (1.0 + fraction[0]) + a0
            stops[TARGET, s] = entry * (1.0 - fraction[1]) - a1
        stops[PEAK, s] = entry
        stops[TRAIL, s] = np.inf if np.isnan(a2) else a2


@njit(nogil=True, error_model="numpy")
def exit_orders(acc, shares, trade_cash, stops, bars, tradable, col, t, trail, costs, out):
    """Close the positions whose stop (checked first) or target bar t's range reaches, at the
    level or at the open when the bar opens beyond it; then move the trailing peaks.
    ``out`` ``(2, width)`` receives the shares each exit closed and its price (NaN: none)."""
    for s in range(shares.shape[0]):
        out[0, s], out[1, s] = 0.0, np.nan
        held = shares[s]
        c = col + s
        if held == 0 or not tradable[c, t]:
            continue
        bar_open, high, low = bars[0, c, t], bars[1, c, t], bars[2, c, t]
        price = np.nan
        if held > 0:
            stop = max(stops[STOP, s], stops[PEAK, s] * (1.0 - trail) - stops[TRAIL, s])
            if low <= stop:
                price = min(bar_open, stop)
            elif high >= stops[TARGET, s]:
                price = max(bar_open, stops[TARGET, s])
            else:
                stops[PEAK, s] = max(stops[PEAK, s], high)
        else:
            stop = min(stops[STOP, s], stops[PEAK, s] * (1.0 + trail) + stops[TRAIL, s])
            if high >= stop:
                price = max(bar_open, stop)
            elif low <= stops[TARGET, s]:
                price = min(bar_open, stops[TARGET, s])
            else:
                stops[PEAK, s] = min(stops[PEAK, s], low)
        if not np.isnan(price):
            fill(acc, shares, trade_cash, s, 0.0, price, costs)
            out[0, s], out[1, s] = held, price


@njit(nogil=True, error_model="numpy")
def gross_exposure(shares, mark, col, t):
    """Sum of the absolute values of the positions at the close of bar t."""
    gross = 0.0
    for s in range(shares.shape[0]):
        gross += abs(shares[s] * mark[col + s, t])
    return gross


@njit(nogil=True, error_model="numpy")
def apply_limits(raw, out, limits, sector_map):
    """``raw`` weights scaled so the position, sector and leverage caps hold (in that order)."""
    max_position, max_leverage, max_sector = limits
    width = raw.shape[0]
    for s in range(width):
        out[s] = min(max(raw[s], -max_position), max_position)
    if sector_map.shape[0]:
        factor = 1.0 - sector_map.sum(axis=0)
        for g in range(sector_map.shape[0]):
            exposure = 0.0
            for s in range(width):
                exposure += abs(out[s]) * sector_map[g, s]
            scale = min(1.0, max_sector / (exposure if exposure > 0 else 1.0))
            for s in range(width):
                factor[s] += scale * sector_map[g, s]
        for s in range(width):
            out[s] *= factor[s]
    gross = 0.0
    for s in range(width):
        gross += abs(out[s])
    scale = min(1.0, max_leverage / (gross if gross > 0 else 1.0))
    for s in range(width):
        out[s] *= scale


@njit(nogil=True, error_model="numpy")
def top_k(score, eligible, k, out):
    """``1 / k`` in the ``k`` eligible symbols with the highest score (ties: lower index first),
    0 elsewhere; whether ``out`` changed."""
    width = score.shape[0]
    ranked = np.where(eligible, -score, np.inf)
    order = np.argsort(ranked, kind="mergesort")
    changed = False
    for position in range(width):
        s = order[position]
        w = 1.0 / k if position < k and eligible[s] else 0.0
        if w != out[s]:
            out[s] = w
            changed = True
    return changed


@njit(nogil=True, inline="always", error_model="numpy")
def curve_start(first):
    """The running statistics of a curve that starts at ``first``: sum, lowest and highest
    return; running peak, lowest value since it, worst drawdown so far."""
    return 0.0, np.inf, -np.inf, first, first, 0.0


@njit(nogil=True, inline="always", error_model="numpy")
def curve_step(running, previous, worth, returns, t):
    """Bar t (>= 1) of a curve into its running statistics; its return into ``returns``.
    The drawdown takes one division per peak, not per bar: for a fixed peak, correctly
    rounded division is monotonic, so the lowest value gives the lowest ratio."""
    total, low, high, peak, lowest, worst = running
    r = worth / previous - 1.0
    returns[t - 1] = r
    if worth > peak:
        worst = min(worst, lowest / peak - 1.0)
        peak = lowest = worth
    else:
        lowest = min(lowest, worth)
    return total + r, min(low, r), max(high, r), peak, lowest, worst


@njit(nogil=True, error_model="numpy")
def curve_replay(equity, returns):
    """``curve_step`` over a whole recorded curve."""
    running = curve_start(equity[0])
    for t in range(1, equity.shape[0]):
        running = curve_step(running, equity[t - 1], equity[t], returns, t)
    return running


@njit(nogil=True, error_model="numpy", fastmath={"reassoc"})
def curve_stats(running, first, last, returns, bench, rf, tail, out):
    """``STAT_FIELDS`` of a curve from its running statistics and its ``returns`` (T - 1).
    The sums of squares may be reassociated (``fastmath``), so their loop runs in vector
    registers; they then differ from a sequential sum in the last bits only."""
    n = returns.shape[0]
    total, low, high, peak, lowest, worst = running
    mean = total / n
    css, down = 0.0, 0.0
    for t in range(n):
        deviation, shortfall = returns[t] - mean, min(returns[t] - rf, 0.0)
        css += deviation * deviation
        down += shortfall * shortfall
    out[0], out[1], out[2], out[3] = first, last, mean, css
    out[4], out[5] = 1.0 if low == high else 0.0, down / n
    out[6] = min(worst, lowest / peak - 1.0)
    out[7], out[8] = tail_risk(returns) if tail else (np.nan, np.nan)
    if bench.shape[0]:
        _versus(returns, mean, bench, out)


@njit(nogil=True, error_model="numpy")
def _versus(returns, mean, bench, out):
    n = returns.shape[0]
    bench_mean, active_total = 0.0, 0.0
    low, high = np.inf, -np.inf
    for t in range(n):
        bench_mean += bench[t]
        active = returns[t] - bench[t]
        active_total += active
        low, high = min(low, active), max(high, active)
    bench_mean /= n
    active_mean = active_total / n
    cov, active_css = 0.0, 0.0
    for t in range(n):
        cov += (bench[t] - bench_mean) * (returns[t] - mean)
        active_css += (returns[t] - bench[t] - active_mean) ** 2
    out[9], out[10], out[11] = cov / n, active_mean, active_css
    out[12] = 1.0 if low == high else 0.0


@njit(nogil=True, error_model="numpy")
def tail_risk(returns):
    """VaR (linear-interpolated 5th percentile) and CVaR (mean of the ``floor((n-1) 0.05) + 1``
    smallest returns), as ``engine.metrics`` computes them."""
    n = returns.shape[0]
    position = (n - 1) * VAR_CUTOFF
    k = int(position) + 1
    m = min(k + 1, n)
    low = np.sort(np.partition(returns, m - 1)[:m])
    upper = low[min(k, n - 1)]
    var = low[k - 1] + (position - (k - 1)) * (upper - low[k - 1])
    return var, low[:k].mean()


@njit(nogil=True, error_model="numpy")
def block_sums(returns, rf, block_of, out):
    """Per block: count and sums of excess returns, their powers 2-4, squared negative
    parts, and ``log(1 + r)`` (``engine.optimize.evaluate.BLOCK_STATS``)."""
    out[:] = 0.0
    for t in range(returns.shape[0]):
        b = block_of[t]
        x = returns[t] - rf
        out[b, 0] += 1.0
        out[b, 1] += x
        out[b, 2] += x**2
        out[b, 3] += x**3
        out[b, 4] += x**4
        out[b, 5] += min(x, 0.0) ** 2
        out[b, 6] += math.log1p(returns[t])
