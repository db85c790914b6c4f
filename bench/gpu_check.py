"""Float32 accounts (as on Metal, and on GPUs before 2026-12-01) checked against float64.

Prints the GOOG SMA 10/20 backtest's final equity and trade count in the device's dtype next
to the float64 reference (56,263.52, 93 trades), and how far a float32 sweep's scores are
from a float64 sweep's on the same device.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from accel.device import device_info
    from accel.kernel import Costs
    from bench.sweep import goog_frame, goog_sets
    from engine.backtest import run_backtest
    from engine.market import Market
    from engine.portfolio import limits_for
    from engine.simulation import bars_for
    from engine.spec import parse_spec
    from engine.strategies import get_strategy
    from engine.sweep import SweepRules, sweep

    print(json.dumps(device_info()))
    market = Market.from_frames({"GOOG": goog_frame()}, source="file")
    spec = parse_spec(json.loads((ROOT / "examples" / "goog_sma.json").read_text()))
    result = run_backtest(spec, market)
    print("single backtest:", result.summary())
    strategy = get_strategy("sma_crossover")
    params = strategy.encode(
        [{"fast_period": f, "slow_period": s, "allow_short": True} for f, s in goog_sets()]
    )
    rules = SweepRules(
        Costs(0.002, 0, 0),
        10_000.0,
        limits_for(("GOOG",), 1, 1, {}, {}),
        252.0,
        0.0,
        "next_open",
        True,
    )
    bars = bars_for(market, np.float64)
    scores = {dt: sweep(strategy, bars, params, rules, dtype=dt) for dt in (np.float32, np.float64)}
    for key in ("final_equity", "sharpe_ratio", "max_drawdown", "trades"):
        a, b = scores[np.float32][key], scores[np.float64][key]
        rel = np.abs(a - b) / np.maximum(np.abs(b), 1e-12)
        print(
            f"{key}: float32 vs float64 max rel diff {np.nanmax(rel):.3g}, "
            f"median {np.nanmedian(rel):.3g}, sets differing >1e-3: {(rel > 1e-3).sum()}"
        )


if __name__ == "__main__":
    main()
