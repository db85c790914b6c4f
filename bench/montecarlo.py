"""Monte Carlo kernel benchmark (issue 6's figure): paths x days x assets, VaR/CVaR included.

One timed call is the whole kernel work of a stress test's Monte Carlo: draw the correlated
daily returns, value the held book every day, take each path's final return and maximum
drawdown, then sort and reduce to percentiles, VaR/CVaR at 95 and 99 %, probability of loss
and the histogram, ending with the summary on the host. Inputs are on the device already.

    python bench/montecarlo.py                          # 10,000 and 1,000,000 paths, 252 x 5
    python bench/montecarlo.py --paths 10000 --methods parametric_normal parametric_t bootstrap
    python bench/montecarlo.py --seed-example           # the engine on the seed's request
    python bench/montecarlo.py --backends numba jax     # the CPU kernel and the JAX program

Reports the first call (compile + run) and the best and median of the warm calls, in ms, with
the load average before each row (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def inputs(n_assets: int, dtype):
    """A fixed correlated book: equal weights of 1e6, 1-2 % daily volatility, 250 days history."""
    import jax.numpy as jnp

    from accel import montecarlo as mc

    rng = np.random.default_rng(0)
    vol = np.linspace(0.01, 0.02, n_assets)
    corr = 0.5 + 0.5 * np.eye(n_assets)
    cov = corr * np.outer(vol, vol)
    history = rng.multivariate_normal(np.full(n_assets, 3e-4), cov, size=250)
    model = mc.Model(
        jnp.asarray(np.full(n_assets, 3e-4), dtype),
        jnp.asarray(np.linalg.cholesky(cov), dtype),
        jnp.asarray(5.0, dtype),
        jnp.asarray(history, dtype),
    )
    book = mc.Book(
        jnp.asarray(np.full(n_assets, 1e6 / n_assets), dtype),
        jnp.asarray(0.0, dtype),
        jnp.asarray(1e6, dtype),
    )
    return model, book


def one_run(model, book, n_paths: int, days: int, method: str, budget: int, backend: str):
    from accel import montecarlo as mc

    summary = mc.simulate_summary(
        model,
        book,
        n_paths=n_paths,
        horizon=days,
        method=method,
        seed=1,
        block=5,
        budget=budget,
        quantiles=(0.01, 0.05, 0.5, 0.95, 0.99),
        tails=(0.05, 0.01),
        bins=50,
        backend=backend,
    )
    return summary  # numpy, on the host: the timing includes the copy


def measure(n_paths: int, days: int, n_assets: int, method: str, repeat: int, backend) -> dict:
    from accel import jit
    from accel.device import device_label, memory_budget, montecarlo_dtype

    jit.configure(ROOT / "var" / "bench-kernel-cache")
    dtype = montecarlo_dtype()
    model, book = inputs(n_assets, dtype)
    budget = memory_budget()
    load = os.getloadavg()
    run = (model, book, n_paths, days, method, budget, backend)
    start = time.perf_counter()
    summary = one_run(*run)
    first = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        one_run(*run)
        warm.append(time.perf_counter() - start)
    return {
        "device": f"{device_label()} ({backend})",
        "load_average": [round(x, 2) for x in load],
        "dtype": "float32 draws, float64 book" if backend == "numba" else dtype.name,
        "method": method,
        "paths": n_paths,
        "days": days,
        "assets": n_assets,
        "first_call_ms": round(first * 1e3, 1),
        "warm_best_ms": round(min(warm) * 1e3, 2),
        "warm_median_ms": round(statistics.median(warm) * 1e3, 2),
        "var_95_pct": round(float(summary[2][0]) * 100, 3),
        "cvar_99_pct": round(float(summary[3][1]) * 100, 3),
    }


SEED_SCENARIO = {
    "name": "Market Crash Scenario",
    "market_shocks": {"SPY": -40.0, "QQQ": -45.0, "IWM": -50.0},
    "volatility_multipliers": {"SPY": 3.0, "QQQ": 3.5, "IWM": 4.0},
    "probability": 0.05,
}


def seed_example(repeat: int) -> dict:
    """``run_stress_test`` on the seed's request (one scenario, 10,000 iterations) for a book
    of SPY, QQQ and IWM with two years of synthetic history: the engine's share of the API."""
    from accel.device import device_label
    from engine.data import synthetic_market
    from engine.stress import parse_stress_request
    from engine.stress.inputs import inline_inputs, inline_window
    from engine.stress.montecarlo import run_stress_test

    body = {"portfolio": {"SPY": 0.4, "QQQ": 0.3, "IWM": 0.3}, "scenarios": [SEED_SCENARIO],
            "include_monte_carlo": True, "monte_carlo_iterations": 10000}  # fmt: skip
    request = parse_stress_request(body)
    window = inline_window(request)
    market = synthetic_market(["SPY", "QQQ", "IWM"], window.start_date, window.end_date)
    book, history = inline_inputs(request, market)
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        run_stress_test(request, book, history)
        times.append(time.perf_counter() - start)
    return {
        "device": device_label(),
        "case": "seed example through the engine (2 Monte Carlo runs of 10,000 x 252 x 3)",
        "first_call_ms": round(times[0] * 1e3, 1),
        "warm_best_ms": round(min(times[1:]) * 1e3, 2),
        "warm_median_ms": round(statistics.median(times[1:]) * 1e3, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--days", type=int, default=252)
    parser.add_argument("--assets", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=["parametric_normal"])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["numba", "jax"])
    parser.add_argument("--seed-example", action="store_true", help="time the engine instead")
    args = parser.parse_args()
    if args.seed_example:
        print(json.dumps(seed_example(args.repeat)), flush=True)
        return
    for backend in args.backends:
        for method in args.methods:
            for n_paths in args.paths:
                repeat = args.repeat if n_paths <= 100_000 else max(1, args.repeat // 2)
                row = measure(n_paths, args.days, args.assets, method, repeat, backend)
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
