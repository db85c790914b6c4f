"""Stress scenarios: the built-in historical episodes and the P&L of a book under a scenario.

A scenario moves each symbol's price by a shock in percent at once; the book's P&L is the sum
of ``shock x position value`` (a short position gains when the price falls). Built-in
scenarios name shocks for broad proxies and a ``market`` shock that any other symbol takes
scaled by its beta to the market proxy. Their figures and sources are in docs/stress.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Scenario:
    """One what-if: price shocks and volatility multipliers per symbol, in percent and times."""

    name: str
    description: str = ""
    market_shocks: Mapping[str, float] = field(default_factory=dict)
    volatility_multipliers: Mapping[str, float] = field(default_factory=dict)
    probability: float | None = None
    market_shock: float | None = None  # built-ins: percent move of the market proxy, x beta
    market_volatility_multiplier: float | None = None  # built-ins: for symbols not listed
    source: str = ""

    @property
    def builtin(self) -> bool:
        return self.name in BUILTIN_SCENARIOS

    def to_payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "market_shocks": dict(self.market_shocks),
            "volatility_multipliers": dict(self.volatility_multipliers),
            "probability": self.probability,
        }


def _builtin(name, description, shocks, vols, market, market_vol, source) -> Scenario:
    return Scenario(name, description, shocks, vols, None, market, market_vol, source)


BUILTIN_SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        _builtin(
            "2008_financial_crisis",
            "Global financial crisis, S&P 500 closing high 2007-10-09 to closing low 2009-03-09",
            {"SPY": -56.8, "QQQ": -49.0, "IWM": -59.0, "TLT": 20.0, "GLD": 25.0},
            {"SPY": 2.5, "QQQ": 2.5, "IWM": 2.5, "TLT": 1.5, "GLD": 1.5},
            -56.8,
            2.5,
            "Index closes: S&P 500 1,565.15 -> 676.53; Nasdaq-100, Russell 2000, 20+ year "
            "Treasuries and gold over the same dates, rounded (docs/stress.md)",
        ),
        _builtin(
            "2020_covid_crash",
            "COVID-19 crash, S&P 500 closing high 2020-02-19 to closing low 2020-03-23",
            {"SPY": -33.9, "QQQ": -28.0, "IWM": -41.0, "TLT": 8.0, "GLD": -3.0},
            {"SPY": 4.0, "QQQ": 3.5, "IWM": 4.0, "TLT": 2.5, "GLD": 2.0},
            -33.9,
            4.0,
            "Index closes: S&P 500 3,386.15 -> 2,237.40; other proxies over the same dates, "
            "rounded (docs/stress.md)",
        ),
        _builtin(
            "2022_rate_shock",
            "Inflation and rate shock, S&P 500 2022-01-03 close to 2022-10-12 close",
            {"SPY": -25.4, "QQQ": -34.0, "IWM": -25.0, "TLT": -36.0, "GLD": -8.0},
            {"SPY": 1.6, "QQQ": 1.6, "IWM": 1.6, "TLT": 2.0, "GLD": 1.3},
            -25.4,
            1.6,
            "Index closes: S&P 500 4,796.56 -> 3,577.03; other proxies over the same dates, "
            "rounded (docs/stress.md)",
        ),
        _builtin(
            "2010_flash_crash",
            "Flash crash of 2010-05-06: intraday low against the 2010-05-05 close",
            {"SPY": -9.0, "QQQ": -9.0, "IWM": -10.0, "TLT": 3.0, "GLD": 1.0},
            {"SPY": 3.0, "QQQ": 3.0, "IWM": 3.0, "TLT": 1.5, "GLD": 1.5},
            -9.0,
            3.0,
            "CFTC-SEC staff report 'Findings regarding the market events of May 6, 2010' "
            "(2010-09-30): indices down over 4 % on the day, then a further 5-6 % in minutes",
        ),
    )
}


def symbol_shocks(scenario: Scenario, symbols: tuple[str, ...], betas: np.ndarray) -> np.ndarray:
    """Shock per symbol as a fraction: listed ones as given, others ``beta x market`` or 0."""
    default = (scenario.market_shock or 0.0) * np.asarray(betas, dtype=float)
    shocks = np.array([scenario.market_shocks.get(s, np.nan) for s in symbols], dtype=float)
    return np.where(np.isnan(shocks), default, shocks) / 100.0 + 0.0  # no -0.0


def symbol_vol_multipliers(scenario: Scenario, symbols: tuple[str, ...]) -> np.ndarray:
    """Volatility multiplier per symbol: listed ones as given, others the market's (or 1)."""
    default = scenario.market_volatility_multiplier or 1.0
    return np.array([scenario.volatility_multipliers.get(s, default) for s in symbols], float)


def scenario_pnl(
    scenario: Scenario,
    symbols: tuple[str, ...],
    values: np.ndarray,
    cash: float,
    betas: np.ndarray,
    worst: int = 5,
) -> dict[str, Any]:
    """P&L of the book (position ``values`` per symbol plus ``cash``) under ``scenario``.

    Amounts are in the book's currency, returns in percent of the book's value before the
    shock; ``weighted_loss`` is ``probability x max(loss, 0)`` (null without a probability).
    """
    values = np.asarray(values, dtype=float)
    shocks = symbol_shocks(scenario, symbols, betas)
    pnl = shocks * values + 0.0
    total_value = cash + values.sum()
    total = float(pnl.sum())
    order = np.argsort(pnl, kind="stable")[: min(worst, len(symbols))]
    loss = max(-total, 0.0)
    return {
        "name": scenario.name,
        "description": scenario.description,
        "builtin": scenario.builtin,
        "source": scenario.source or None,
        "probability": scenario.probability,
        "pnl": total,
        "return_pct": 100.0 * total / total_value,
        "value_before": float(total_value),
        "value_after": float(total_value + total),
        "weighted_loss": None if scenario.probability is None else scenario.probability * loss,
        "symbol_pnl": {s: float(p) for s, p in zip(symbols, pnl, strict=True)},
        "symbol_shocks_pct": {s: float(100.0 * x) for s, x in zip(symbols, shocks, strict=True)},
        "worst_symbols": [
            {"symbol": symbols[i], "pnl": float(pnl[i]), "shock_pct": float(100.0 * shocks[i])}
            for i in order
            if pnl[i] < 0
        ],
    }


def expected_loss(results: list[dict[str, Any]]) -> float | None:
    """Probability-weighted loss over scenarios that carry a probability (mutually exclusive)."""
    weighted = [r["weighted_loss"] for r in results if r["weighted_loss"] is not None]
    return float(sum(weighted)) if weighted else None


def betas_to_market(asset_returns: np.ndarray, market_returns: np.ndarray | None) -> np.ndarray:
    """OLS beta of each column of ``(T, S)`` returns to ``(T,)`` market returns (1 if unknown)."""
    n_symbols = asset_returns.shape[1] if asset_returns.ndim == 2 else 0
    if market_returns is None or len(market_returns) < 2:
        return np.ones(n_symbols)
    market = market_returns - market_returns.mean()
    variance = float(market @ market)
    if variance <= 0:
        return np.ones(n_symbols)
    return (asset_returns - asset_returns.mean(axis=0)).T @ market / variance
