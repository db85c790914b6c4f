"""Uploaded target weights through a whole backtest, against numbers worked out by hand.

Three symbols, five daily bars, next-open fills, 0.1 % commission, 10,000 cash, fractional
shares. The weights file says: from day 0 hold A 50 %, B 30 %, C 0; from day 2 A 20 % and
C 40 % (B unchanged: a missing cell keeps the weight). Each change fills at the next open;
the expected cash, shares and equity below follow the rules of docs/engine.md written out by
hand for this case, not the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest
from engine.errors import DataError
from engine.market import Market
from engine.report import results_document
from engine.signals import weights_on_bars
from engine.spec import parse_spec

DAYS = pd.date_range("2024-01-01", periods=5, freq="D")
OPEN = {"A": [10, 11, 12, 13, 12], "B": [20, 20, 21, 22, 23], "C": [50, 49, 48, 50, 52]}
CLOSE = {"A": [10.5, 11.5, 12.5, 12.5, 12], "B": [20, 20.5, 21.5, 22.5, 23],
         "C": [49.5, 48.5, 49, 51, 52]}  # fmt: skip
SIGNALS = pd.DataFrame({"A": [0.5, 0.2], "B": [0.3, np.nan], "C": [0.0, 0.4]}, index=DAYS[[0, 2]])
COMMISSION, CASH = 0.001, 10_000.0


def _market() -> Market:
    frames = {
        s: pd.DataFrame(
            {
                "open": OPEN[s],
                "high": np.maximum(OPEN[s], CLOSE[s]),
                "low": np.minimum(OPEN[s], CLOSE[s]),
                "close": CLOSE[s],
                "volume": 1.0,
            },
            index=DAYS,
        )  # fmt: skip
        for s in "ABC"
    }
    return Market.from_frames(frames, source="file")


def _spec(**more):
    return parse_spec(
        {
            "backtest_name": "weights",
            "start_date": "2024-01-01",
            "end_date": "2024-01-05",
            "symbols": ["A", "B", "C"],
            "strategy_id": "target_weights",
            "strategy_parameters": {},
            "initial_capital": CASH,
            "commission_rate": COMMISSION,
            "data_sources": ["file"],
            **more,
        }
    )


def _by_hand() -> tuple[list[float], dict[str, float], float]:
    """Equity at each close, final shares and cash, from the rules in words."""
    c = COMMISSION
    # day 1 open (A 11, B 20): equity 10,000; A to 50 %, B to 30 % of it.
    a1 = 0.5 * CASH / (11 * (1 + c))
    b1 = 0.3 * CASH / (20 * (1 + c))
    cash = CASH - a1 * 11 * (1 + c) - b1 * 20 * (1 + c)
    equity = [CASH, cash + a1 * 11.5 + b1 * 20.5]
    # day 2: nothing changes (the new weights are decided at day 2's close).
    equity.append(cash + a1 * 12.5 + b1 * 21.5)
    # day 3 open (A 13, B 22, C 50): no side changes, so no closing leg; equity at the open
    # sizes A to 20 % and C to 40 %; B keeps its shares (its weight did not change).
    e3 = cash + a1 * 13 + b1 * 22
    a3, c3 = 0.2 * e3 / (13 * (1 + c)), 0.4 * e3 / (50 * (1 + c))
    cash += (a1 - a3) * 13 - abs(a1 - a3) * 13 * c  # sell A down
    cash -= c3 * 50 * (1 + c)  # buy C
    equity.append(cash + a3 * 12.5 + b1 * 22.5 + c3 * 51)
    equity.append(cash + a3 * 12 + b1 * 23 + c3 * 52)
    return equity, {"A": a3, "B": b1, "C": c3}, cash


def test_weights_are_held_until_changed():
    held = weights_on_bars(SIGNALS, DAYS.to_numpy(), ["A", "B", "C"])
    np.testing.assert_array_equal(
        held, [[0.5, 0.3, 0], [0.5, 0.3, 0], [0.2, 0.3, 0.4], [0.2, 0.3, 0.4], [0.2, 0.3, 0.4]]
    )
    early = weights_on_bars(SIGNALS.iloc[1:], DAYS.to_numpy(), ["A", "B", "C"])
    np.testing.assert_array_equal(early[:2], 0.0)
    with pytest.raises(DataError, match="no weights for"):
        weights_on_bars(SIGNALS, DAYS.to_numpy(), ["A", "D"])


@pytest.mark.parametrize("backend", ["numba", "jax"])
def test_three_symbol_weights_to_the_cent(backend):
    equity, shares, cash = _by_hand()
    result = run_backtest(_spec(), _market(), backend=backend, signals=SIGNALS)
    assert [round(x, 2) for x in result.equity] == [round(x, 2) for x in equity]
    np.testing.assert_allclose(result.equity, equity, rtol=1e-12)
    np.testing.assert_allclose(result.shares[-1], [shares[s] for s in "ABC"], rtol=1e-12)
    np.testing.assert_allclose(result.cash[-1], cash, rtol=1e-12)
    assert round(result.equity[-1], 2) == round(equity[-1], 2)
    fills = [(f.bar, f.symbol, f.quantity > 0) for f in result.fills]
    assert fills == [(1, "A", True), (1, "B", True), (3, "A", False), (3, "C", True)]


def test_results_record_the_signal_set():
    result = run_backtest(_spec(signal_set_id="s1"), _market(), signals=SIGNALS)
    document = results_document(result, False, False, False)
    assert document["execution_summary"]["strategy"] == {
        "strategy_id": "target_weights",
        "version": "1.0",
        "package": None,
        "package_version": None,
        "signal_set_id": "s1",
    }


def test_target_weights_spec_rules():
    assert _spec(signal_set_id="abc").signal_set_id == "abc"
    from engine.errors import SpecError

    with pytest.raises(SpecError) as caught:
        _spec(strategy_parameters={"fast_period": 3})
    assert "strategy_parameters" in caught.value.errors
    with pytest.raises(SpecError) as caught:
        _spec(strategy_id="buy_and_hold", signal_set_id="abc")
    assert "signal_set_id" in caught.value.errors
    with pytest.raises(DataError, match="signal set"):
        run_backtest(_spec(), _market(), backend="jax")


def test_results_record_the_signal_set_as_the_strategy():
    result = run_backtest(_spec(), _market(), signals=SIGNALS)
    summary = result.document()["execution_summary"]
    assert summary["strategy"]["strategy_id"] == "target_weights"
    assert summary["strategy"]["signal_set_id"] == _spec().signal_set_id
