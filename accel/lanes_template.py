"""The fused CPU kernels' loop, completed per strategy by ``accel.lanes_codegen``.

This file is a template: the generator appends a compiled ``decide_row`` (the strategy's
rule for one lane and bar, written from its expression trees) and sets ``CACHE``, then imports
the result as a module of its own. Each lane walks the bars once with its account in local
arrays, deciding at each close, and does the trade arithmetic only on bars where a target
differs from what its position was sized for. ``run_sweep`` keeps per-lane statistics,
``run_record`` the whole path. Lanes run in parallel (``prange``) on the configured threads.
"""

import numpy as np
from numba import njit, prange

from accel import lanes

CACHE = False
N_STATE = 1


def lane_constants(rows, prm):
    """Replaced by the generated rule: the lane's indicator rows and parameters as a tuple, read
    once per lane so they stay in registers through the bar loop."""
    raise NotImplementedError


def decide_row(ind, lane, bars, starts, t, col, held, raw):
    """Replaced by the generated rule: update ``raw`` weights at bar t; whether they changed."""
    raise NotImplementedError


@njit(cache=CACHE, nogil=True, error_model="numpy")
def simulate_lane(
    ind,
    rows,
    prm,
    bars,
    starts,
    col,
    prices,
    tradable,
    fill_next,
    whole_shares,
    costs,
    limits,
    sector_map,
    exit_atr,
    exit_fraction,
    use_exits,
    equity,
    acc,
    path,
):
    """One account through every bar; ``acc`` starts with the cash, ``path`` (T, 3 + 3 width)
    records equity, cash, gross exposure, shares and exits (shares closed, price) when it has
    rows. With ``use_exits`` exit orders run inside each bar: after the fills at the open,
    before the fills at the close."""
    width = sector_map.shape[1]
    stops, before = np.zeros((4, width)), np.zeros(width)
    exited = np.zeros((2, width))
    exited[1] = np.nan
    held = np.zeros((N_STATE, width), np.bool_)
    raw, target = np.zeros(width), np.zeros(width)
    shares, sized_for, trade_cash = np.zeros(width), np.zeros(width), np.zeros(width)
    execute, value, mark = prices[0], prices[1], prices[2]
    record = path.shape[0] > 0
    lane = lane_constants(rows, prm)
    unsized = False  # some target differs from what its position was sized for
    for t in range(equity.shape[0]):
        if not fill_next and decide_row(ind, lane, bars, starts, t, col, held, raw):
            lanes.apply_limits(raw, target, limits, sector_map)
            unsized = True
        if use_exits and not fill_next:
            lanes.exit_orders(acc, shares, trade_cash, stops, bars, tradable, col, t,
                              exit_fraction[2], costs, exited)  # fmt: skip
        if unsized and lanes.pending(target, sized_for, tradable, t, col):
            before[:] = shares
            lanes.rebalance(
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
            )
            unsized = not np.array_equal(target, sized_for)
            if use_exits:
                lanes.arm(stops, before, shares, execute, exit_atr, exit_fraction, col, t)
        if use_exits and fill_next:
            lanes.exit_orders(acc, shares, trade_cash, stops, bars, tradable, col, t,
                              exit_fraction[2], costs, exited)  # fmt: skip
        worth = acc[lanes.CASH]
        for s in range(width):
            worth += shares[s] * mark[col + s, t]
        equity[t] = worth
        if record:
            path[t, 0], path[t, 1] = worth, acc[lanes.CASH]
            path[t, 2] = lanes.gross_exposure(shares, mark, col, t)
            path[t, 3 : 3 + width] = shares
            path[t, 3 + width : 3 + 2 * width] = exited[0]
            path[t, 3 + 2 * width :] = exited[1]
        if fill_next and decide_row(ind, lane, bars, starts, t, col, held, raw):
            lanes.apply_limits(raw, target, limits, sector_map)
            unsized = True


@njit(cache=CACHE, nogil=True, parallel=True, error_model="numpy")
def run_sweep(
    ind,
    rows,
    prm,
    bars,
    starts,
    lane_set,
    lane_col,
    prices,
    tradable,
    fill_next,
    whole_shares,
    costs,
    limits,
    sector_map,
    exit_atr,
    exit_fraction,
    use_exits,
    bench,
    rf,
    tail,
    block_of,
    accounts,
    stats,
    blocks,
):
    """Every lane's account totals (``accounts``, seeded with the cash) and curve statistics."""
    n_bars = bars.shape[2]
    no_path = np.empty((0, 0))
    for lane in prange(lane_set.shape[0]):
        p = lane_set[lane]
        equity = np.empty(n_bars)
        simulate_lane(
            ind,
            rows[p],
            prm[p],
            bars,
            starts,
            lane_col[lane],
            prices,
            tradable,
            fill_next,
            whole_shares,
            costs,
            limits,
            sector_map,
            exit_atr,
            exit_fraction,
            use_exits,
            equity,
            accounts[lane],
            no_path,
        )
        accounts[lane, -1] = equity[n_bars - 1]
        if n_bars > 1:
            returns = np.empty(n_bars - 1)
            lanes.curve_stats(equity, returns, bench, rf, tail, stats[lane])
            if blocks.shape[1]:
                lanes.block_sums(returns, rf, block_of, blocks[lane])


@njit(cache=CACHE, nogil=True, parallel=True, error_model="numpy")
def run_record(
    ind,
    rows,
    prm,
    bars,
    starts,
    lane_col,
    prices,
    tradable,
    fill_next,
    whole_shares,
    costs,
    limits,
    sector_map,
    exit_atr,
    exit_fraction,
    use_exits,
    accounts,
    paths,
):
    """Every lane's account totals and whole path ``paths`` (L, T, 3 + 3 width)."""
    for lane in prange(paths.shape[0]):
        equity = np.empty(paths.shape[1])
        simulate_lane(
            ind,
            rows[lane],
            prm[lane],
            bars,
            starts,
            lane_col[lane],
            prices,
            tradable,
            fill_next,
            whole_shares,
            costs,
            limits,
            sector_map,
            exit_atr,
            exit_fraction,
            use_exits,
            equity,
            accounts[lane],
            paths[lane],
        )
