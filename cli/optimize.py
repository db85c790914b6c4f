"""`nautilus-bt optimize`: a parameter optimization scored here, exactly as a worker scores it.

The request is a ``POST /optimization/parameters`` body with an inline ``base_spec``. Every
trial is printed (parameters, final equity, trades, headline metrics per window) with the
timing of the scoring itself: the first call (compilation included) and the warm repeats,
from bars in memory to scores; reading files and printing are not timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cli.backtest import _bar_files, load_market
from engine.errors import NautilusError

HEADLINE = ("final_equity", "trades", "total_return", "sharpe_ratio", "max_drawdown", "win_rate")


def register(subparsers) -> None:
    cmd = subparsers.add_parser("optimize", help="score a parameter optimization locally")
    cmd.add_argument("request", type=Path, help="JSON file with the POST /optimization body")
    cmd.add_argument(
        "--bars",
        action="append",
        default=[],
        metavar="SYMBOL=FILE",
        help="CSV or Parquet bars for a symbol (repeatable); default: synthetic",
    )
    cmd.add_argument("--repeat", type=int, default=3, help="warm runs to time (default 3)")
    cmd.add_argument("--output", choices=("json", "summary"), default="summary")
    cmd.set_defaults(handler=run)


def optimize_locally(payload: Any, bar_files: dict[str, str], repeat: int) -> dict[str, Any]:
    """``{"trials", "document", "timing"}`` of a request, scored as the service scores it."""
    from engine.optimize import optimize, parse_optimization_request
    from engine.optimize.run import first_round, score_sets, spec_folds
    from tasks.kernels import configure
    from workers.settings import get_settings

    settings = get_settings()
    configure(settings, processes=1)
    request = parse_optimization_request(payload, max_grid_size=settings.optimization_max_sets)
    market = load_market(request.base_spec, bar_files)
    folds = spec_folds(request, market)
    stubs = first_round(request, folds)
    timings = []
    for _ in range(1 + max(repeat, 0)):
        started = time.perf_counter()
        score_sets(request, market, stubs, folds)
        timings.append(time.perf_counter() - started)
    result = optimize(request, market, batch_size=settings.optimization_cpu_batch)
    timing = {"sets": len(stubs), "windows": len({w for f in folds for w in (f.train, f.test)}),
              "first_call_s": timings[0], "warm_s": timings[1:],
              "warm_best_s": min(timings[1:], default=None)}  # fmt: skip
    return {"trials": result["trials"], "document": result["document"], "timing": timing}


def run(args: argparse.Namespace) -> int:
    try:
        payload = json.loads(args.request.read_text())
        out = optimize_locally(payload, _bar_files(args.bars), args.repeat)
    except (NautilusError, OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output == "json":
        json.dump(out, sys.stdout, indent=1, default=float)
        print()
    else:
        print(format_summary(out))
    return 0


def format_summary(out: dict[str, Any]) -> str:
    """One line per trial and window, then the timing."""
    lines = []
    for trial in out["trials"]:
        for window, scores in trial["scores"].items():
            figures = "  ".join(f"{k}={_fmt(scores.get(k))}" for k in HEADLINE)
            lines.append(
                f"#{trial['index']:<5} {window:<12} {json.dumps(trial['params'])}  {figures}"
            )
    t = out["timing"]
    warm = ", ".join(f"{s * 1e3:.1f}" for s in t["warm_s"])
    lines.append(f"timing: {t['sets']} sets x {t['windows']} windows; first call "
                 f"{t['first_call_s'] * 1e3:.1f} ms; warm runs [{warm}] ms")  # fmt: skip
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.6g}"
