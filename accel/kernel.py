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

import accel  # 64-bit mode
from accel import costs as cost_model


class Costs(NamedTuple):
    """Commission (fraction of traded notional), slippage (fraction of price), fee per order."""

    commission: float
    slippage: float
    fee: float


class Prices(NamedTuple):
    """Per-bar prices ``(T, S)``, aligned so that targets at row t execute at row t."""

    execute: accel.Array  # fill price before slippage
    value: accel.Array  # price that values holdings when the fills happen
    mark: accel.Array  # closing price that values holdings at the end of the bar
    tradable: accel.Array  # bool: the symbol has a bar


class Account(NamedTuple):
    cash: accel.Array  # (B,)
    shares: accel.Array  # (B, S)
    sized_for: accel.Array  # (B, S) target weight the position was last sized for
    trade_cash: accel.Array  # (B, S) net cash flow of the open round trip
    orders: accel.Array  # (B,) fills so far
    wins: accel.Array  # (B,) round trips closed with a profit
    losses: accel.Array  # (B,) round trips closed without one
    gross_profit: accel.Array  # (B,)
    gross_loss: accel.Array  # (B,) (positive number)


class Path(NamedTuple):
    """Per-bar outputs, time first: equity and cash ``(T, B)``; shares ``(T, B, S)`` if recorded."""

    equity: accel.Array
    cash: accel.Array
    gross_exposure: accel.Array
    shares: accel.Array | None
    exit_shares: accel.Array | None = None  # (T, B, S) shares closed by an exit order
    exit_price: accel.Array | None = None  # (T, B, S) its price before slippage (NaN: none)


class ExitBars(NamedTuple):
    """What exit orders read per bar: open, high and low ``(T, S)``, the ATR distances
    ``(T, 3, S)`` of a position opened at that bar and the fractions ``(3,)`` (stop-loss,
    take-profit, trailing stop; see ``engine.exits``). The one-bar slices ``simulate``'s scan
    reads carry no fractions (``None``)."""

    open: jnp.ndarray
    high: jnp.ndarray
    low: jnp.ndarray
    atr: jnp.ndarray
    fraction: jnp.ndarray | None


class Stops(NamedTuple):
    """Each position's exit levels ``(B, S)``: stop and target fixed at the entry, the best
    price since the entry and the trailing stop's ATR distance."""

    stop: jnp.ndarray
    target: jnp.ndarray
    peak: jnp.ndarray
    trail: jnp.ndarray


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


def _arm(stops: Stops, before, acct: Account, execute, atr, fraction) -> Stops:
    """Fix the levels of every position that opened (from flat or on a change of side)."""
    opened = (acct.shares != 0) & (jnp.sign(acct.shares) != jnp.sign(before))
    long = acct.shares > 0
    a = jnp.where(jnp.isnan(atr), jnp.inf, atr)  # (3, S): no ATR yet, that kind stays off
    up = [execute * (1.0 + fraction[j]) + a[j] for j in range(2)]
    down = [execute * (1.0 - fraction[j]) - a[j] for j in range(2)]
    return Stops(
        jnp.where(opened, jnp.where(long, down[0], up[0]), stops.stop),
        jnp.where(opened, jnp.where(long, up[1], down[1]), stops.target),
        jnp.where(opened, execute, stops.peak),
        jnp.where(opened, a[2], stops.trail),
    )


def _exit(acct: Account, stops: Stops, bar: ExitBars, trail, tradable, costs: Costs):
    """Close the positions whose stop (checked first) or target the bar's range reaches, at
    the level or at the open when the bar opens beyond it; then move the trailing peaks."""
    long, short = acct.shares > 0, acct.shares < 0
    stop_long = jnp.maximum(stops.stop, stops.peak * (1.0 - trail) - stops.trail)
    stop_short = jnp.minimum(stops.stop, stops.peak * (1.0 + trail) + stops.trail)
    hit_stop = tradable & ((long & (bar.low <= stop_long)) | (short & (bar.high >= stop_short)))
    hit_target = (
        tradable
        & ~hit_stop
        & ((long & (bar.high >= stops.target)) | (short & (bar.low <= stops.target)))
    )
    at_stop = jnp.where(long, jnp.minimum(bar.open, stop_long), jnp.maximum(bar.open, stop_short))
    at_target = jnp.where(
        long, jnp.maximum(bar.open, stops.target), jnp.minimum(bar.open, stops.target)
    )
    hit = hit_stop | hit_target
    price = jnp.where(hit_stop, at_stop, at_target)
    exited = jnp.where(hit, acct.shares, 0.0)
    acct = _fill(acct, jnp.where(hit, 0.0, acct.shares), jnp.where(hit, price, 0.0), costs)
    moves = tradable & ~hit
    peak = jnp.where(long & moves, jnp.maximum(stops.peak, bar.high), stops.peak)
    peak = jnp.where(short & moves, jnp.minimum(peak, bar.low), peak)
    return acct, stops._replace(peak=peak), exited, jnp.where(hit, price, jnp.nan)


@functools.partial(jax.jit, static_argnames=("whole_shares", "record", "unroll", "fill_next"))
def simulate(
    targets: jnp.ndarray,
    prices: Prices,
    costs: Costs,
    initial_cash: float,
    whole_shares: bool = False,
    record: bool = False,
    unroll: int = 1,
    exits: ExitBars | None = None,
    fill_next: bool = True,
) -> tuple[Account, Path]:
    """Run every lane through every bar. ``targets`` is ``(T, B, S)`` target weights.

    ``unroll`` bars per loop iteration: on a GPU each iteration costs launches and a loop
    check, so callers pass ``accel.device.scan_unroll()``. With ``exits``, exit orders run
    inside each bar: after the fills at the open (``fill_next``), before those at the close.
    """
    n_lanes, n_symbols = targets.shape[1], targets.shape[2]
    start = open_account(n_lanes, n_symbols, initial_cash, targets.dtype)
    zeros = jnp.zeros((n_lanes, n_symbols), targets.dtype)
    per_bar = None if exits is None else exits._replace(fraction=None)

    def trade(acct: Account, stops: Stops, target, bar: Prices, exit_bar):
        before = acct.shares
        acct = _rebalance(acct, target, bar, costs, whole_shares)
        if exits is not None:
            stops = _arm(stops, before, acct, bar.execute, exit_bar.atr, exits.fraction)
        return acct, stops

    def step(carry, inputs):
        acct, stops = carry
        target, bar, exit_bar = inputs
        exited = exit_price = None
        if fill_next:
            acct, stops = trade(acct, stops, target, bar, exit_bar)
        if exits is not None:
            acct, stops, exited, exit_price = _exit(
                acct, stops, exit_bar, exits.fraction[2], bar.tradable, costs
            )
        if not fill_next:
            acct, stops = trade(acct, stops, target, bar, exit_bar)
        held = acct.shares * bar.mark
        equity = acct.cash + held.sum(-1)
        out = Path(equity, acct.cash, jnp.abs(held).sum(-1), acct.shares if record else None)
        if record and exits is not None:
            out = out._replace(exit_shares=exited, exit_price=exit_price)
        return (acct, stops), out

    carry = (start, Stops(zeros, zeros, zeros, zeros))
    (acct, _), path = jax.lax.scan(step, carry, (targets, prices, per_bar), unroll=unroll)
    return acct, path
