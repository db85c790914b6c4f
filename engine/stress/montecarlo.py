"""Stress tests end to end: scenario P&L and Monte Carlo of a book, as a JSON-safe document.

The book is what is held now (position values per symbol plus cash), held unchanged over the
horizon. Parametric methods model the book's assets: daily log returns with the historical
mean (or a zero-growth drift) and a Ledoit-Wolf shrunk covariance (scikit-learn). The
bootstrap resamples the strategy's own daily returns when the book comes from a backtest,
else the assets' joint daily returns. Returns, VaR and CVaR are percent of the book's value
(VaR is the return quantile, so a loss is negative, as in the seed). See docs/stress.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from sklearn.covariance import LedoitWolf

import accel.device
from accel import montecarlo as kernel
from accel.montecarlo_paths import path_values
from engine.errors import DataError, SpecError
from engine.stress.fan import FAN_PATHS, fan_document
from engine.stress.request import StressRequest, check_book_symbols, check_simulation_size
from engine.stress.scenarios import (
    Scenario,
    betas_to_market,
    expected_loss,
    scenario_pnl,
    symbol_shocks,
    symbol_vol_multipliers,
)

PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
TAILS = (0.05, 0.01)
HISTOGRAM_BINS = 50
MIN_HISTORY = 10
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Book:
    """Position values per symbol (signed, in currency) and cash."""

    symbols: tuple[str, ...]
    values: np.ndarray
    cash: float

    @property
    def value(self) -> float:
        return float(self.cash + np.sum(self.values))


@dataclass(frozen=True)
class History:
    """Daily simple returns: ``assets`` ``(T, S)`` in the book's symbol order, the ``market``
    proxy ``(T,)`` for betas, and the ``strategy``'s own ``(T,)`` when the book is a backtest's."""

    assets: np.ndarray
    market: np.ndarray | None = None
    strategy: np.ndarray | None = None


def inline_book(request: StressRequest) -> Book:
    """The book of an inline portfolio: ``weight x initial_value`` per symbol, the rest cash."""
    symbols = tuple(request.portfolio)
    values = np.array([request.portfolio[s] for s in symbols]) * request.initial_value
    return Book(symbols, values, float(request.initial_value - values.sum()))


def _log_returns(simple: np.ndarray) -> np.ndarray:
    simple = np.asarray(simple, dtype=float)
    rows = simple.reshape(len(simple), -1)
    kept = rows[np.isfinite(rows).all(axis=1)]
    if len(kept) < MIN_HISTORY:
        raise DataError(
            f"{len(kept)} usable daily returns; the Monte Carlo needs at least {MIN_HISTORY}: "
            "widen the history window"
        )
    return np.log1p(np.maximum(kept, -1.0 + 1e-12))


def shrunk_covariance(log_returns: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf covariance of daily log returns ``(T, K)``: well conditioned for any T."""
    if log_returns.shape[1] == 1:
        return np.atleast_2d(np.var(log_returns, axis=0))
    return LedoitWolf().fit(log_returns).covariance_


def zero_growth(log_returns: np.ndarray) -> np.ndarray:
    """Shift each column so its mean daily growth ``mean(exp(r))`` is exactly 1."""
    return log_returns - np.log(np.mean(np.exp(log_returns), axis=0))


def scale_volatility(log_returns: np.ndarray, multipliers: np.ndarray) -> np.ndarray:
    """Scale each column's deviations from its mean by its multiplier."""
    mean = log_returns.mean(axis=0)
    return mean + (log_returns - mean) * multipliers


def parametric_model(log_returns, drift: str, multipliers, dof: float, dtype) -> kernel.Model:
    """Drift and Cholesky factor of the (volatility-scaled) shrunk covariance."""
    cov = shrunk_covariance(log_returns) * np.outer(multipliers, multipliers)
    mean = log_returns.mean(axis=0) if drift == "historical" else -0.5 * np.diag(cov)
    chol = np.linalg.cholesky(cov + np.eye(len(cov)) * 1e-18)
    k = len(cov)
    return kernel.Model(
        jnp.asarray(mean, dtype),
        jnp.asarray(chol, dtype),
        jnp.asarray(dof, dtype),
        jnp.zeros((1, k), dtype),
    )


def bootstrap_model(log_returns, drift: str, multipliers, dtype) -> kernel.Model:
    history = scale_volatility(log_returns, multipliers)
    history = zero_growth(history) if drift == "zero" else history
    k = history.shape[1]
    zeros = jnp.zeros((k,), dtype)
    return kernel.Model(
        zeros, jnp.zeros((k, k), dtype), jnp.asarray(0.0, dtype), jnp.asarray(history, dtype)
    )


