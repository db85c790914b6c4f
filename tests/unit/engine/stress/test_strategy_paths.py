"""The stress test's strategy re-run on simulated paths (engine.stress.strategy_paths)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from accel import montecarlo as kernel
from engine.backtest import required_symbols
from engine.data import synthetic_market
from engine.errors import SpecError
from engine.spec import parse_spec
from engine.stress import parse_stress_request
from engine.stress.strategy_paths import STRATEGY_STREAM, _model, rerun_strategy
from tests.unit.engine.optimize.test_request import StoredBacktests

PATHS, HORIZON = 512, 40


def _spec(strategy_id: str, **params):
    return parse_spec({
        "backtest_name": "paths", "start_date": "2021-01-01", "end_date": "2022-12-31",
        "symbols": ["AAA"], "strategy_id": strategy_id, "strategy_parameters": params,
        "commission_rate": 0.0, "initial_capital": 10_000,
    })  # fmt: skip


def _request(**fields):
    return parse_stress_request(
        {"backtest_id": "bt_x", "strategy_paths": PATHS, "horizon_days": HORIZON, "seed": 3,
         **fields}
    )  # fmt: skip


def test_buy_and_hold_earns_the_simulated_price_return():
    """Held from before the horizon with no costs, the strategy's return is the path's."""
    spec = _spec("buy_and_hold")
    market = synthetic_market(required_symbols(spec), spec.start_date, spec.end_date)
    request = _request()
    result = rerun_strategy(spec, market, request, dtype=np.float64)
    closes = market.filled("close")
    model = _model(request, closes, np.float64)
    keys = kernel.block_keys(np.uint32(3), STRATEGY_STREAM, 0, PATHS // kernel.BLOCK)
    draws = kernel.draw_log_returns(keys, model, HORIZON, request.method, request.block_size)
    expected = np.expm1(np.asarray(jnp.sum(draws[:, :, 0], axis=1)))
    assert result["paths"] == PATHS
    assert result["mean_return"] == pytest.approx(100 * expected.mean(), rel=1e-9)
    assert result["return_percentiles"]["p50"] == pytest.approx(
        100 * np.quantile(expected, 0.5), rel=1e-9
    )


def test_same_seed_same_numbers_other_seed_other_numbers():
    spec = _spec("sma_crossover", fast_period=5, slow_period=20, allow_short=True)
    market = synthetic_market(required_symbols(spec), spec.start_date, spec.end_date)
    first = rerun_strategy(spec, market, _request(), dtype=np.float64)
    again = rerun_strategy(spec, market, _request(), dtype=np.float64)
    other = rerun_strategy(spec, market, _request(seed=4), dtype=np.float64)
    assert first == again
    assert first["mean_return"] != other["mean_return"]


def test_strategy_paths_need_a_backtest():
    with pytest.raises(SpecError) as err:
        parse_stress_request({"portfolio": {"SPY": 1.0}, "strategy_paths": 10})
    assert "backtest_id" in err.value.errors["strategy_paths"][0]


def test_a_backtest_with_exit_orders_is_not_re_run_on_paths():
    """Paths carry closes only: exit orders on highs and lows cannot be simulated there, so the
    request is refused (at submission, with a resolver) rather than run without them."""
    spec = parse_spec({**_spec("buy_and_hold").to_payload(), "exits": {"stop_loss": 0.05}})
    resolver = StoredBacktests("bt_x", spec)
    with pytest.raises(SpecError) as err:
        parse_stress_request({"backtest_id": "bt_x", "strategy_paths": PATHS}, resolver)
    assert "exit orders" in err.value.errors["strategy_paths"][0]
    assert parse_stress_request({"backtest_id": "bt_x", "strategy_paths": 0}, resolver)
    market = synthetic_market(required_symbols(spec), spec.start_date, spec.end_date)
    with pytest.raises(SpecError):
        rerun_strategy(spec, market, _request(), dtype=np.float64)
