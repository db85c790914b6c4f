"""evaluate_batch: one sweep per batch, with the numbers of the single-backtest path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest
from engine.errors import DataError, SpecError
from engine.metrics import simple_returns
from engine.optimize.evaluate import evaluate_batch, window_market
from engine.optimize.overfitting import returns_to_blocks
from engine.optimize.windows import Window
from engine.spec import parse_spec
from tests.unit.engine.optimize.markets import SETS, spec_payload, synthetic

WINDOW = Window("in_sample", 20, 200)
RTOL = 1e-10  # the sweep reduces per lane (numba) or in jax.numpy, the single path in numpy;
# alpha compounds a mean 252 times, so last-bit differences grow to about 1e-12


def single_runs(spec, market, window, backend=None):
    span, _ = window_market(spec, market)
    start, end = (
        pd.Timestamp(span.timestamps[i], tz="UTC") for i in (window.start, window.stop - 1)
    )
    for params in SETS:
        changed = dataclasses.replace(
            spec, strategy_parameters=params, start_date=start, end_date=end
        )
        yield run_backtest(changed, market, backend=backend)


EXITS = {"stop_loss": {"atr": 2, "window": 10}, "take_profit": 0.06, "trailing_stop": 0.04}


@pytest.mark.parametrize(
    ("changes", "backend"),
    [
        ({}, None),
        ({"fill": "close", "fractional_shares": False, "fee_per_order": 1.5,
          "risk_limits": {"max_single_position": 0.3}, "risk_free_rate": 0.03}, None),
        ({"exits": EXITS}, "numba"),
        ({"exits": EXITS}, "jax"),
        ({"exits": {"stop_loss": 0.03, "take_profit": {"atr": 3}}, "fill": "close"}, "numba"),
        ({"exits": {"stop_loss": 0.03, "take_profit": {"atr": 3}}, "fill": "close"}, "jax"),
    ],
)  # fmt: skip
def test_batch_equals_single_backtests(changes, backend):
    """Every set's scores are those of its own backtest, exit orders included (a sweep puts
    the base spec's exits on every set), on each backend."""
    spec = parse_spec(spec_payload(**changes))
    trials = evaluate_batch(spec, synthetic(), SETS, WINDOW, blocks=4, backend=backend)
    singles = single_runs(spec, synthetic(), WINDOW, backend)
    for trial, single in zip(trials, singles, strict=True):
        assert trial["params"] == single.spec.strategy_parameters
        for key, value in single.metrics.items():
            if np.isnan(value):
                assert trial["metrics"][key] is None, key
            else:
                assert trial["metrics"][key] == pytest.approx(value, rel=RTOL, abs=1e-15), key
        assert trial["metrics"]["final_equity"] == pytest.approx(single.equity[-1], rel=RTOL)
        assert trial["metrics"]["orders"] == len(single.fills)
        assert trial["metrics"]["trades"] == len(single.closed_trades)
        excess = simple_returns(single.equity) - spec.risk_free_rate / spec.periods_per_year
        reference = returns_to_blocks(excess[:, None], 4)[0]
        reference[:, -1] = returns_to_blocks(simple_returns(single.equity)[:, None], 4)[0][:, -1]
        np.testing.assert_allclose(trial["blocks"], reference, rtol=1e-9, atol=1e-15)


def test_bad_sets_and_windows_are_refused():
    spec = parse_spec(spec_payload())
    assert evaluate_batch(spec, synthetic(), []) == []
    with pytest.raises(SpecError, match="smaller than slow_period"):
        evaluate_batch(spec, synthetic(), [{"fast_period": 30, "slow_period": 20}])
    with pytest.raises(DataError, match="outside"):
        evaluate_batch(spec, synthetic(), SETS, Window("late", 200, 9999))
    with pytest.raises(DataError, match="no bars for"):
        evaluate_batch(dataclasses.replace(spec, symbols=("ZZZ",)), synthetic(), SETS)
