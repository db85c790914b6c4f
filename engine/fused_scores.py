"""Metrics of many equity curves from the fused kernel's per-lane statistics.

The kernel reduces each curve to a few sums (``accel.lanes.STAT_FIELDS``); these functions
finish them with the formulas and conventions of ``engine.metrics`` (empyrical's), so a
sweep never holds the ``(P, T)`` curves. The tests hold the two to 1e-9.
"""

from __future__ import annotations

import numpy as np

from accel.lanes import STAT_FIELDS
from engine.metrics import BENCHMARK_KEYS, METRIC_KEYS, TAIL_KEYS, performance_metrics

_MIN_VARIANCE = 1.0e-30
_COL = {name: i for i, name in enumerate(STAT_FIELDS)}


def block_ids(n_returns: int, n_blocks: int) -> np.ndarray:
    """Block of each return: ``n_blocks`` contiguous blocks whose sizes differ by at most one."""
    edges = np.linspace(0, n_returns, n_blocks + 1).round().astype(int)
    return np.repeat(np.arange(n_blocks), np.diff(edges))


def _div(num, den):
    ok = den != 0
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def _std(css, constant, n):
    if n < 2:
        return np.full_like(css, np.nan)
    return np.where(constant > 0, 0.0, np.sqrt(css / (n - 1)))


def _core(s: dict, n: int, ppy: float, rf: float) -> dict[str, np.ndarray]:
    growth = s["last"] / s["first"]
    annual = growth ** (ppy / n) - 1.0
    std = _std(s["css"], s["constant"], n)
    sortino = _div((s["mean"] - rf) * ppy, np.sqrt(s["downside2"]) * np.sqrt(ppy))
    return {
        "total_return": growth - 1.0,
        "annual_return": annual,
        "volatility": std * np.sqrt(ppy),
        "sharpe_ratio": _div(s["mean"] - rf, std) * np.sqrt(ppy),
        "sortino_ratio": sortino if n >= 2 else np.full_like(std, np.nan),
        "max_drawdown": s["max_drawdown"],
        "calmar_ratio": _div(annual, -s["max_drawdown"]),
        "var_95": s["var"],
        "cvar_95": s["cvar"],
    }


def _versus(s: dict, core: dict, benchmark: np.ndarray, n: int, ppy: float, rf: float) -> dict:
    """The per-lane benchmark metrics; the benchmark's own come from ``engine.metrics``."""
    own = performance_metrics(benchmark[None], periods_per_year=ppy, risk_free_rate=rf * ppy)
    bench_r = benchmark[1:] / benchmark[:-1] - 1.0
    var_b = np.mean((bench_r - bench_r.mean()) ** 2)
    std_b = _std(
        np.array([np.sum((bench_r - bench_r.mean()) ** 2)]),
        np.array([float(bench_r.max() == bench_r.min())]),
        n,
    )
    std_r = _std(s["css"], s["constant"], n)
    beta = np.full_like(std_r, np.nan) if var_b < _MIN_VARIANCE else s["cov_bench"] / var_b
    alpha = (1.0 + (s["mean"] - rf) - beta * (bench_r.mean() - rf)) ** ppy - 1.0
    tracking = _std(s["active_css"], s["active_constant"], n) * np.sqrt(ppy)
    bench_total = float(own["total_return"][0])
    out = {
        "beta": beta,
        "alpha": alpha,
        "correlation": _div(s["cov_bench"] * n / max(n - 1, 1), std_r * std_b),
        "benchmark_total_return": np.full_like(std_r, bench_total),
        "benchmark_volatility": np.full_like(std_r, float(std_b[0] * np.sqrt(ppy))),
        "benchmark_sharpe": np.full_like(std_r, float(own["sharpe_ratio"][0])),
        "excess_return": core["total_return"] - bench_total,
        "tracking_error": tracking,
        "information_ratio": _div(s["active_mean"] * ppy, tracking),
    }
    if n < 2:
        for key in ("beta", "alpha", "correlation"):
            out[key] = np.full_like(std_r, np.nan)
    return out


def scores_from_stats(
    stats: np.ndarray,
    accounts: np.ndarray,
    n_bars: int,
    ppy: float,
    rf: float,
    tail_risk: bool,
    benchmark: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """``engine.sweep``'s scores from per-lane ``stats`` and ``accounts`` (kernel outputs);
    ``rf`` is per period."""
    keys = METRIC_KEYS if tail_risk else tuple(k for k in METRIC_KEYS if k not in TAIL_KEYS)
    if benchmark is not None:
        keys = METRIC_KEYS + BENCHMARK_KEYS
    n = n_bars - 1
    with np.errstate(all="ignore"):
        if n < 1:
            metrics = {k: np.full(len(stats), np.nan) for k in keys}
        else:
            s = {name: stats[:, i] for name, i in _COL.items()}
            metrics = _core(s, n, ppy, rf)
            if benchmark is not None:
                metrics |= _versus(s, metrics, np.asarray(benchmark, float), n, ppy, rf)
        out = {k: np.where(np.isfinite(metrics[k]), metrics[k], np.nan) for k in keys}
        wins, losses = accounts[:, 2], accounts[:, 3]
        trades = wins + losses
        out.update(
            final_equity=accounts[:, 6],
            orders=accounts[:, 1],
            trades=trades,
            win_rate=np.where(trades > 0, wins / np.maximum(trades, 1), np.nan),
            profit_factor=_div(accounts[:, 4], accounts[:, 5]),
        )
    return out
