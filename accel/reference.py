"""The per-bar numpy reference of ``accel.kernel.simulate``: slow and obvious, for tests only.

It walks one account through the bars with plain loops and the rules written out in words in
docs/engine.md, so the batched kernel can be held to it.
"""

from __future__ import annotations

import math

import numpy as np


def _trade(account: dict, symbol: int, new_shares: float, price: float, costs) -> None:
    """Move one symbol to ``new_shares``, paying slippage, commission and fee; book round trips."""
    delta = new_shares - account["shares"][symbol]
    if delta == 0:
        return
    fill_price = price * (1 + costs.slippage * math.copysign(1, delta))
    fees = abs(delta) * fill_price * costs.commission + costs.fee
    flow = -delta * fill_price - fees
    account["cash"] += flow
    account["orders"] += 1
    account["trade_cash"][symbol] += flow
    was_open = account["shares"][symbol] != 0
    account["shares"][symbol] = new_shares
    if was_open and new_shares == 0:
        pnl = account["trade_cash"][symbol]
        account["wins" if pnl > 0 else "losses"] += 1
        account["trade_cash"][symbol] = 0.0


def _sign(x: float) -> float:
    return 0.0 if x == 0 else math.copysign(1.0, x)


def _arm(levels: dict, s: int, before: float, now: float, entry: float, atr, fraction) -> None:
    """A position that opened (from flat or on a change of side) fixes its exit levels."""
    if now == 0 or _sign(now) == _sign(before):
        return
    a = [math.inf if math.isnan(x) else float(x) for x in atr]
    long = now > 0
    stop = entry * (1 - fraction[0]) - a[0] if long else entry * (1 + fraction[0]) + a[0]
    target = entry * (1 + fraction[1]) + a[1] if long else entry * (1 - fraction[1]) - a[1]
    levels[s] = {"stop": stop, "target": target, "peak": entry, "trail": a[2]}


def _exit_price(levels: dict, held: float, bar_open, high, low, trail_fraction) -> float | None:
    """The price at which an exit order closes a position on this bar, or None.

    The stop (the tighter of the stop-loss and the trailing stop) is checked first: a long
    stops when the low reaches it, at the stop or at the open if the bar opened below it.
    Otherwise a long takes profit when the high reaches the target, at the target or at the
    open if the bar opened above it. Shorts mirror this.
    """
    if held > 0:
        stop = max(levels["stop"], levels["peak"] * (1 - trail_fraction) - levels["trail"])
        if low <= stop:
            return min(bar_open, stop)
        if high >= levels["target"]:
            return max(bar_open, levels["target"])
    else:
        stop = min(levels["stop"], levels["peak"] * (1 + trail_fraction) + levels["trail"])
        if high >= stop:
            return max(bar_open, stop)
        if low <= levels["target"]:
            return min(bar_open, levels["target"])
    return None


def simulate_reference(
    targets, execute, value, mark, tradable, costs, cash, whole_shares, exits=None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """One account: ``targets`` ``(T, S)`` aligned to the bar that executes them.

    ``exits`` (a dict: ``open``, ``high``, ``low`` ``(T, S)``, ``atr`` ``(T, 3, S)``,
    ``fraction`` ``(3,)``, ``fill_next``) adds exit orders inside each bar: after the fills at
    the open (``fill_next``), before the fills at the close. After an exit the symbol stays
    flat until its target changes. Returns per-bar equity and shares and the final account,
    whose ``exits`` are the shares each exit closed and its price ``(T, S)`` (NaN: none).
    """
    steps, n = targets.shape
    account: dict = {
        "cash": float(cash),
        "shares": [0.0] * n,
        "trade_cash": [0.0] * n,
        "orders": 0,
        "wins": 0,
        "losses": 0,
    }
    sized_for = [0.0] * n
    levels: dict = {}
    equity = np.zeros(steps)
    shares = np.zeros((steps, n))
    exited = np.zeros((steps, n))
    exit_price = np.full((steps, n), np.nan)

    def rebalance(t):
        before = list(account["shares"])
        changed = [tradable[t, s] and targets[t, s] != sized_for[s] for s in range(n)]
        for s in range(n):
            held = account["shares"][s]
            if changed[s] and held != 0 and _sign(targets[t, s]) != _sign(held):
                _trade(account, s, 0.0, execute[t, s], costs)
        opening = [changed[s] and targets[t, s] != 0 for s in range(n)]
        worth = account["cash"] + sum(account["shares"][s] * value[t, s] for s in range(n))
        budget = max(worth - costs.fee * sum(opening), 0.0)
        for s in range(n):
            if opening[s]:
                side = _sign(targets[t, s])
                unit = execute[t, s] * (1 + costs.slippage * side) * (1 + costs.commission)
                want = targets[t, s] * budget / unit
                _trade(
                    account,
                    s,
                    float(math.trunc(want)) if whole_shares else want,
                    execute[t, s],
                    costs,
                )
            if changed[s]:
                sized_for[s] = targets[t, s]
            if exits is not None:
                now = account["shares"][s]
                _arm(levels, s, before[s], now, execute[t, s], exits["atr"][t, :, s],
                     exits["fraction"])  # fmt: skip

    def exit_orders(t):
        for s in range(n):
            held = account["shares"][s]
            if held == 0 or not tradable[t, s]:
                continue
            bar = (exits["open"][t, s], exits["high"][t, s], exits["low"][t, s])
            price = _exit_price(levels[s], held, *bar, exits["fraction"][2])
            if price is None:
                best = max if held > 0 else min
                levels[s]["peak"] = best(levels[s]["peak"], bar[1] if held > 0 else bar[2])
                continue
            _trade(account, s, 0.0, price, costs)
            exited[t, s], exit_price[t, s] = held, price

    for t in range(steps):
        fill_next = exits is None or exits["fill_next"]
        if fill_next:
            rebalance(t)
        if exits is not None:
            exit_orders(t)
        if not fill_next:
            rebalance(t)
        equity[t] = account["cash"] + sum(account["shares"][s] * mark[t, s] for s in range(n))
        shares[t] = account["shares"]
    account["exits"] = (exited, exit_price)
    return equity, shares, account
