"""The request examples the README's commands name are valid as they stand."""

from __future__ import annotations

import json
from pathlib import Path

from engine.optimize import parse_optimization_request

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_the_sweep_example_is_the_goog_grid_on_the_backtest_example():
    sweep = json.loads((EXAMPLES / "goog_sma_sweep.json").read_text())
    backtest = json.loads((EXAMPLES / "goog_sma.json").read_text())

    request = parse_optimization_request(sweep)

    sets = request.candidates()
    assert len(sets) == 4_851  # fast and slow 2..100, fast < slow: the GOOG sweep of bench/
    assert all(s["fast_period"] < s["slow_period"] for s in sets)
    same = {k: v for k, v in sweep["base_spec"].items() if k != "backtest_name"}
    assert same == {k: v for k, v in backtest.items() if k != "backtest_name"}