def _book_weighted(multipliers: np.ndarray, values: np.ndarray) -> float:
    """One multiplier for the strategy's returns: the book's gross-value weighted average."""
    weights = np.abs(values)
    if weights.sum() == 0:
        return float(multipliers.mean()) if len(multipliers) else 1.0
    return float(weights @ multipliers / weights.sum())


def _strategy_inputs(request, book: Book, history: History, shocked, multipliers, dtype):
    assert history.strategy is not None  # simulation_inputs' choice
    returns = _log_returns(history.strategy)
    scale = np.array([_book_weighted(multipliers, book.values)])
    model = bootstrap_model(returns, request.drift, scale, dtype)
    return model, np.array([book.cash + shocked.sum()]), 0.0, "strategy_returns"


def _asset_inputs(request, book: Book, history: History, shocked, multipliers, dtype):
    held = np.flatnonzero(book.values != 0)
    if len(held) == 0:  # all cash: one idle asset keeps the shapes valid
        returns, exposures, scale = np.zeros((MIN_HISTORY, 1)), np.zeros(1), np.ones(1)
    else:
        returns = _log_returns(np.asarray(history.assets)[:, held])
        exposures, scale = shocked[held], multipliers[held]
    if request.method == "bootstrap":
        model = bootstrap_model(returns, request.drift, scale, dtype)
    else:
        model = parametric_model(returns, request.drift, scale, request.degrees_of_freedom, dtype)
    return model, exposures, book.cash, "book"


def simulation_inputs(request, book: Book, history: History, shocks, multipliers, dtype):
    """The kernel's model and book for ``book`` after ``shocks``, volatility x ``multipliers``.

    Returns ``(model, kernel book, basis)``; ``basis`` says what was simulated: the held
    ``book`` or the backtest's ``strategy_returns``.
    """
    shocked = book.values * (1.0 + shocks)
    use_strategy = request.method == "bootstrap" and history.strategy is not None
    build = _strategy_inputs if use_strategy else _asset_inputs
    model, exposures, cash, basis = build(request, book, history, shocked, multipliers, dtype)
    if request.method == "bootstrap" and request.block_size > len(model.history):
        raise SpecError.single(
            "block_size", f"is longer than the {len(model.history)} days of history: lower it"
        )
    kbook = kernel.Book(
        jnp.asarray(exposures, dtype), jnp.asarray(cash, dtype), jnp.asarray(book.value, dtype)
    )
    return model, kbook, basis


def _pct(x) -> float:
    return float(100.0 * x)


def summary_document(s: kernel.Summary, start_value: float) -> dict:
    """A kernel ``Summary`` in the seed's units: percent of the start value, amounts in money."""
    levels = [f"p{p}" for p in PERCENTILES]
    doc = {
        "mean_return": _pct(s.mean_return),
        "return_percentiles": dict(zip(levels, map(_pct, s.return_quantiles), strict=True)),
        "probability_of_loss": _pct(s.probability_of_loss),
        "histogram": {
            "bin_edges": [_pct(e) for e in s.histogram_edges],
            "counts": [int(c) for c in s.histogram_counts],
        },
        "max_drawdown": {
            "mean": _pct(s.mean_drawdown),
            "percentiles": dict(zip(levels, map(_pct, s.drawdown_quantiles), strict=True)),
        },
    }
    for tail, var, cvar in zip(TAILS, s.var, s.cvar, strict=True):
        level = round(100 * (1 - tail))
        doc[f"var_{level}"] = _pct(var)
        doc[f"cvar_{level}"] = _pct(cvar)
        doc[f"var_{level}_amount"] = float(var * start_value)
        doc[f"cvar_{level}_amount"] = float(cvar * start_value)
    return doc


def monte_carlo(
    request,
    book: Book,
    history: History,
    *,
    stream=0,
    shocks=None,
    multipliers=None,
    dtype=None,
    budget=None,
    fan: bool = False,
) -> dict:
    """One Monte Carlo run of ``book`` (after ``shocks``) as a document; ``stream`` 0 is the
    base run, ``i + 1`` the stressed run of scenario ``i`` (independent draws, same seed).
    ``fan`` adds the per-day value percentiles of the run's first ``FAN_PATHS`` paths."""
    n = len(book.symbols)
    dtype = np.dtype(dtype or accel.device.montecarlo_dtype())
    shocks = np.zeros(n) if shocks is None else shocks
    multipliers = np.ones(n) if multipliers is None else multipliers
    model, kbook, basis = simulation_inputs(request, book, history, shocks, multipliers, dtype)
    draws = dict(
        horizon=request.horizon_days,
        method=request.method,
        seed=request.seed,
        stream=stream,
        block=request.block_size,
        antithetic=request.antithetic,
    )
    summary = kernel.simulate_summary(
        model,
        kbook,
        n_paths=request.monte_carlo_iterations,
        budget=budget or accel.device.memory_budget(),
        quantiles=tuple(p / 100 for p in PERCENTILES),
        tails=TAILS,
        bins=HISTOGRAM_BINS,
        **draws,
    )
    extra = {}
    if fan:
        n_fan = min(FAN_PATHS, request.monte_carlo_iterations)
        extra["fan"] = fan_document(path_values(model, kbook, n_paths=n_fan, **draws), book.value)
    return {
        "method": request.method,
        "basis": basis,
        "iterations": request.monte_carlo_iterations,
        "horizon_days": request.horizon_days,
        "seed": request.seed,
        "stream": stream,
        "drift": request.drift,
        "antithetic": request.antithetic,
        "start_value": book.value,
        "dtype": dtype.name,
        **summary_document(summary, book.value),
        **extra,
    }


