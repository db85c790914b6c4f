"""The metric table is the one source of units and directions for reports and targets."""

from __future__ import annotations

import pytest

from engine.metric_table import BY_NAME, GROUPS, METRICS, PERCENT, display, metric_info
from engine.metrics import BENCHMARK_KEYS, METRIC_KEYS
from engine.optimize.targets import DIRECTIONS, NEEDS_BENCHMARK, get_target


def test_every_batched_metric_has_a_row():
    assert set(METRIC_KEYS) | set(BENCHMARK_KEYS) <= set(BY_NAME)
    assert len(BY_NAME) == len(METRICS)
    assert {m.group for m in METRICS} == set(GROUPS)


def test_targets_read_direction_and_benchmark_need_from_the_table():
    for name, (direction, transform) in DIRECTIONS.items():
        info = metric_info(name)
        assert (info.direction, info.transform, info.optimizable) == (direction, transform, True)
    assert {n for n in DIRECTIONS if metric_info(n).needs_benchmark} == NEEDS_BENCHMARK
    assert get_target("max_drawdown", False).transform == "magnitude"
    assert not get_target("volatility", False).maximize


def test_percent_units_scale_and_format():
    assert {"total_return", "max_drawdown", "win_rate", "var_95"} <= PERCENT
    assert "sharpe_ratio" not in PERCENT
    assert display("total_return", 0.1234) == pytest.approx(12.34)
    assert display("sharpe_ratio", 1.5) == 1.5
    assert display("unknown_metric", 2.0) == 2.0
    assert display("total_return", float("nan")) is None
    assert metric_info("total_return").format(12.345) == "12.35 %"
    assert metric_info("annual_return").format(7.0) == "7 % p.a."
    assert metric_info("sharpe_ratio").format(1.23456) == "1.235"
    assert metric_info("final_equity").format(56263.519) == "56,263.52"
    assert metric_info("total_trades").format(93) == "93"
    assert metric_info("sqn").format(None) == "n/a"
