"""The path-dependent portfolio simulation: one ``lax.scan`` over time, every lane at once.

A lane is one independent account (one parameter set) holding S symbols. At each bar, targets
that changed since the position was last sized are executed in two legs: first positions
whose side changes (or that go flat) are closed, then the changed symbols are sized to
``target weight x equity after the closing costs`` at the cost-adjusted price. Unchanged
targets are not rebalanced against drift. A symbol without a bar is not tradable; its change
waits for its next bar. The semantics are documented in docs/engine.md, and
``accel.reference`` implements the same rules bar by bar for the tests.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

import accel  # noqa: F401  (64-bit mode)
from accel import costs as cost_model


class Costs(NamedTuple):
    """Commission (fraction of traded notional), slippage (fraction of price), fee per order."""

    commission: float
    slippage: float
    fee: float


class Prices(NamedTuple):
    """Per-bar prices ``(T, S)``, aligned so that targets at row t execute at row t."""

    execute: jnp.ndarray  # fill price before slippage
    value: jnp.ndarray  # price that values holdings when the fills happen
    mark: jnp.ndarray  # closing price that values holdings at the end of the bar
    tradable: jnp.ndarray  # bool: the symbol has a bar


class Account(NamedTuple):
    cash: jnp.ndarray  # (B,)
    shares: jnp.ndarray  # (B, S)
    sized_for: jnp.ndarray  # (B, S) target weight the position was last sized for
    trade_cash: jnp.ndarray  # (B, S) net cash flow of the open round trip
    orders: jnp.ndarray  # (B,) fills so far
    wins: jnp.ndarray  # (B,) round trips closed with a profit
    losses: jnp.ndarray  # (B,) round trips closed without one
    gross_profit: jnp.ndarray  # (B,)
    gross_loss: jnp.ndarray  # (B,) (positive number)


class Path(NamedTuple):
    """Per-bar outputs, time first: equity and cash ``(T, B)``; shares ``(T, B, S)`` if recorded."""

    equity: jnp.ndarray
    cash: jnp.ndarray
    gross_exposure: jnp.ndarray
    shares: jnp.ndarray | None


def open_account(n_lanes: int, n_symbols: int, cash: float, dtype) -> Account:
    zeros = jnp.zeros((n_lanes, n_symbols), dtype)
    lane = jnp.zeros((n_lanes,), dtype)
    return Account(lane + cash, zeros, zeros, zeros, lane, lane, lane, lane, lane)


def _fill(acct: Account, new_shares: jnp.ndarray, price: jnp.ndarray, costs: Costs) -> Account:
    """Trade every lane and symbol to ``new_shares`` at ``price`` with costs; book round trips."""
    delta = new_shares - acct.shares
    traded = delta != 0
    fill_price = cost_model.fill_price(price, jnp.sign(delta), costs.slippage)
    fees = cost_model.commission_paid(delta, fill_price, costs.commission) + costs.fee * traded
    flow = jnp.where(traded, -delta * fill_price - fees, 0.0)
    trade_cash = acct.trade_cash + flow
    closed = (acct.shares != 0) & (new_shares == 0)
    won = closed & (trade_cash > 0)
    lost = closed & ~(trade_cash > 0)
    return acct._replace(
        cash=acct.cash + flow.sum(-1),
        shares=new_shares,
        trade_cash=jnp.where(closed, 0.0, trade_cash),
        orders=acct.orders + traded.sum(-1),
        wins=acct.wins + won.sum(-1),
        losses=acct.losses + lost.sum(-1),
        gross_profit=acct.gross_profit + jnp.where(won, trade_cash, 0.0).sum(-1),
        gross_loss=acct.gross_loss - jnp.where(lost, trade_cash, 0.0).sum(-1),
    )


def _rebalance(acct: Account, target, bar, costs: Costs, whole_shares: bool) -> Account:
    execute, value, _, tradable = bar
    changed = (target != acct.sized_for) & tradable[None]
    side = jnp.sign(target)
    closing = changed & (acct.shares != 0) & (side != jnp.sign(acct.shares))
    acct = _fill(acct, jnp.where(closing, 0.0, acct.shares), execute, costs)
    opening = changed & (target != 0)
    equity = acct.cash + (acct.shares * value).sum(-1) - costs.fee * opening.sum(-1)
    unit_cost = cost_model.unit_cost(execute, side, costs.slippage, costs.commission)
    wanted = target * jnp.maximum(equity, 0.0)[:, None] / jnp.where(opening, unit_cost, 1.0)
    wanted = jnp.trunc(wanted) if whole_shares else wanted
    acct = _fill(acct, jnp.where(opening, wanted, acct.shares), execute, costs)
    return acct._replace(sized_for=jnp.where(changed, target, acct.sized_for))


@functools.partial(jax.jit, static_argnames=("whole_shares", "record", "unroll"))
def simulate(
    targets: jnp.ndarray,
    prices: Prices,
    costs: Costs,
    initial_cash: float,
    whole_shares: bool = False,
    record: bool = False,
    unroll: int = 1,
) -> tuple[Account, Path]:
    """Run every lane through every bar. ``targets`` is ``(T, B, S)`` target weights.

    ``unroll`` bars per loop iteration: on a GPU each iteration costs launches and a loop
    check, so callers pass ``accel.device.scan_unroll()``.
    """
    n_lanes, n_symbols = targets.shape[1], targets.shape[2]
    start = open_account(n_lanes, n_symbols, initial_cash, targets.dtype)

    def step(acct: Account, inputs):
        target, bar = inputs
        acct = _rebalance(acct, target, bar, costs, whole_shares)
        held = acct.shares * bar.mark
        equity = acct.cash + held.sum(-1)
        out = Path(equity, acct.cash, jnp.abs(held).sum(-1), acct.shares if record else None)
        return acct, out

    return jax.lax.scan(step, start, (targets, prices), unroll=unroll)
