"""Shared request bodies for the optimization tests."""

from __future__ import annotations

import pytest

BASE_SPEC = {
    "backtest_name": "optimize me",
    "start_date": "2022-01-03",
    "end_date": "2022-12-30",
    "symbols": ["AAA", "BBB"],
    "strategy_id": "sma_crossover",
    "strategy_parameters": {"fast_period": 5, "slow_period": 20},
    "commission_rate": 0.001,
}


@pytest.fixture
def body() -> dict:
    """A small grid request on an inline base spec."""
    return {
        "base_spec": dict(BASE_SPEC),
        "parameter_ranges": {
            "fast_period": [3, 5, 8],
            "slow_period": {"min": 10, "max": 30, "step": 10},
        },
        "optimization_target": "sharpe_ratio",
    }
