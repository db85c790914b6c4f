"""run_backtest end to end on small markets: document, missing bars, costs, compiles, dtype."""

from __future__ import annotations

import json

import jax
import numpy as np
import pandas as pd
import pytest

from accel.kernel import Costs
from engine import fused
from engine.backtest import run_backtest
from engine.data import synthetic_market
from engine.market import Market
from engine.portfolio import Limits
from engine.simulation import bars_for, run_lanes
from engine.spec import parse_spec
from engine.strategies import get_strategy

SECTIONS = {
    "backtest_name",
    "backtest_type",
    "execution_summary",
    "performance_metrics",
    "portfolio_performance",
    "benchmark_comparison",
    "trades_summary",
    "statistics",
    "equity_final",
    "risk_analytics",
    "trades",
    "open_positions",
    "orders",
    "positions",
    "prices",
}


def spec(**fields):
    base = {
        "backtest_name": "unit",
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "symbols": ["AAA", "BBB"],
        "strategy_id": "sma_crossover",
        "strategy_parameters": {"fast_period": 5, "slow_period": 20},
        "commission_rate": 0.0,
    }
    return parse_spec({**base, **fields})


def frame(closes, start="2024-01-01") -> pd.DataFrame:
    """Daily bars on business days; NaN closes are left out (missing bars)."""
    closes = pd.Series(closes, index=pd.bdate_range(start, periods=len(closes)), dtype=float)
    closes = closes.dropna()
    return pd.DataFrame(
        {"open": closes, "high": closes, "low": closes, "close": closes, "volume": 1.0}
    )


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_market(["AAA", "BBB", "SPY"], "2024-01-01", "2024-12-31", seed=7)


@pytest.fixture(scope="module")
def document(synthetic):
    result = run_backtest(spec(benchmark_symbol="SPY", commission_rate=0.001), synthetic)
    return result, result.document()


def test_document_has_every_section_and_is_json(document):
    result, doc = document
    assert set(doc) == SECTIONS
    json.dumps(doc, allow_nan=False)
    n_bars = result.market.n_bars
    portfolio = doc["portfolio_performance"]
    assert len(portfolio["portfolio_values"]) == len(portfolio["timestamps"]) == n_bars
    assert all(stamp.endswith("Z") for stamp in portfolio["timestamps"])
    assert portfolio["final_value"] == doc["equity_final"] == result.equity[-1]
    summary = doc["execution_summary"]
    assert summary["status"] == "completed"
    assert (summary["data_source"], summary["synthetic_data"]) == ("synthetic", True)
    assert summary["orders_executed"] == len(doc["orders"]) > 0
    assert (
        summary["trades_completed"] == doc["trades_summary"]["total_trades"] == len(doc["trades"])
    )
    assert summary["data_points_processed"] == n_bars * 2
    assert doc["benchmark_comparison"]["benchmark_symbol"] == "SPY"
    assert set(doc["positions"]["shares"]) == set(doc["prices"]) == {"AAA", "BBB"}
    assert len(portfolio["benchmark_values"]) == n_bars
    assert portfolio["benchmark_values"][0] == result.spec.initial_capital
    for section in ("performance_metrics", "risk_analytics"):
        assert doc[section], section


def test_document_sections_can_be_left_out(document):
    result, _ = document
    slim = result.document(include_trades=False, include_positions=False, include_analytics=False)
    assert set(slim) == SECTIONS - {"trades", "open_positions", "orders", "positions", "prices",
                                    "risk_analytics"}  # fmt: skip


def test_fills_account_for_the_equity(document):
    """Every cash flow of the orders plus the holdings at the last close is the final equity."""
    result, doc = document
    flows = sum(fill.cash_flow for fill in result.fills)
    held = result.shares[-1] @ result.market.filled("close")[-1]
    assert result.spec.initial_capital + flows + held == pytest.approx(doc["equity_final"])
    closed = sum(trade["pnl"] for trade in doc["trades"])
    still_open = sum(sum(f.cash_flow for f in trip.fills) for trip in result.open_trades)
    assert result.spec.initial_capital + closed + still_open + held == pytest.approx(
        doc["equity_final"]
    )


def test_a_symbol_is_not_traded_on_its_missing_bars_and_keeps_its_last_close():
    """Momentum top-1 of A and B, filled at the close, no costs. B has no bars 3 and 4.

    Bar 1: B leads, buy B. Bar 3: B's filled close is flat so A leads: buy A, but B cannot
    be sold yet. Bar 5: B is back and leads again: sell A; B's target never changed. Bar 6:
    A leads: sell B, buy A.
    """
    market = Market.from_frames(
        {
            "A": frame([10, 10.1, 10.2, 10.5, 11.0, 11.5, 12.0, 12.5, 13.0, 13.5]),
            "B": frame([20, 21, 22.5, np.nan, np.nan, 24, 24.1, 24.2, 24.3, 24.4]),
        }
    )
    result = run_backtest(
        spec(
            symbols=["A", "B"],
            strategy_id="momentum_factor",
            strategy_parameters={
                "lookback_period": 1,
                "momentum_threshold": -1.0,
                "rebalance_frequency": "daily",
                "top_k": 1,
            },
            fill="close",
            initial_capital=10_000,
        ),
        market,
    )
    fills = sorted((f.bar, f.symbol, "buy" if f.quantity > 0 else "sell") for f in result.fills)
    assert fills == [(1, "B", "buy"), (3, "A", "buy"), (5, "A", "sell"), (6, "A", "buy"),
                     (6, "B", "sell")]  # fmt: skip
    b_shares = 10_000 / 21
    np.testing.assert_allclose(result.shares[1:6, 1], b_shares, rtol=1e-12)
    a_shares = b_shares * 22.5 / 10.5  # all of the equity, B valued at its last close
    np.testing.assert_allclose(result.shares[3:5, 0], a_shares, rtol=1e-12)
    np.testing.assert_allclose(result.equity[3], b_shares * 22.5, rtol=1e-12)
    cash = -a_shares * 10.5
    np.testing.assert_allclose(result.equity[4], cash + a_shares * 11.0 + b_shares * 22.5)
    np.testing.assert_allclose(result.cash[4], cash, rtol=1e-12)


