"""A rules document's sweep against the built-in it restates, on the same grid, in one run.

The GOOG grid of ``bench/sweep.py`` (fast and slow 2..100, fast < slow: 4,851 sets on 2,148
daily bars, long/short, next-open fills, whole shares, 0.2 % commission) scored by
``engine.sweep.sweep`` (what an optimization's batches compute) with the built-in
``sma_crossover`` and with ``examples/goog_sma_rules.json``'s document. Prints the first call
(compilation, or loading from the on-disk kernel cache under var/), the best warm call, the
ratio rules / built-in and the load average before and after (the machine is shared).

    python bench/rules_sweep.py --repeat 5 --backend numba
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sweep import FEE, _timed, configure, goog_frame, goog_sets  # noqa: E402


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=("numba", "jax"), default="numba")
    args = parser.parse_args()
    backend = configure("ours-jax" if args.backend == "jax" else "ours")

    from accel.device import decision_dtype
    from accel.kernel import Costs
    from engine.market import Market
    from engine.portfolio import limits_for
    from engine.simulation import bars_for
    from engine.strategies import get_strategy, strategy_for
    from engine.sweep import SweepRules, sweep

    market = Market.from_frames({"GOOG": goog_frame()}, source="file")
    bars = bars_for(market, decision_dtype())
    limits = limits_for(market.symbols, 1, 1, {}, {})
    rules = SweepRules(Costs(FEE, 0.0, 0.0), 10_000.0, limits, 252.0, 0.0, "next_open", True)
    document = json.loads((ROOT / "examples" / "goog_sma_rules.json").read_text())["strategy"]
    grid = goog_sets()
    cases = {
        "built-in sma_crossover": (
            get_strategy("sma_crossover"),
            [{"fast_period": f, "slow_period": s, "allow_short": True} for f, s in grid],
        ),
        "rules document": (
            strategy_for("rules", document),
            [{"fast": f, "slow": s} for f, s in grid],
        ),
    }
    print(f"GOOG grid: {len(grid)} sets x {market.n_bars} bars, backend {backend}")
    print(f"load average before: {_load()}")
    timings, finals = {}, {}
    for name, (strategy, sets) in cases.items():
        params = strategy.encode([strategy.resolve(s) for s in sets])
        out = {}

        def run(strategy=strategy, params=params, out=out):
            out["scores"] = sweep(strategy, bars, params, rules, backend=backend)

        first, warm = _timed(run, args.repeat)
        timings[name] = warm
        finals[name] = np.asarray(out["scores"]["final_equity"])
        print(f"{name:24s} first call {first:8.3f} s   best warm {warm * 1e3:9.1f} ms")
    same = np.array_equal(*finals.values())
    ratio = timings["rules document"] / timings["built-in sma_crossover"]
    print(f"rules / built-in warm time: {ratio:.2f}x   identical final equities: {same}")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
