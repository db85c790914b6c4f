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


def simulate_reference(targets, execute, value, mark, tradable, costs, cash, whole_shares):
    """One account: ``targets`` ``(T, S)`` aligned to the bar that executes them.

    Returns per-bar equity and shares and the final trade counts.
    """
    steps, n = targets.shape
    account = {
        "cash": float(cash),
        "shares": [0.0] * n,
        "trade_cash": [0.0] * n,
        "orders": 0,
        "wins": 0,
        "losses": 0,
    }
    sized_for = [0.0] * n
    equity = np.zeros(steps)
    shares = np.zeros((steps, n))
    for t in range(steps):
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
        equity[t] = account["cash"] + sum(account["shares"][s] * mark[t, s] for s in range(n))
        shares[t] = account["shares"]
    return equity, shares, account
