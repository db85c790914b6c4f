"""SMA-crossover sweep benchmarks (issue 2's figures): ours and vectorbt on the same work.

Cases, each run in its own subprocess so peak RSS is its own:
  goog      fast and slow 2..100, fast < slow (4,851 sets) on the 2,148 GOOG daily bars
  universe  fast 5..100 step 5 x slow 110..300 step 10 (400 sets) x N symbols x T bars of
            seeded synthetic data, each symbol its own account
  single    one 5-symbol, 1-year daily backtest with its results document as a worker stores it
            (the run, the document and its section patches, serialised); the peer is
            backtesting.py's run() of its README SMA cross on one symbol (GOOG)

Engines: ``ours`` (the fused numba CPU loop), ``ours-jax`` (the JAX array path and scan), and
the peers (vectorbt 1.2.0, backtesting.py), all timed in the same run on the same machine.

    python bench/sweep.py                        # goog + single, every engine
    python bench/sweep.py --cases universe --engines ours --symbols 500 --bars 5000
    python bench/sweep.py --engines ours vectorbt

Reports sets/s, ns per set-bar, compile time (first call minus warm call), peak RSS, and the
load average before each case (the machine is shared: compare ratios within one run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FEE = 0.002


def goog_frame():
    from store.bars.files import read_bar_file

    return read_bar_file(ROOT / "examples" / "data" / "GOOG.csv")


def goog_sets() -> list[tuple[int, int]]:
    return [(f, s) for f in range(2, 101) for s in range(f + 1, 101)]


def universe_sets() -> list[tuple[int, int]]:
    return [(f, s) for f in range(5, 101, 5) for s in range(110, 301, 10)]


def universe_market(n_symbols: int, n_bars: int):
    from engine.data import synthetic_market

    symbols = [f"SYM{i:04d}" for i in range(n_symbols)]
    end = np.busday_offset("2000-01-03", n_bars - 1, roll="forward")
    return synthetic_market(symbols, "2000-01-03", str(end), "1d", seed=7)


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(first call, best warm call) in seconds."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    return first, min(warm)


def configure(engine: str) -> str:
    """The kernels' on-disk cache under var/; the backend an ``ours*`` engine runs."""
    from accel import jit

    backend = "jax" if engine == "ours-jax" else "numba"
    jit.configure(ROOT / "var" / "bench-kernel-cache", cpu_backend=backend)
    return backend


def ours_sweep(market, sets, per_symbol: bool, repeat: int, backend: str) -> dict:
    from accel.device import decision_dtype, device_label
    from accel.kernel import Costs
    from engine.portfolio import limits_for
    from engine.simulation import bars_for
    from engine.strategies import get_strategy
    from engine.sweep import SweepRules, sweep

    strategy = get_strategy("sma_crossover")
    params = strategy.encode(
        [{"fast_period": f, "slow_period": s, "allow_short": True} for f, s in sets]
    )
    bars = bars_for(market, decision_dtype(), backend=backend)
    limits = limits_for(market.symbols[:1] if per_symbol else market.symbols, 1, 1, {}, {})
    rules = SweepRules(Costs(FEE, 0.0, 0.0), 10_000.0, limits, 252.0, 0.0, "next_open", True)
    out = {}

    def run():
        out["scores"] = sweep(strategy, bars, params, rules, per_symbol=per_symbol, backend=backend)
        np.asarray(out["scores"]["final_equity"])

    first, warm = _timed(run, repeat)
    return {
        "first_s": first,
        "warm_s": warm,
        "device": f"{device_label()} ({backend})",
        "dtype": str(decision_dtype()),
    }


def vectorbt_sweep(frame, sets, repeat: int) -> dict:
    import vectorbt as vbt

    close = frame["close"]
    fast_w = [f for f, _ in sets]
    slow_w = [s for _, s in sets]

    def run():
        fast = vbt.MA.run(close, fast_w, short_name="fast", per_column=False)
        slow = vbt.MA.run(close, slow_w, short_name="slow", per_column=False)
        entries = fast.ma_crossed_above(slow.ma.values)
        exits = fast.ma_crossed_below(slow.ma.values)
        pf = vbt.Portfolio.from_signals(
            close,
            entries,
            exits,
            short_entries=exits,
            short_exits=entries,
            fees=FEE,
            init_cash=10_000,
            freq="1D",
        )
        pf.total_return()

    first, warm = _timed(run, repeat)
    return {"first_s": first, "warm_s": warm, "device": "cpu (numba)", "dtype": "float64"}


