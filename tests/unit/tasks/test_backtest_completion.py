"""What the backtest task stores: the full document and one patch per optional section."""

from __future__ import annotations

import itertools

import pytest

from engine.backtest import run_backtest
from engine.data import synthetic_market
from engine.spec import parse_spec
from store.result_sections import SECTIONS, select_sections
from tasks.backtest import completion


@pytest.fixture(scope="module")
def result():
    spec = parse_spec(
        {
            "backtest_name": "unit",
            "start_date": "2024-01-01",
            "end_date": "2024-12-31",
            "symbols": ["AAA", "BBB"],
            "strategy_id": "sma_crossover",
            "strategy_parameters": {"fast_period": 5, "slow_period": 20},
            "commission_rate": 0.001,
            "benchmark_symbol": "SPY",
        }
    )
    return run_backtest(
        spec, synthetic_market(["AAA", "BBB", "SPY"], "2024-01-01", "2024-12-31", seed=7)
    )


@pytest.mark.parametrize("flags", list(itertools.product([True, False], repeat=3)))
def test_stored_section_patches_give_each_rendering(result, flags):
    """The stored document with its patches applied reads back as the engine's own rendering
    with those sections left out."""
    full = result.document()
    include = dict(zip(SECTIONS, flags, strict=True))
    stored = completion(result)
    assert stored.document == full
    assert select_sections(full, stored.sections, include) == result.document(**include)
