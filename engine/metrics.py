"""Performance statistics for equity curves, written against an array namespace ``xp``.

Every function takes ``xp`` (``numpy`` by default, or ``jax.numpy``) so the same code scores a
single backtest and a ``jax.jit``-compiled, batched parameter sweep. Inputs are batched over the
leading axes with time on the LAST axis; there are no Python loops over time or batch, and the
only Python branches depend on static shapes. Results are fractions (0.157, not 15.7).

Conventions follow empyrical-reloaded (see ``docs/metrics.md``). Undefined values (zero
variance, too few returns, overflow) come back as NaN, never as an exception or ``inf``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PERIODS_PER_YEAR: dict[str, float] = {
    "1m": 252 * 390,
    "5m": 252 * 78,
    "15m": 252 * 26,
    "30m": 252 * 13,
    "1h": 252 * 6.5,
    "1d": 252,
    "1w": 52,
    "1mo": 12,
}

VAR_CUTOFF = 0.05
"""Tail probability of ``var_95`` and ``cvar_95``."""

_MIN_VARIANCE = 1.0e-30
"""Benchmark variance below which beta is undefined (empyrical's threshold)."""

Array = Any


def periods_per_year(frequency: str) -> float:
    """Number of bars per year for a bar ``frequency`` such as ``"1d"`` or ``"1h"``.

    Raises ValueError naming the valid frequencies, so a typo fails loudly instead of silently
    mis-annualising every metric.
    """
    try:
        return float(PERIODS_PER_YEAR[frequency])
    except (KeyError, TypeError):
        valid = ", ".join(PERIODS_PER_YEAR)
        raise ValueError(f"unknown frequency {frequency!r}; expected one of: {valid}") from None


def simple_returns(equity: Array, xp: Any = np) -> Array:
    """Per-period simple returns ``E_t / E_{t-1} - 1``: shape (..., T) -> (..., T-1)."""
    equity = xp.asarray(equity)
    return equity[..., 1:] / equity[..., :-1] - 1.0


def drawdown_series(equity: Array, xp: Any = np) -> Array:
    """Drawdown ``E_t / max_{s<=t} E_s - 1`` (always <= 0): shape (..., T) -> (..., T)."""
    equity = xp.asarray(equity)
    peak = xp.maximum.accumulate(equity, axis=-1)
    return equity / peak - 1.0


# --------------------------------------------------------------------------- helpers


def _nan(shape: tuple[int, ...], xp: Any) -> Array:
    """A NaN array for statistics that are undefined at this sample size."""
    return xp.full(shape, xp.nan)


def _div(num: Array, den: Array, xp: Any) -> Array:
    """``num / den`` with NaN (not inf, not a warning) where ``den`` is zero or NaN."""
    ok = den != 0
    return xp.where(ok, num / xp.where(ok, den, 1.0), xp.nan)


def _std(x: Array, xp: Any) -> Array:
    """Sample std (ddof=1) over the last axis; exactly 0 when all values are equal.

    The snap to 0 mirrors empyrical's ``_zero_dispersion_std``: the mean of identical values can
    differ from them in the last bit, and dividing by that residue gives ratios near 1e15.
    NaN when there are fewer than two values.
    """
    if x.shape[-1] < 2:
        return _nan(x.shape[:-1], xp)
    constant = xp.max(x, axis=-1) == xp.min(x, axis=-1)
    return xp.where(constant, 0.0, xp.std(x, axis=-1, ddof=1))


def _sharpe(excess: Array, ppy: Any, xp: Any) -> Array:
    """Annualised Sharpe ratio ``mean / std * sqrt(ppy)`` of returns in excess of risk-free."""
    return _div(xp.mean(excess, axis=-1), _std(excess, xp), xp) * xp.sqrt(ppy)


def _sortino(excess: Array, ppy: Any, xp: Any) -> Array:
    """Annualised Sortino ratio ``mean * ppy / (sqrt(mean(min(r, 0)^2)) * sqrt(ppy))``.

    Downside risk is the root-mean-square of the negative part over ALL periods (empyrical's
    ``downside_risk``), not the std of the negative returns. NaN below two returns.
    """
    if excess.shape[-1] < 2:
        return _nan(excess.shape[:-1], xp)
    downside = xp.sqrt(xp.mean(xp.minimum(excess, 0.0) ** 2, axis=-1)) * xp.sqrt(ppy)
    return _div(xp.mean(excess, axis=-1) * ppy, downside, xp)


def _annual_return(equity: Array, ppy: Any, xp: Any) -> Array:
    """CAGR ``(E_T / E_0) ** (ppy / n) - 1`` with ``n`` the number of returns (empyrical)."""
    n = equity.shape[-1] - 1
    if n < 1:
        return _nan(equity.shape[:-1], xp)
    return (equity[..., -1] / equity[..., 0]) ** (ppy / n) - 1.0


def _tail_risk(returns: Array, xp: Any) -> tuple[Array, Array]:
    """VaR and CVaR at ``VAR_CUTOFF`` of per-period returns, as empyrical computes them.

    VaR is ``percentile(r, 5)`` with linear interpolation. CVaR is the mean of the
    ``k = floor((n - 1) * 0.05) + 1`` smallest returns, which equals the mean of the returns
    <= VaR whenever the k-th smallest return is not tied with the next one.
    """
    n = returns.shape[-1]
    if n < 1:
        return _nan(returns.shape[:-1], xp), _nan(returns.shape[:-1], xp)
    position = (n - 1) * VAR_CUTOFF
    k = int(position) + 1
    low = _smallest(returns, min(k + 1, n), xp)  # ascending
    upper = low[..., min(k, n - 1)]
    var = low[..., k - 1] + (position - (k - 1)) * (upper - low[..., k - 1])
    cvar = xp.mean(low[..., :k], axis=-1)
    return var, cvar


def _smallest(x: Array, m: int, xp: Any) -> Array:
    """The ``m`` smallest values along the last axis, ascending (a partial sort)."""
    if xp is np:
        return np.sort(np.partition(x, m - 1, axis=-1)[..., :m], axis=-1)
    import jax

    return -jax.lax.top_k(-x, m)[0]


def _alpha_beta(excess: Array, bench_excess: Array, ppy: Any, xp: Any) -> tuple[Array, Array]:
    """Annualised alpha and beta of excess returns on benchmark excess returns (empyrical).

    ``beta = cov(r, b) / var(b)`` (population moments; NaN when ``var(b) < 1e-30``) and
    ``alpha = (1 + mean(r - beta * b)) ** ppy - 1``, i.e. alpha is compounded, not multiplied.
    """
    if excess.shape[-1] < 2:
        nan = _nan(excess.shape[:-1], xp)
        return nan, nan
    residual = bench_excess - xp.mean(bench_excess, axis=-1, keepdims=True)
    centred = excess - xp.mean(excess, axis=-1, keepdims=True)  # flat curve: beta 0, not noise
    cov = xp.mean(residual * centred, axis=-1)
    var = xp.mean(residual**2, axis=-1)
    beta = xp.where(var < _MIN_VARIANCE, xp.nan, cov / xp.where(var < _MIN_VARIANCE, 1.0, var))
    alpha_series = excess - beta[..., None] * bench_excess
    alpha = (1.0 + xp.mean(alpha_series, axis=-1)) ** ppy - 1.0
    return alpha, beta


def _correlation(x: Array, y: Array, xp: Any) -> Array:
    """Pearson correlation over the last axis; NaN when either side has zero variance."""
    if x.shape[-1] < 2:
        return _nan(x.shape[:-1], xp)
    xr = x - xp.mean(x, axis=-1, keepdims=True)
    yr = y - xp.mean(y, axis=-1, keepdims=True)
    cov = xp.sum(xr * yr, axis=-1) / (x.shape[-1] - 1)
    return _div(cov, _std(x, xp) * _std(y, xp), xp)


# --------------------------------------------------------------------------- public API

METRIC_KEYS: tuple[str, ...] = (
    "total_return", "annual_return", "volatility", "sharpe_ratio", "sortino_ratio",
    "max_drawdown", "calmar_ratio", "var_95", "cvar_95",
)  # fmt: skip
TAIL_KEYS: tuple[str, ...] = ("var_95", "cvar_95")
BENCHMARK_KEYS: tuple[str, ...] = (
    "beta", "alpha", "correlation", "benchmark_total_return", "benchmark_volatility",
    "benchmark_sharpe", "excess_return", "tracking_error", "information_ratio",
)  # fmt: skip


def _core_metrics(
    equity: Array, returns: Array, ppy: Any, rf: Any, xp: Any, tail_risk: bool
) -> dict[str, Array]:
    """Metrics that need only the equity curve (see ``performance_metrics``)."""
    excess = returns - rf
    annual = _annual_return(equity, ppy, xp)
    max_dd = xp.min(drawdown_series(equity, xp), axis=-1)
    var, cvar = _tail_risk(returns, xp) if tail_risk else (None, None)
    return {
        "total_return": equity[..., -1] / equity[..., 0] - 1.0,
        "annual_return": annual,
        "volatility": _std(returns, xp) * xp.sqrt(ppy),
        "sharpe_ratio": _sharpe(excess, ppy, xp),
        "sortino_ratio": _sortino(excess, ppy, xp),
        "max_drawdown": max_dd,
        "calmar_ratio": _div(annual, -max_dd, xp),
        "var_95": var,
        "cvar_95": cvar,
    }


def _benchmark_metrics(
    returns: Array, benchmark: Array, total: Array, ppy: Any, rf: Any, xp: Any
) -> dict[str, Array]:
    """Metrics relative to a benchmark price/value curve (see ``performance_metrics``)."""
    bench_returns = simple_returns(benchmark, xp)
    active = returns - bench_returns
    alpha, beta = _alpha_beta(returns - rf, bench_returns - rf, ppy, xp)
    bench_total = benchmark[..., -1] / benchmark[..., 0] - 1.0
    tracking_error = _std(active, xp) * xp.sqrt(ppy)
    return {
        "beta": beta,
        "alpha": alpha,
        "correlation": _correlation(returns, bench_returns, xp),
        "benchmark_total_return": bench_total,
        "benchmark_volatility": _std(bench_returns, xp) * xp.sqrt(ppy),
        "benchmark_sharpe": _sharpe(bench_returns - rf, ppy, xp),
        "excess_return": total - bench_total,
        "tracking_error": tracking_error,
        "information_ratio": _div(xp.mean(active, axis=-1) * ppy, tracking_error, xp),
    }


def performance_metrics(
    equity: Array,
    benchmark: Array | None = None,
    *,
    periods_per_year: float,
    risk_free_rate: float = 0.0,
    xp: Any = np,
    tail_risk: bool = True,
) -> dict[str, Array]:
    """Performance and risk statistics of equity curves ``(..., T)``, optionally vs a benchmark.

    ``benchmark`` is a price or value curve with the same T, broadcastable against ``equity``;
    without it the ``BENCHMARK_KEYS`` are omitted. The annual ``risk_free_rate`` becomes the
    per-period rate ``risk_free_rate / periods_per_year``, subtracted from returns for Sharpe,
    Sortino, alpha and beta. Every value has the broadcast leading shape of the inputs and is a
    fraction; undefined values (zero variance, too few returns, overflow) are NaN.
    ``tail_risk=False`` leaves out ``var_95`` and ``cvar_95``: they need a partial sort per
    curve, which XLA's CPU backend does about ten times slower than numpy, so wide sweeps on
    the CPU ask for them only when they rank by them.
    """
    equity = xp.asarray(equity)
    ppy = periods_per_year
    rf = risk_free_rate / ppy
    lead = equity.shape[:-1]
    keys = METRIC_KEYS if tail_risk else tuple(k for k in METRIC_KEYS if k not in TAIL_KEYS)
    if benchmark is not None:
        benchmark = xp.asarray(benchmark)
        lead = np.broadcast_shapes(lead, benchmark.shape[:-1])
        keys = METRIC_KEYS + BENCHMARK_KEYS
    if equity.shape[-1] < 2:  # no returns: nothing is defined
        return {key: _nan(lead, xp) for key in keys}
    with np.errstate(all="ignore"):  # numpy only; non-finite results become NaN below
        returns = simple_returns(equity, xp)
        out = _core_metrics(equity, returns, ppy, rf, xp, tail_risk)
        if benchmark is not None:
            out |= _benchmark_metrics(returns, benchmark, out["total_return"], ppy, rf, xp)
        return {key: _finite(xp.broadcast_to(out[key], lead), xp) for key in keys}


def _finite(x: Array, xp: Any) -> Array:
    """Replace ``inf`` (overflow, division by a vanishing quantity) by NaN."""
    return xp.where(xp.isfinite(x), x, xp.nan)
