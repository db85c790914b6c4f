"""The API contract's own examples (SEED.md), submitted as they stand.

The backtest example names data nobody imported (``IBKR``, ``Alpha_Vantage``) and a sector cap
without sectors: one 422 must report both. The optimization and stress examples name a base
backtest by id: they must complete against a stored backtest (the example's id replaced by a
real one).
"""

from __future__ import annotations

import copy
import time
import uuid

import pytest

pytestmark = pytest.mark.integration

BACKTEST_EXAMPLE = {
    "backtest_name": "Strategy Validation Q1 2024",
    "backtest_type": "strategy_validation",
    "description": "Quarterly strategy performance analysis",
    "start_date": "2024-01-01T00:00:00Z",
    "end_date": "2024-03-31T23:59:59Z",
    "frequency": "1d",
    "timezone": "UTC",
    "symbols": ["SPY", "QQQ", "IWM", "TSLA", "AAPL"],
    "universes": ["SP500", "NASDAQ100"],
    "data_sources": ["IBKR", "Alpha_Vantage"],
    "strategy_id": "momentum_factor_v2.1",
    "strategy_parameters": {
        "lookback_period": 20,
        "momentum_threshold": 0.05,
        "rebalance_frequency": "weekly",
    },
    "initial_capital": 1000000.0,
    "max_position_size": 0.1,
    "max_portfolio_leverage": 1.0,
    "risk_limits": {"max_sector_exposure": 0.3, "max_single_position": 0.05},
    "commission_rate": 0.001,
    "slippage_basis_points": 1.0,
    "benchmark_symbol": "SPY",
    "risk_free_rate": 0.02,
    "use_neural_engine": True,
    "use_vectorized_calculations": True,
    "parallel_processing": True,
}
OPTIMIZATION_EXAMPLE = {
    "backtest_id": "bt_base_config",
    "parameter_ranges": {
        "lookback_period": [10, 15, 20, 25, 30],
        "momentum_threshold": [0.02, 0.05, 0.08, 0.10],
        "rebalance_frequency": ["daily", "weekly", "monthly"],
    },
    "optimization_target": "sharpe_ratio",
    "max_iterations": 100,
    "use_parallel": True,
}
STRESS_EXAMPLE = {
    "backtest_id": "bt_base_config",
    "scenarios": [
        {
            "name": "Market Crash Scenario",
            "description": "Simulate 2008-style market crash",
            "market_shocks": {"SPY": -40.0, "QQQ": -45.0, "IWM": -50.0},
            "volatility_multipliers": {"SPY": 3.0, "QQQ": 3.5, "IWM": 4.0},
            "probability": 0.05,
        }
    ],
    "include_monte_carlo": True,
    "monte_carlo_iterations": 10000,
}
TERMINAL = ("completed", "failed", "cancelled")


def test_the_backtest_example_reports_every_problem_in_one_422(shared):
    body = {**BACKTEST_EXAMPLE, "backtest_name": f"contract {uuid.uuid4().hex[:8]}"}
    response = shared.api.post("/backtests", json=body)
    error = response.get_json()
    assert response.status_code == 422, error
    assert "risk_limits.max_sector_exposure" in error["errors"]  # needs sectors
    assert "data_sources" in error["errors"]  # nothing imported for these symbols
    assert any("nautilus-bt data import" in line for line in error["errors"]["symbols"])
    assert error["validation_report"]["validation_summary"]["ready_for_backtest"] is False


def based_on_the_example(shared) -> str:
    """A completed backtest of the contract's example, made runnable: sectors for its sector
    cap, and the synthetic data it asks for by name (nothing is imported in this test)."""
    body = copy.deepcopy(BACKTEST_EXAMPLE)
    body |= {
        "backtest_name": f"contract base {uuid.uuid4().hex[:8]}",
        "data_sources": ["synthetic"],
        "sectors": {
            "SPY": "index",
            "QQQ": "index",
            "IWM": "index",
            "TSLA": "auto",
            "AAPL": "tech",
        },  # fmt: skip
    }
    job_id = shared.submit(body)["execution_id"]
    wait(shared, f"/backtests/{job_id}")
    return job_id


def wait(shared, url: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while (status := shared.api.get(url).get_json())["status"] not in TERMINAL:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status["status"] == "completed", status
    return status


def test_the_optimization_example_completes_on_a_stored_backtest(shared):
    body = {**OPTIMIZATION_EXAMPLE, "backtest_id": based_on_the_example(shared)}
    response = shared.api.post("/optimization/parameters", json=body)
    created = response.get_json()
    assert response.status_code == 202, created
    assert created["parameter_combinations"] == 60
    done = wait(shared, f"/optimization/{created['optimization_id']}", timeout=300)
    summary = done["optimization_summary"]
    assert (
        summary["iterations_completed"] == 60 and summary["optimization_target"] == "sharpe_ratio"
    )
    assert set(done["parameters"]["optimized"]) >= set(OPTIMIZATION_EXAMPLE["parameter_ranges"])


def test_the_stress_example_completes_on_a_stored_backtest(shared):
    body = {**STRESS_EXAMPLE, "backtest_id": based_on_the_example(shared)}
    response = shared.api.post("/stress-test", json=body)
    created = response.get_json()
    assert response.status_code == 202, created
    done = wait(shared, f"/stress-test/{created['stress_test_id']}", timeout=300)
    assert done["results"]["scenarios"][0]["name"] == "Market Crash Scenario"
