"""The cost model, written once: every backend and the trade list price a fill with these.

Plain arithmetic on scalars or arrays, so the numba lanes compile them (``accel.lanes``), the
JAX kernel traces them (``accel.kernel``) and ``engine.trades`` itemises fills with them. The
caller passes ``side`` (+1 buy, -1 sell, 0 none) from its own sign function. Only
``accel.reference``, the tests' independent yardstick, spells the rules out again on purpose.
"""

from __future__ import annotations


def fill_price(price, side, slippage):
    """The price a fill pays: slippage (a fraction of price) moves it against the trader."""
    return price * (1.0 + slippage * side)


def commission_paid(quantity, fill_price, commission):
    """Commission on a fill: a fraction of its traded notional, whatever its side."""
    return abs(quantity) * fill_price * commission


def unit_cost(price, side, slippage, commission):
    """What one share costs all in when a position is sized: the fill price plus commission."""
    return price * (1.0 + slippage * side) * (1.0 + commission)
