"""Exit orders: the request field, and hand-worked bars through a whole backtest on every
backend (triggers on the low/high, fills at the level or a gapped open, stop before target,
flat until the target changes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest
from engine.errors import SpecError
from engine.market import Market
from engine.spec import openapi_schema, parse_spec

BASE = {
    "backtest_name": "exits",
    "start_date": "2024-01-01",
    "end_date": "2024-01-05",
    "symbols": ["A"],
    "strategy_id": "buy_and_hold",
    "strategy_parameters": {},
    "initial_capital": 1000,
    "commission_rate": 0.0,
    "data_sources": ["file"],
}


def _spec(exits, **more):
    return parse_spec({**BASE, "exits": exits, **more})


def test_exits_are_read_and_normalised():
    spec = _spec({"stop_loss": 0.05, "take_profit": {"fraction": 0.1},
                  "trailing_stop": {"atr": 3}})  # fmt: skip
    assert spec.exits == {
        "stop_loss": {"fraction": 0.05},
        "take_profit": {"fraction": 0.1},
        "trailing_stop": {"atr": 3.0, "window": 14},
    }
    assert parse_spec(spec.to_payload()) == spec
    assert _spec({}).exits == {} == parse_spec(BASE).exits


@pytest.mark.parametrize(
    ("exits", "field"),
    [
        ({"stop_los": 0.05}, "exits.stop_los"),
        ({"stop_loss": 1.5}, "exits.stop_loss.fraction"),
        ({"stop_loss": -0.1}, "exits.stop_loss.fraction"),
        ({"stop_loss": {"fraction": 10**400}}, "exits.stop_loss.fraction"),
        ({"take_profit": "0.1"}, "exits.take_profit"),
        ({"take_profit": {"fraction": 0.1, "atr": 2}}, "exits.take_profit"),
        ({"trailing_stop": {"atr": 0}}, "exits.trailing_stop.atr"),
        ({"trailing_stop": {"atr": 2, "window": 5000}}, "exits.trailing_stop.window"),
        ({"trailing_stop": {"atr": 2, "span": 3}}, "exits.trailing_stop"),
        ([0.05], "exits"),
    ],
)
def test_bad_exits_name_the_field(exits, field):
    with pytest.raises(SpecError) as caught:
        _spec(exits)
    assert field in caught.value.errors, caught.value.errors


def test_openapi_documents_exits():
    schema = openapi_schema()["properties"]["exits"]
    assert set(schema["properties"]) == {"stop_loss", "take_profit", "trailing_stop"}
    assert schema["additionalProperties"] is False


def _market(rows) -> Market:
    index = pd.date_range("2024-01-01", periods=len(rows), freq="D", tz="UTC")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    return Market.from_frames({"A": frame.assign(volume=1.0)}, source="file")


FLAT = (100.0, 100.0, 100.0, 100.0)
# buy_and_hold decides at bar 0's close and buys 10 shares at bar 1's open (100).
CASES = {
    # bar 2 reaches the stop (90) and the target (120): the stop is taken, at 90.
    "stop before target": (
        {"stop_loss": 0.1, "take_profit": 0.2},
        [FLAT, (100, 105, 95, 102), (101, 121, 89, 110), (110, 111, 109, 110)],
        2,
        90.0,
    ),
    # bar 2 opens at 85, below the stop: filled at the open.
    "gap through the stop": (
        {"stop_loss": 0.1},
        [FLAT, (100, 105, 95, 102), (85, 86, 80, 84), (84, 90, 83, 88)],
        2,
        85.0,
    ),
    # bar 2 opens at 130, above the target: filled at the (better) open.
    "gap through the target": (
        {"take_profit": 0.2},
        [FLAT, (100, 105, 95, 102), (130, 131, 125, 126), (126, 127, 125, 126)],
        2,
        130.0,
    ),
    # entry bar: low 89 reaches the 10 % stop after the open fill.
    "stop on the entry bar": (
        {"stop_loss": 0.1},
        [FLAT, (100, 101, 89, 95), (95, 96, 94, 95), (95, 96, 94, 95)],
        1,
        90.0,
    ),
    # peak 110 after bar 1 (its own high does not count on bar 1): stop 99 on bar 2.
    "trailing stop": (
        {"trailing_stop": 0.1},
        [FLAT, (100, 110, 91, 108), (108, 109, 98, 100), (100, 101, 99, 100)],
        2,
        99.0,
    ),
}


@pytest.mark.parametrize("backend", ["numba", "jax"])
@pytest.mark.parametrize("case", list(CASES))
def test_hand_worked_exits(case, backend):
    exits, rows, exit_bar, exit_price = CASES[case]
    result = run_backtest(_spec(exits), _market(rows), backend=backend)
    document = result.document()
    (trade,) = document["trades"]
    assert (trade["entry_bar"], trade["entry_price"], trade["size"]) == (1, 100.0, 10.0)
    assert (trade["exit_bar"], trade["exit_price"]) == (exit_bar, exit_price)
    assert trade["pnl"] == pytest.approx(10 * (exit_price - 100.0), abs=1e-9)
    # flat after the exit: buy_and_hold's target never changes, so nothing re-enters.
    assert document["open_positions"] == []
    np.testing.assert_array_equal(result.shares[exit_bar:, 0], 0.0)
    assert result.equity[-1] == pytest.approx(1000 + 10 * (exit_price - 100.0), abs=1e-9)


@pytest.mark.parametrize("backend", ["numba", "jax"])
def test_short_exits_mirror_and_close_fills_check_from_the_next_bar(backend):
    """SMA 1/2 crosses down at bar 2: short at its close (100), stop 110, target 80. Bar 2's
    own high (111) is not checked (it came before the close fill); bar 4's low reaches 80."""
    rows = [(101, 101, 101, 101), (102, 102, 102, 102), (101, 111, 99, 100),
            (100, 109, 95, 100), (90, 95, 79, 85), (85, 86, 84, 85)]  # fmt: skip
    spec = _spec({"stop_loss": 0.1, "take_profit": 0.2}, strategy_id="sma_crossover",
                 strategy_parameters={"fast_period": 1, "slow_period": 2, "allow_short": True},
                 fill="close", end_date="2024-01-06")  # fmt: skip
    result = run_backtest(spec, _market(rows), backend=backend)
    trades = result.document()["trades"]
    assert [(t["side"], t["entry_bar"], t["entry_price"], t["exit_bar"], t["exit_price"])
            for t in trades] == [("short", 2, 100.0, 4, 80.0)]  # fmt: skip
    np.testing.assert_array_equal(result.shares[4:, 0], 0.0)