def run_case(case: str, engine: str, args) -> dict:
    if case == "single":
        if engine == "backtesting":
            return backtesting_single(args.repeat)
        return single_backtest(args.repeat, configure(engine))
    if case == "goog":
        frame, sets = goog_frame(), goog_sets()
        n_bars, n_cols = len(frame), 1
        if engine.startswith("ours"):
            from engine.market import Market

            market = Market.from_frames({"GOOG": frame}, source="file")
            result = ours_sweep(market, sets, False, args.repeat, configure(engine))
        else:
            result = vectorbt_sweep(frame, sets, args.repeat)
    else:
        market, sets = universe_market(args.symbols, args.bars), universe_sets()
        n_bars, n_cols = market.n_bars, len(market.symbols)
        if not engine.startswith("ours"):
            raise SystemExit("vectorbt universe: run it by hand, it takes minutes and GBs")
        result = ours_sweep(market, sets, True, args.repeat, configure(engine))
    set_bars = len(sets) * n_cols * n_bars
    result.update(
        case=case,
        engine=engine,
        sets=len(sets),
        columns=n_cols,
        bars=n_bars,
        sets_per_s=len(sets) * n_cols / result["warm_s"],
        ns_per_set_bar=result["warm_s"] / set_bars * 1e9,
        compile_s=result["first_s"] - result["warm_s"],
    )
    return result


def backtesting_single(repeat: int) -> dict:
    """backtesting.py 0.6.6's run() of its README SMA cross on GOOG (one symbol, 2,148 bars)."""
    import warnings

    from backtesting import Backtest
    from backtesting.test import GOOG

    from tests.unit.engine.test_parity_backtesting_py import SmaCross

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Backtest(GOOG, SmaCross, cash=10_000, commission=0.002).run()

    first, warm = _timed(run, repeat)
    return {"case": "single", "engine": "backtesting", "first_s": first, "warm_s": warm,
            "compile_s": 0.0, "device": "cpu (python)"}  # fmt: skip


def single_backtest(repeat: int, backend: str) -> dict:
    from engine.backtest import required_symbols, run_backtest
    from engine.data import synthetic_market
    from engine.spec import parse_spec
    from store.db import finite_json
    from tasks.backtest import completion

    spec = parse_spec(
        {
            "backtest_name": "bench",
            "start_date": "2023-01-01",
            "end_date": "2023-12-31",
            "symbols": ["SPY", "QQQ", "IWM", "TSLA", "AAPL"],
            "strategy_id": "momentum_factor_v2.1",
            "strategy_parameters": {"lookback_period": 20, "momentum_threshold": 0.05},
            "benchmark_symbol": "SPY",
        }
    )
    market = synthetic_market(required_symbols(spec), spec.start_date, spec.end_date)

    def stored() -> None:
        """What a worker computes for the job: the run, the document with its section
        patches, and both serialised as the database receives them."""
        done = completion(run_backtest(spec, market, backend=backend))
        finite_json(done.document)
        finite_json(done.sections)

    first, warm = _timed(stored, repeat)
    from accel.device import device_label

    return {
        "case": "single",
        "engine": "ours" if backend == "numba" else "ours-jax",
        "first_s": first,
        "warm_s": warm,
        "compile_s": first - warm,
        "device": f"{device_label()} ({backend})",
    }


def child(args) -> None:
    result = run_case(args.cases[0], args.engines[0], args)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


PEERS = {"goog": "vectorbt", "single": "backtesting", "universe": None}


def parent(args) -> None:
    rows = []
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores", flush=True)
    for case in args.cases:
        for engine in args.engines:
            if engine not in ("ours", "ours-jax", PEERS[case]):
                continue
            cmd = [
                sys.executable,
                __file__,
                "--child",
                "--cases",
                case,
                "--engines",
                engine,
                "--repeat",
                str(args.repeat),
                "--symbols",
                str(args.symbols),
                "--bars",
                str(args.bars),
            ]
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]) | {"load": load})
            print(_format(rows[-1]), flush=True)
    _compare(rows)


def _format(r: dict) -> str:
    text = f"{r['case']:9s} {r['engine']:9s} warm {r['warm_s'] * 1e3:9.1f} ms"
    if "ns_per_set_bar" in r:
        text += f"  {r['sets_per_s']:12,.0f} sets/s  {r['ns_per_set_bar']:7.2f} ns/set-bar"
    return text + (
        f"  compile {r['compile_s']:6.2f} s  peak RSS {r['peak_rss_mb']:7.0f} MB  [{r['device']}]"
        f"  load {r['load']}"
    )


def _compare(rows: list[dict]) -> None:
    by = {(r["case"], r["engine"]): r for r in rows}
    for case, peer in PEERS.items():
        for engine in ("ours", "ours-jax"):
            if (case, engine) in by and (case, peer) in by:
                ratio = by[case, peer]["warm_s"] / by[case, engine]["warm_s"]
                print(f"{case}: {engine} is {ratio:.2f}x {peer} (warm, same run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", nargs="+", default=["goog", "single"], choices=["goog", "universe", "single"]
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["ours", "ours-jax", "vectorbt", "backtesting"],
        choices=["ours", "ours-jax", "vectorbt", "backtesting"],
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--bars", type=int, default=5000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    child(args) if args.child else parent(args)


if __name__ == "__main__":
    main()
