"""The example package through the engine: found by its entry point, runs like a built-in,
and its EMA crossover equals the same strategy written as a rules document."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest
from engine.market import Market
from engine.spec import parse_spec
from engine.strategies import get_strategy
from engine.strategies.registry import packages

GOOG_SPEC = Path(__file__).resolve().parents[2] / "goog_sma.json"
GOOG_CSV = Path(__file__).resolve().parents[2] / "data" / "GOOG.csv"
EMA = {"ema": ["$fast"]}, {"ema": ["$slow"]}
EMA_RULES = {
    "parameters": {
        "fast": {"type": "int", "default": 12, "minimum": 1, "maximum": 1000},
        "slow": {"type": "int", "default": 26, "minimum": 1, "maximum": 1000},
    },
    "long": {"entry": {"crosses_above": list(EMA)}},
    "short": {"entry": {"crosses_below": list(EMA)}},
}


@pytest.fixture(scope="module")
def goog() -> Market:
    frame = pd.read_csv(GOOG_CSV, index_col=0, parse_dates=True)
    return Market.from_frames({"GOOG": frame.rename(columns=str.lower)}, source="file")


def _spec(**strategy) -> dict:
    return json.loads(GOOG_SPEC.read_text()) | strategy


def test_the_entry_point_registers_both_strategies_with_the_distribution():
    (package,) = [p for p in packages() if p.name == "nautilus-example-strategies"]
    assert package.error is None
    assert package.strategies == ("ema_crossover", "atr_channel")
    strategy = get_strategy("ema_crossover")
    assert strategy.package == ("nautilus-example-strategies", package.version)
    assert strategy.resolve({}) == {"fast_period": 12, "slow_period": 26, "allow_short": False}


def test_ema_crossover_equals_its_rules_form_and_records_the_package(goog):
    params = {"fast_period": 12, "slow_period": 26, "allow_short": True}
    packaged = run_backtest(
        parse_spec(_spec(strategy_id="ema_crossover", strategy_parameters=params)),
        goog,
        backend="jax",
    )
    rules = run_backtest(
        parse_spec(
            _spec(
                strategy_id="rules",
                strategy=EMA_RULES,
                strategy_parameters={"fast": 12, "slow": 26},
            )
        ),  # fmt: skip
        goog,
        backend="jax",
    )
    assert len(packaged.closed_trades) == len(rules.closed_trades) > 10
    np.testing.assert_array_equal(packaged.equity, rules.equity)
    recorded = packaged.document()["execution_summary"]["strategy"]
    assert recorded["package"] == "nautilus-example-strategies"
    assert recorded["strategy_id"] == "ema_crossover"


def test_atr_channel_trades_both_sides(goog):
    params = {"window": 20, "k": 1.0, "allow_short": True}
    spec = parse_spec(_spec(strategy_id="atr_channel", strategy_parameters=params))
    result = run_backtest(spec, goog, backend="jax")
    assert {t.side for t in result.closed_trades} == {"long", "short"}
