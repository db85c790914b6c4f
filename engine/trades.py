"""Orders, fills and round-trip trades read back from a simulated position path.

The kernel records shares per bar; each change is one fill, except a change of side, which
is two (the close, then the new position), exactly as the kernel executes it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from accel import costs as cost_model


@dataclass(frozen=True)
class Fill:
    bar: int
    symbol: str
    quantity: float  # signed: + buys, - sells
    price: float  # after slippage
    commission: float
    fee: float

    @property
    def cash_flow(self) -> float:
        return -self.quantity * self.price - self.commission - self.fee


@dataclass
class RoundTrip:
    """One position from flat (or a side change) back to flat."""

    symbol: str
    side: str
    entry_bar: int
    fills: list[Fill] = field(default_factory=list)
    exit_bar: int | None = None

    def add(self, fill: Fill) -> None:
        self.fills.append(fill)

    def _opens(self, fill: Fill) -> bool:
        return (fill.quantity > 0) == (self.side == "long")

    def _vwap(self, opening: bool) -> float:
        legs = [f for f in self.fills if self._opens(f) == opening]
        qty = sum(abs(f.quantity) for f in legs)
        return sum(abs(f.quantity) * f.price for f in legs) / qty if qty else float("nan")

    @property
    def pnl(self) -> float:
        """Net of every cost: the sum of the round trip's cash flows."""
        return sum(f.cash_flow for f in self.fills)

    def record(self, stamps: list[str]) -> dict:
        """The trade as the results document lists it; ``stamps``: the bars' ISO times."""
        assert self.exit_bar is not None  # only closed round trips are recorded
        entry_notional = sum(abs(f.quantity) * f.price for f in self.fills if self._opens(f))
        pnl = self.pnl
        position = itertools.accumulate(f.quantity for f in self.fills)
        return {
            "symbol": self.symbol,
            "side": self.side,
            "entry_time": stamps[self.entry_bar],
            "exit_time": stamps[self.exit_bar],
            "entry_bar": self.entry_bar,
            "exit_bar": self.exit_bar,
            "duration_bars": self.exit_bar - self.entry_bar,
            "size": float(max(map(abs, position))),
            "entry_price": self._vwap(opening=True),
            "exit_price": self._vwap(opening=False),
            "pnl": float(pnl),
            "return_pct": float(100.0 * pnl / entry_notional),
            "commission": float(sum(f.commission + f.fee for f in self.fills)),
        }


def _legs(old: float, new: float) -> list[float]:
    """The signed quantities that move a position from ``old`` to ``new`` shares: two on a
    change of side (the close, then the new position), else one (none if equal)."""
    if old == new:
        return []
    if old != 0 and new != 0 and np.sign(new) != np.sign(old):
        return [-old, new]
    return [new - old]


def fills_from_positions(
    shares: np.ndarray,
    execute: np.ndarray,
    symbols: tuple[str, ...],
    commission: float,
    slippage: float,
    fee: float,
    exits: tuple[np.ndarray, np.ndarray] | None = None,
    fill_next: bool = True,
) -> list[Fill]:
    """Every fill implied by ``shares`` ``(T, S)`` executed at ``execute`` prices ``(T, S)``.

    ``exits`` (shares each exit order closed and its price, ``(T, S)``) adds the exit fills:
    after the bar's fills at the open (``fill_next``), before its fills at the close.
    """
    before = np.vstack([np.zeros_like(shares[:1]), shares[:-1]])
    closed = np.zeros_like(shares) if exits is None else np.asarray(exits[0])
    fills: list[Fill] = []

    def add(bar: int, col: int, quantities: list[float], price: float) -> None:
        for qty in quantities:
            paid = cost_model.fill_price(price, np.sign(qty), slippage)
            commission_paid = cost_model.commission_paid(qty, paid, commission)
            fills.append(Fill(bar, symbols[col], float(qty), float(paid), commission_paid, fee))

    for bar, col in zip(*np.nonzero((shares != before) | (closed != 0)), strict=True):
        bar, col = int(bar), int(col)
        old, new, out = before[bar, col], shares[bar, col], closed[bar, col]
        if out == 0:
            add(bar, col, _legs(old, new), execute[bar, col])
            continue
        exit_price = float(exits[1][bar, col])  # type: ignore[index]
        if fill_next:
            add(bar, col, _legs(old, out), execute[bar, col])
            add(bar, col, [-out], exit_price)
        else:
            add(bar, col, [-out], exit_price)
            add(bar, col, _legs(0.0, new), execute[bar, col])
    return fills


def round_trips(fills: list[Fill]) -> tuple[list[RoundTrip], list[RoundTrip]]:
    """Closed round trips and still-open positions, from fills in time order."""
    open_trips: dict[str, RoundTrip] = {}
    position: dict[str, float] = {}
    closed: list[RoundTrip] = []
    for fill in fills:
        held = position.get(fill.symbol, 0.0)
        if held == 0:
            side = "long" if fill.quantity > 0 else "short"
            open_trips[fill.symbol] = RoundTrip(fill.symbol, side, fill.bar)
        trip = open_trips[fill.symbol]
        trip.add(fill)
        position[fill.symbol] = held + fill.quantity
        if abs(position[fill.symbol]) <= 1e-9 * max(abs(held), 1.0):  # flat, up to rounding
            position[fill.symbol] = 0.0
            trip.exit_bar = fill.bar
            closed.append(open_trips.pop(fill.symbol))
    return closed, list(open_trips.values())


def trade_statistics(pnls: np.ndarray) -> dict:
    """Counts, averages and extremes of round-trip P&L; a win is a P&L above zero."""
    wins, losses = pnls[pnls > 0], pnls[pnls <= 0]
    gross_loss = -losses.sum()
    return {
        "winning_trades": int(wins.size),
        "losing_trades": int(losses.size),
        "win_rate": 100.0 * wins.size / pnls.size if pnls.size else None,
        "average_win": float(wins.mean()) if wins.size else None,
        "average_loss": float(losses.mean()) if losses.size else None,
        "profit_factor": float(wins.sum() / gross_loss) if gross_loss > 0 else None,
        "largest_win": float(wins.max()) if wins.size else None,
        "largest_loss": float(losses.min()) if losses.size else None,
        "average_trade": float(pnls.mean()) if pnls.size else None,
    }