def market_betas(history: History) -> np.ndarray:
    """Beta of each book symbol to the market proxy over the rows where both are known."""
    assets = np.asarray(history.assets, dtype=float)
    if history.market is None:
        return np.ones(assets.shape[1])
    market = np.asarray(history.market, dtype=float)
    rows = np.isfinite(assets).all(axis=1) & np.isfinite(market)
    return betas_to_market(assets[rows], market[rows])


def _stressed(scenario: Scenario) -> bool:
    """Whether a scenario changes volatility, and so gets its own Monte Carlo run."""
    return (
        bool(scenario.volatility_multipliers) or scenario.market_volatility_multiplier is not None
    )


def scenario_results(request, book: Book, history: History, betas, **run) -> list[dict]:
    """Each scenario's P&L, plus a stressed Monte Carlo (shocked start, scaled volatility)."""
    results = []
    for i, scenario in enumerate(request.scenarios):
        result = scenario_pnl(scenario, book.symbols, book.values, book.cash, betas)
        if request.include_monte_carlo and _stressed(scenario):
            result["monte_carlo"] = monte_carlo(
                request,
                book,
                history,
                stream=i + 1,
                shocks=symbol_shocks(scenario, book.symbols, betas),
                multipliers=symbol_vol_multipliers(scenario, book.symbols),
                **run,
            )
        results.append(result)
    return results


def run_stress_test(
    request: StressRequest,
    book: Book,
    history: History,
    *,
    progress: Progress | None = None,
    dtype=None,
    budget: int | None = None,
    strategy_rerun: Callable[[], dict] | None = None,
) -> dict:
    """The stress-test document: book, scenarios, expected loss and the Monte Carlo summary.

    ``progress(fraction, message)`` may raise to cancel. ``strategy_rerun`` computes the
    ``strategy_paths`` section (``engine.stress.strategy_paths.rerun_strategy`` bound to the base
    backtest) when the request asks for it.
    """
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    if book.value <= 0:
        raise DataError(f"the book is worth {book.value:,.2f}; returns need a positive value")
    check_book_symbols(request, book.symbols)
    if request.include_monte_carlo:
        held = int(np.count_nonzero(book.values))
        check_simulation_size(request.monte_carlo_iterations, request.horizon_days, held)
    betas = market_betas(history)
    report(0.1, "scenarios")
    scenarios = scenario_results(request, book, history, betas, dtype=dtype, budget=budget)
    report(0.5, "monte carlo")
    base = monte_carlo(request, book, history, dtype=dtype, budget=budget, fan=True)
    loss = expected_loss(scenarios)
    rerun = None
    if request.strategy_paths and strategy_rerun is not None:
        report(0.8, "strategy paths")
        rerun = strategy_rerun()
    return {
        "book": {
            "value": book.value,
            "cash": book.cash,
            "positions": dict(zip(book.symbols, map(float, book.values), strict=True)),
            "betas": dict(zip(book.symbols, map(float, betas), strict=True)),
            "market_proxy": request.market_proxy,
        },
        "scenarios": scenarios,
        "expected_loss": loss,
        "expected_loss_pct": None if loss is None else 100.0 * loss / book.value,
        "worst_scenario": min(scenarios, key=lambda r: r["pnl"])["name"] if scenarios else None,
        "monte_carlo": base if request.include_monte_carlo else None,
        "strategy_paths": rerun,
        "units": UNITS,
        "request_digest": request.content_hash(),
        "hardware_used": accel.device.device_label(),
        "processing_time_ms": round((time.perf_counter() - started) * 1e3, 3),
    }


UNITS = {
    "pnl, value, amounts": "currency of the book",
    "returns, var, cvar, drawdowns, probability_of_loss, histogram bin_edges": "percent",
    "probability": "fraction in [0, 1], as given",
}
