"""Where a GOOG sweep's time goes, stage by stage, on whatever device JAX picks.

python bench/profile_sweep.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _best(fn, repeat: int = 5) -> float:
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def main() -> None:
    from accel.device import decision_dtype, device_label, scan_unroll
    from accel.kernel import Costs, simulate
    from bench.sweep import goog_frame, goog_sets
    from engine.market import Market
    from engine.metrics import performance_metrics
    from engine.portfolio import limits_for
    from engine.simulation import bars_for, execution_prices, execution_targets
    from engine.strategies import get_strategy
    from engine.sweep import SweepRules, sweep

    market = Market.from_frames({"GOOG": goog_frame()}, source="file")
    strategy = get_strategy("sma_crossover")
    encoded = strategy.encode(
        [{"fast_period": f, "slow_period": s, "allow_short": True} for f, s in goog_sets()]
    )
    bars = bars_for(market, decision_dtype(), backend="jax")
    params = {k: jnp.asarray(v, bars.close.dtype) for k, v in encoded.items()}
    dtype = decision_dtype()
    signal = jax.jit(lambda b, p: execution_targets(strategy.signal(b, p), "next_open"))
    targets = signal(bars, params).astype(dtype)
    prices = jax.tree.map(
        lambda x: x.astype(dtype) if x.dtype != bool else x, execution_prices(bars, "next_open")
    )
    costs = Costs(0.002, 0.0, 0.0)
    _, path = simulate(targets, prices, costs, 10_000.0, whole_shares=True, unroll=scan_unroll())

    def metrics_fn(tail_risk: bool):
        return jax.jit(
            lambda e: performance_metrics(
                e, None, periods_per_year=252.0, xp=jnp, tail_risk=tail_risk
            )
        )

    with_tail, without_tail = metrics_fn(True), metrics_fn(False)
    rules = SweepRules(
        costs, 10_000.0, limits_for(("GOOG",), 1, 1, {}, {}), 252.0, 0.0, "next_open", True
    )
    stages = {
        "signals (P,T,S)": lambda: signal(bars, params),
        "scan": lambda: simulate(
            targets, prices, costs, 10_000.0, whole_shares=True, unroll=scan_unroll()
        ),
        "metrics": lambda: without_tail(path.equity.T),
        "metrics + VaR/CVaR": lambda: with_tail(path.equity.T),
        "whole sweep": lambda: sweep(strategy, bars, encoded, rules),
    }
    for name, fn in stages.items():
        print(f"{name:16s} {_best(fn):9.2f} ms  [{device_label()}, accounts {dtype}]")


if __name__ == "__main__":
    main()