def test_costs_of_one_round_trip_by_hand():
    """SMA 1/2 filled at the close: long at 11 (bar 2), flat at 12 (bar 5)."""
    market = Market.from_frames({"X": frame([10, 9, 11, 12, 13, 12, 11])})
    settings = {
        "symbols": ["X"],
        "strategy_parameters": {"fast_period": 1, "slow_period": 2},
        "fill": "close",
        "initial_capital": 10_000,
    }
    free = run_backtest(spec(**settings), market)
    paid = run_backtest(
        spec(**settings, commission_rate=0.001, slippage_basis_points=10, fee_per_order=2.0),
        market,
    )
    for result in (free, paid):
        assert [(f.bar, f.quantity > 0) for f in result.fills] == [(2, True), (5, False)]
    c, s, f = 0.001, 0.001, 2.0
    shares = (10_000 - f) / (11 * (1 + s) * (1 + c))
    final = shares * 12 * (1 - s) * (1 - c) - f
    assert free.equity[-1] == pytest.approx(10_000 * 12 / 11, rel=1e-12)
    assert paid.equity[-1] == pytest.approx(final, rel=1e-12)
    assert free.equity[-1] - paid.equity[-1] == pytest.approx(10_000 * 12 / 11 - final, rel=1e-9)
    (trade,) = paid.document()["trades"]
    assert trade["pnl"] == pytest.approx(final - 10_000, rel=1e-12)
    assert trade["size"] == pytest.approx(shares, rel=1e-12)
    assert trade["entry_price"] == pytest.approx(11 * (1 + s), rel=1e-12)
    assert trade["exit_price"] == pytest.approx(12 * (1 - s), rel=1e-12)
    commission = shares * (11 * (1 + s) + 12 * (1 - s)) * c + 2 * f
    assert trade["commission"] == pytest.approx(commission, rel=1e-12)


OTHER_SETTINGS = dict(
    strategy_parameters={"fast_period": 7, "slow_period": 30, "allow_short": True},
    commission_rate=0.002,
    slippage_basis_points=5,
    initial_capital=50_000,
    max_portfolio_leverage=0.5,
)


def test_a_second_call_with_the_same_shapes_does_not_recompile(synthetic):
    run_backtest(spec(), synthetic, backend="jax")
    compiled = run_lanes._cache_size()
    run_backtest(spec(**OTHER_SETTINGS), synthetic, backend="jax")
    assert run_lanes._cache_size() == compiled
    run_backtest(spec(end_date="2024-06-28"), synthetic, backend="jax")  # fewer bars: new program
    assert run_lanes._cache_size() == compiled + 1


def test_the_fused_kernel_compiles_once_for_every_shape_and_setting(synthetic):
    run_backtest(spec(), synthetic, backend="numba")
    kernel = fused.compiled(get_strategy("sma_crossover").plan, "sma_crossover").module.run_record
    signatures = len(kernel.signatures)
    run_backtest(spec(**OTHER_SETTINGS), synthetic, backend="numba")
    run_backtest(spec(end_date="2024-06-28", fill="close"), synthetic, backend="numba")
    assert len(kernel.signatures) == signatures == 1, "\n".join(map(str, kernel.signatures))


def test_float32_accounts_match_float64():
    """Accelerators keep accounts in float32 (signals stay float64): equity within 1e-5
    relative with fractional shares (docs/engine.md: median 4e-7 on the GOOG sweep)."""
    market = synthetic_market(["AAA", "BBB", "CCC"], "2022-01-03", "2023-12-29", seed=3)
    strategy = get_strategy("sma_crossover")
    params = strategy.encode(
        [strategy.resolve({"fast_period": f, "slow_period": s}) for f, s in ((5, 20), (10, 50))]
    )
    runs = {}
    for dtype in (np.float64, np.float32):
        acct, path = run_lanes(
            bars_for(market, np.float64),
            params,
            Costs(0.001, 0.0005, 1.0),
            100_000.0,
            Limits(1.0, 1.0, np.inf, None),
            strategy=strategy,
            fill="next_open",
            whole_shares=False,
            record=True,
            dtype=dtype,
        )
        assert path.equity.dtype == dtype and path.shares.dtype == dtype
        assert np.all(np.isfinite(path.equity))
        runs[dtype] = jax.tree.map(np.asarray, (acct, path))
    (acct64, path64), (acct32, path32) = runs[np.float64], runs[np.float32]
    np.testing.assert_allclose(path32.equity, path64.equity, rtol=1e-5)
    np.testing.assert_array_equal(acct32.orders, acct64.orders)
    assert acct64.orders.min() > 4


def test_progress_rises_and_tells_the_last_simulated_bar(synthetic):
    calls = []
    run_backtest(
        spec(benchmark_symbol="SPY"),
        synthetic,
        progress=lambda fraction, message, at=None: calls.append((fraction, message, at)),
    )
    fractions = [fraction for fraction, _, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    told = [at for _, _, at in calls if at is not None]
    last_bar = pd.Timestamp(synthetic.timestamps[-1], tz="UTC")  # the spec ends with the market
    assert last_bar.date().isoformat() == "2024-12-31"
    assert told and told[-1] == last_bar.to_pydatetime()
