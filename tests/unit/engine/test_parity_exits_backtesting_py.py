"""Exit orders against backtesting.py 0.6.6's ``sl``/``tp`` on its bundled GOOG bars.

Their side: the README SMA cross, each entry placed with ``sl``/``tp`` at 5 % / 10 % from the
close that decides it, with ``trade_on_close=True`` so that close is the entry price; commission
0.2 %, 10,000 cash. Our side: ``examples/goog_sma_exits.json`` (``fill: close``, ``exits:
{stop_loss: 0.05, take_profit: 0.1}``). backtesting.py checks a trade's SL/TP from the bar after
a close fill, stops when the low (high, for a short) touches the stop, takes profit when the
high (low) touches the target, fills at the level or at the open when the bar gaps beyond it,
and processes the SL before the TP: the semantics of docs/engine.md, so the runs agree trade
for trade on every backend.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from backtesting import Backtest
from backtesting.lib import crossover
from backtesting.test import GOOG

from engine.backtest import run_backtest
from engine.market import Market
from engine.spec import parse_spec
from tests.unit.engine.bt_parity import assert_trades_match
from tests.unit.engine.test_parity_backtesting_py import SmaCross

ROOT = Path(__file__).resolve().parents[3]
STOP, TARGET = 0.05, 0.10


class SmaCrossWithExits(SmaCross):
    """The README SMA cross with a stop-loss and a take-profit on every entry."""

    def next(self):
        price = self.data.Close[-1]
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy(sl=price * (1 - STOP), tp=price * (1 + TARGET))
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell(sl=price * (1 + STOP), tp=price * (1 - TARGET))


@pytest.fixture(scope="module")
def theirs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(GOOG, SmaCrossWithExits, cash=10_000, commission=0.002, trade_on_close=True)
        return bt.run()


@pytest.fixture(scope="module", params=("jax", "numba"))
def ours(request):
    spec = parse_spec(json.loads((ROOT / "examples" / "goog_sma_exits.json").read_text()))
    market = Market.from_frames({"GOOG": GOOG.rename(columns=str.lower)}, source="file")
    result = run_backtest(spec, market, backend=request.param)
    return result, result.document()


def test_final_equity_to_the_cent(theirs, ours):
    result, document = ours
    assert round(theirs["Equity Final [$]"], 2) == 38_201.32
    assert round(document["equity_final"], 2) == 38_201.32
    np.testing.assert_allclose(result.equity[-1], theirs["Equity Final [$]"], rtol=1e-12)


def test_trades_one_for_one(theirs, ours):
    trades = theirs["_trades"]
    assert len(trades) == 94
    stopped = np.isclose(trades.ExitPrice, trades.SL)
    took_profit = np.isclose(trades.ExitPrice, trades.TP)
    gapped = np.isclose(trades.ExitPrice, GOOG.Open.to_numpy()[trades.ExitBar])
    gapped &= ~stopped & ~took_profit
    assert (stopped.sum(), took_profit.sum(), gapped.sum()) == (17, 27, 6), "both exits, gaps"
    assert_trades_match(trades, ours[1]["trades"])


def test_commissions_and_drawdown(theirs, ours):
    paid = sum(trade["commission"] for trade in ours[1]["trades"])
    np.testing.assert_allclose(paid, theirs["Commissions [$]"], rtol=1e-12)
    performance = ours[1]["performance_metrics"]
    np.testing.assert_allclose(performance["win_rate"], theirs["Win Rate [%]"], rtol=1e-12)
