"""Checks every kernel must pass: finite outputs, shapes and dtypes, one compile per shape."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from accel.kernel import Account, Costs, Path, Prices, simulate
from accel.reference import simulate_reference

T, B, S = 50, 4, 3
COSTS = Costs(0.001, 0.0005, 1.0)


def inputs(dtype, seed: int = 0, steps: int = T) -> tuple[np.ndarray, Prices]:
    """Targets ``(T, B, S)`` that change now and then, and prices with missing bars."""
    rng = np.random.default_rng(seed)
    levels = rng.choice([-0.5, -0.2, 0.0, 0.2, 0.3], size=(steps // 5 + 1, B, S))
    targets = np.repeat(levels, 5, axis=0)[:steps]
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (steps, S)), axis=0))
    execute = close * np.exp(rng.normal(0, 0.005, (steps, S)))
    tradable = rng.random((steps, S)) > 0.1
    prices = Prices(execute.astype(dtype), execute.astype(dtype), close.astype(dtype), tradable)
    return targets.astype(dtype), prices


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("whole_shares", [False, True])
@pytest.mark.parametrize("record", [False, True])
def test_outputs_are_finite_with_the_input_dtype_and_shapes(dtype, whole_shares, record):
    targets, prices = inputs(dtype)
    acct, path = simulate(targets, prices, COSTS, 10_000.0, whole_shares=whole_shares,
                          record=record)  # fmt: skip
    assert isinstance(acct, Account) and isinstance(path, Path)
    expected = {
        "cash": (B,),
        "shares": (B, S),
        "sized_for": (B, S),
        "trade_cash": (B, S),
        "orders": (B,),
        "wins": (B,),
        "losses": (B,),
        "gross_profit": (B,),
        "gross_loss": (B,),
    }
    for name, shape in expected.items():
        value = getattr(acct, name)
        assert value.shape == shape, name
        assert value.dtype == dtype, name
        assert np.all(np.isfinite(value)), name
    for name in ("equity", "cash", "gross_exposure"):
        value = getattr(path, name)
        assert value.shape == (T, B) and value.dtype == dtype, name
        assert np.all(np.isfinite(value)), name
    if record:
        assert path.shares.shape == (T, B, S) and path.shares.dtype == dtype
        np.testing.assert_array_equal(path.shares[-1], acct.shares)
    else:
        assert path.shares is None
    assert np.all(acct.orders > 0)
    if whole_shares:
        np.testing.assert_array_equal(acct.shares, np.trunc(acct.shares))


def test_no_targets_no_trades():
    targets, prices = inputs(np.float64)
    acct, path = simulate(np.zeros_like(targets), prices, COSTS, 10_000.0)
    np.testing.assert_array_equal(path.equity, 10_000.0)
    assert not np.any(acct.orders)


def test_float32_follows_float64():
    args = [inputs(d) for d in (np.float32, np.float64)]
    (_, p32), (_, p64) = (simulate(t, p, COSTS, 10_000.0) for t, p in args)
    np.testing.assert_allclose(p32.equity, p64.equity, rtol=1e-5)


@pytest.mark.parametrize("whole_shares", [False, True])
def test_float64_matches_the_reference(whole_shares):
    targets, prices = inputs(np.float64, seed=1)
    acct, path = simulate(targets, prices, COSTS, 10_000.0, whole_shares=whole_shares, record=True)
    for lane in range(B):
        equity, shares, account = simulate_reference(
            targets[:, lane], *prices, COSTS, 10_000.0, whole_shares
        )
        np.testing.assert_allclose(path.equity[:, lane], equity, rtol=1e-9)
        np.testing.assert_allclose(path.shares[:, lane], shares, rtol=1e-9, atol=1e-9)
        assert (acct.orders[lane], acct.wins[lane], acct.losses[lane]) == (
            account["orders"],
            account["wins"],
            account["losses"],
        )


def test_unrolling_changes_nothing():
    """Accelerators unroll the scan (8 bars); 3 does not divide T, so a remainder runs too."""
    targets, prices = inputs(np.float64, seed=2)
    _, rolled = simulate(targets, prices, COSTS, 10_000.0, record=True)
    _, unrolled = simulate(targets, prices, COSTS, 10_000.0, record=True, unroll=3)
    for a, b in zip(jax.tree.leaves(rolled), jax.tree.leaves(unrolled), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_second_call_with_the_same_shapes_does_not_recompile(dtype):
    targets, prices = inputs(dtype, seed=3)
    simulate(targets, prices, COSTS, 10_000.0)
    compiled = simulate._cache_size()
    other_targets, other_prices = inputs(dtype, seed=4)
    simulate(other_targets, other_prices, Costs(0.002, 0.0, 0.0), 5_000.0)
    assert simulate._cache_size() == compiled
    simulate(*inputs(dtype, seed=4, steps=T + 5), COSTS, 10_000.0)  # a new shape compiles
    assert simulate._cache_size() == compiled + 1
