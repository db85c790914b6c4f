"""Which dtypes each kind of device computes in, and that a job routed to a GPU gets the CPU's
numbers: the dtype rules read only the platform JAX reports, so the tests set that."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from accel import device
from engine.backtest import run_backtest
from engine.market import Market
from engine.spec import parse_spec

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("platform", "float64", "decisions", "montecarlo"),
    [
        ("cpu", True, np.float64, np.float64),
        ("gpu", True, np.float64, np.float32),
        ("rocm", True, np.float64, np.float32),
        ("metal", False, np.float32, np.float32),
    ],
)
def test_dtypes_per_platform(monkeypatch, platform, float64, decisions, montecarlo):
    monkeypatch.setattr(device, "platform", lambda: platform)
    assert device.has_float64() is float64
    assert device.decision_dtype() == np.dtype(decisions)
    assert device.montecarlo_dtype() == np.dtype(montecarlo)


def test_a_backtest_on_a_gpu_keeps_the_cpu_numbers(monkeypatch):
    """backtesting.py's GOOG example on the JAX backend, as the CPU and as a CUDA worker run it:
    the same equity bar by bar (float32 accounts, as GPUs had before, were 5.7e-7 off here and
    ended at 56,263.53 on an H200)."""
    spec = parse_spec(json.loads((ROOT / "examples" / "goog_sma.json").read_text()))
    frame = pd.read_csv(ROOT / "examples" / "data" / "GOOG.csv", index_col=0, parse_dates=True)
    market = Market.from_frames({"GOOG": frame.rename(columns=str.lower)}, source="file")
    on_cpu = run_backtest(spec, market, backend="jax").equity
    monkeypatch.setattr(device, "platform", lambda: "gpu")
    assert device.is_accelerator()
    on_gpu = run_backtest(spec, market, backend="jax").equity
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-12)
    assert round(float(on_gpu[-1]), 2) == 56_263.52
