"""Time the simulation scan alone at several unroll factors (bars per loop iteration).

python bench/unroll.py            # GOOG sweep targets, 4,851 lanes x 2,148 bars
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jax
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from accel.device import decision_dtype, device_label
    from accel.kernel import Costs, simulate
    from bench.sweep import goog_frame, goog_sets
    from engine.market import Market
    from engine.simulation import bars_for, execution_prices, execution_targets
    from engine.strategies import get_strategy

    market = Market.from_frames({"GOOG": goog_frame()}, source="file")
    strategy = get_strategy("sma_crossover")
    params = strategy.encode(
        [{"fast_period": f, "slow_period": s, "allow_short": True} for f, s in goog_sets()]
    )
    bars = bars_for(market, decision_dtype(), backend="jax")
    dtype = decision_dtype()
    targets = execution_targets(strategy.signal(bars, params), "next_open").astype(dtype)
    prices = jax.tree.map(
        lambda x: x.astype(dtype) if x.dtype != bool else x, execution_prices(bars, "next_open")
    )
    costs = Costs(0.002, 0.0, 0.0)
    for unroll in (1, 2, 4, 8, 16, 32):

        def run(u=unroll):
            return jax.block_until_ready(
                simulate(targets, prices, costs, 10_000.0, whole_shares=True, unroll=u)
            )

        run()
        best = min(_time(run) for _ in range(5))
        print(f"unroll {unroll:3d}: scan {best * 1e3:8.2f} ms  [{device_label()}, {dtype}]")


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
