"""Live parity with backtesting.py 0.6.6: its README SMA cross on its bundled GOOG bars.

Both engines run here, in this process; ``examples/goog_sma.json`` holds our side's settings
(SMA 10/20 with shorts, whole shares, next-open fills, 0.2 % commission, 10,000 cash), and
``examples/goog_sma_rules.json`` the same strategy as a rules document. Ours runs on every CPU
backend: the JAX scan and the fused numba loop.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA

from engine.backtest import run_backtest
from engine.market import Market
from engine.spec import parse_spec
from tests.unit.engine.bt_parity import assert_trades_match

ROOT = Path(__file__).resolve().parents[3]


class SmaCross(Strategy):
    """backtesting.py's README strategy, verbatim."""

    n1 = 10
    n2 = 20

    def init(self):
        close = self.data.Close
        self.sma1 = self.I(SMA, close, self.n1)
        self.sma2 = self.I(SMA, close, self.n2)

    def next(self):
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()


@pytest.fixture(scope="module")
def theirs() -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, exclusive_orders=False)
        return bt.run()


EXAMPLES = {
    "goog_sma.json": ("sma_crossover", {"fast_period": 10, "slow_period": 20, "allow_short": True}),
    "goog_sma_rules.json": ("rules", {"fast": 10, "slow": 20}),
}


@pytest.fixture(
    scope="module",
    params=[(name, backend) for name in EXAMPLES for backend in ("jax", "numba")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def ours(request):
    name, backend = request.param
    spec = parse_spec(json.loads((ROOT / "examples" / name).read_text()))
    market = Market.from_frames({"GOOG": GOOG.rename(columns=str.lower)}, source="file")
    result = run_backtest(spec, market, backend=backend)
    return result, result.document(), name


def test_the_example_spec_uses_the_readme_conventions(ours):
    spec = ours[0].spec
    assert (spec.strategy_id, dict(spec.strategy_parameters)) == EXAMPLES[ours[2]]
    assert (spec.fill, spec.fractional_shares) == ("next_open", False)
    assert (spec.commission_rate, spec.slippage_basis_points, spec.fee_per_order) == (0.002, 0, 0)
    assert spec.initial_capital == 10_000
    assert ours[0].market.n_bars == len(GOOG) == 2148


def test_bundled_goog_csv_is_backtesting_py_goog():
    frame = pd.read_csv(ROOT / "examples" / "data" / "GOOG.csv", index_col=0, parse_dates=True)
    pd.testing.assert_frame_equal(frame, GOOG, check_names=False, check_dtype=False)


def test_final_equity_to_the_cent(theirs, ours):
    result, document, _ = ours
    assert round(theirs["Equity Final [$]"], 2) == 56_263.52
    assert round(result.equity[-1], 2) == round(theirs["Equity Final [$]"], 2)
    assert round(document["equity_final"], 2) == 56_263.52
    np.testing.assert_allclose(result.equity[-1], theirs["Equity Final [$]"], rtol=1e-12)


def test_equity_curve_bar_by_bar(theirs, ours):
    np.testing.assert_allclose(ours[0].equity, theirs["_equity_curve"]["Equity"], rtol=1e-10)


def test_trade_count_drawdown_and_win_rate(theirs, ours):
    _, document, _ = ours
    assert theirs["# Trades"] == 93
    assert document["trades_summary"]["total_trades"] == 93
    assert len(document["trades"]) == 93
    performance = document["performance_metrics"]
    assert round(theirs["Max. Drawdown [%]"], 2) == -33.93
    assert round(performance["max_drawdown"], 2) == -33.93
    np.testing.assert_allclose(performance["max_drawdown"], theirs["Max. Drawdown [%]"], rtol=1e-9)
    np.testing.assert_allclose(performance["win_rate"], theirs["Win Rate [%]"], rtol=1e-12)
    np.testing.assert_allclose(performance["total_return"], theirs["Return [%]"], rtol=1e-9)


def test_commissions_total(theirs, ours):
    paid = sum(trade["commission"] for trade in ours[1]["trades"])
    np.testing.assert_allclose(paid, theirs["Commissions [$]"], rtol=1e-12)


def test_trades_one_for_one(theirs, ours):
    assert_trades_match(theirs["_trades"], ours[1]["trades"])


def test_open_position_at_the_end(theirs, ours):
    """backtesting.py leaves the last position open (not a trade); so do we."""
    (position,) = ours[1]["open_positions"]
    last = theirs["_trades"].iloc[-1]
    assert position["side"] == ("long" if last.Size < 0 else "short")
    assert position["entry_time"] == last.ExitTime.strftime("%Y-%m-%dT%H:%M:%SZ")
