from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.backtest import load_market
from engine.backtest import run_backtest
from engine.spec import parse_spec

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def goog() -> tuple[dict, dict]:
    """backtesting.py's README strategy on its GOOG bars: (results document, spec payload),
    through JSON as the API stores them."""
    spec = parse_spec(json.loads((ROOT / "examples" / "goog_sma.json").read_text()))
    result = run_backtest(spec, load_market(spec, {"GOOG": str(ROOT / "examples/data/GOOG.csv")}))
    return json.loads(json.dumps(result.document())), spec.to_payload()
