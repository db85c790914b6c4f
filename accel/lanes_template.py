"""The fused CPU kernels' loop, completed per strategy by ``accel.lanes_codegen``.

This file is a template: the generator appends a compiled ``decide_row`` (the strategy's
rule for one lane and bar, written from its expression trees) and sets ``CACHE``, then imports
the result as a module of its own. Each lane walks the bars once with its account in local
arrays, deciding at each close, and does the trade arithmetic only on bars where a target
differs from what its position was sized for. ``run_sweep`` keeps per-lane statistics,
``run_record`` the whole path. Lanes run in parallel (``prange``) on the configured threads.
A sweep's single-symbol lanes without exit orders (a one-symbol grid, a universe sweep) take
``simulate_one``, the same steps with the position in scalars: half the time per bar.
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


@njit(cache=CACHE, nogil=True, error_model="numpy")
def simulate_one(
    ind, rows, prm, bars, starts, col, prices, tradable, fill_next, whole_shares, costs, limits,
    sector_map, acc, returns
):  # fmt: skip
    """``simulate_lane`` for a single-symbol lane without exit orders (every lane of a
    one-symbol or per-symbol sweep): the position in scalars, the rule's weight in a
    one-element array, the limits applied only when that weight changes. The equity curve
    goes into its running statistics (``lanes.curve_step``) and ``returns`` as it is made;
    the statistics, the first and the final equity are returned."""
    held = np.zeros((N_STATE, 1), np.bool_)
    raw, limited = np.zeros(1), np.zeros(1)
    shares, sized_for, trade_cash, target = 0.0, 0.0, 0.0, 0.0
    execute, value, mark = prices[0, col], prices[1, col], prices[2, col]
    can_trade = tradable[col]
    lane = lane_constants(rows, prm)
    unsized = False
    first = worth = 0.0
    running = lanes.curve_start(0.0)
    for t in range(mark.shape[0]):
        if not fill_next and decide_row(ind, lane, bars, starts, t, col, held, raw):
            lanes.apply_limits(raw, limited, limits, sector_map)
            target, unsized = limited[0], True
        if unsized and can_trade[t] and target != sized_for:
            shares, trade_cash = lanes.rebalance_one(
                acc, shares, trade_cash, target, execute[t], value[t], costs, whole_shares
            )
            sized_for, unsized = target, False
        previous, worth = worth, acc[lanes.CASH] + shares * mark[t]
        if t == 0:
            first, running = worth, lanes.curve_start(worth)
        else:
            running = lanes.curve_step(running, previous, worth, returns, t)
        if fill_next and decide_row(ind, lane, bars, starts, t, col, held, raw):
            lanes.apply_limits(raw, limited, limits, sector_map)
            target, unsized = limited[0], True
    return running, first, worth


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
        returns = np.empty(n_bars - 1)
        if sector_map.shape[1] == 1 and not use_exits:
            running, first, last = simulate_one(ind, rows[p], prm[p], bars, starts, lane_col[lane],
                                                prices, tradable, fill_next, whole_shares, costs,
                                                limits, sector_map, accounts[lane],
                                                returns)  # fmt: skip
        else:
            equity = np.empty(n_bars)
            simulate_lane(ind, rows[p], prm[p], bars, starts, lane_col[lane], prices, tradable,
                          fill_next, whole_shares, costs, limits, sector_map, exit_atr,
                          exit_fraction, use_exits, equity, accounts[lane], no_path)  # fmt: skip
            running, first, last = lanes.curve_replay(equity, returns), equity[0], equity[-1]
        accounts[lane, -1] = last
        if n_bars > 1:
            lanes.curve_stats(running, first, last, returns, bench, rf, tail, stats[lane])
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
